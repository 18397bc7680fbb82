/**
 * `npm run bench:log-mel`: Whisper's 30 s log-mel features (80 mels × 3000 frames, n_fft 400)
 * through our mixed-radix FFT (./audio/log-mel) beside the same pipeline with the spectrum
 * taken as a precomputed DFT matmul (frames [3001, 400] · basis [400, 402] on the HAL's CPU
 * matmul), in one run. Prints medians and the two results' max difference.
 */
import { createHal } from '../../../kernels/hal/hal';
import { cpuTensor } from '../../../kernels/tensor/tensor';
import { hannWindow, LogMel, melFilterBank, parseLogMelConfig } from '../audio/log-mel';

const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  const config = parseLogMelConfig({});
  const n = config.nSamples;
  const audio = new Float32Array(n);
  for (let i = 0; i < n; i++)
    audio[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000 + (i * i) / 4e9);
  const ours = new LogMel(config);
  const oursMs: number[] = [];
  let oursOut: Float32Array = new Float32Array(0);
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    oursOut = ours.compute(audio);
    oursMs.push(performance.now() - t);
  }

  // Peer: the same framing, window, filters and log, with the spectrum from one DFT matmul.
  const hal = await createHal();
  const { nFft, hopLength, featureSize } = config;
  const bins = nFft / 2 + 1;
  const frames = ours.frames + 1;
  const basis = new Float32Array(nFft * 2 * bins);
  for (let j = 0; j < nFft; j++) {
    for (let k = 0; k < bins; k++) {
      const phase = (-2 * Math.PI * ((j * k) % nFft)) / nFft;
      basis[j * 2 * bins + 2 * k] = Math.cos(phase);
      basis[j * 2 * bins + 2 * k + 1] = Math.sin(phase);
    }
  }
  const window = hannWindow(nFft);
  const filters = melFilterBank(bins, featureSize, config.samplingRate);
  const peerMs: number[] = [];
  let peerOut: Float32Array = new Float32Array(0);
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const half = nFft / 2;
    const x = new Float32Array(n + nFft);
    x.set(audio, half);
    for (let i = 1; i <= half; i++) {
      x[half - i] = x[half + i] as number;
      x[half + n - 1 + i] = x[half + n - 1 - i] as number;
    }
    const framed = new Float32Array(frames * nFft);
    for (let f = 0; f < frames; f++) {
      for (let i = 0; i < nFft; i++) {
        framed[f * nFft + i] = (x[f * hopLength + i] as number) * (window[i] as number);
      }
    }
    const spec = await hal.run(
      'matmul',
      [cpuTensor(framed, [frames, nFft]), cpuTensor(basis, [nFft, 2 * bins])],
      {},
    );
    const s = (await hal.read(spec)) as Float32Array;
    hal.dispose(spec);
    const mel = new Float64Array(featureSize * (frames - 1));
    for (let f = 0; f < frames - 1; f++) {
      for (let m = 0; m < featureSize; m++) {
        const fl = filters[m] as (typeof filters)[number];
        let acc = 0;
        for (let k = 0; k < fl.weights.length; k++) {
          const re = s[f * 2 * bins + 2 * (fl.first + k)] as number;
          const im = s[f * 2 * bins + 2 * (fl.first + k) + 1] as number;
          acc += (fl.weights[k] as number) * (re * re + im * im);
        }
        mel[m * (frames - 1) + f] = Math.log10(Math.max(acc, 1e-10));
      }
    }
    let max = Number.NEGATIVE_INFINITY;
    for (const v of mel) max = Math.max(max, v);
    peerOut = Float32Array.from(mel, (v) => (Math.max(v, max - 8) + 4) / 4);
    peerMs.push(performance.now() - t);
  }
  let diff = 0;
  for (let i = 0; i < oursOut.length; i++) {
    diff = Math.max(diff, Math.abs((oursOut[i] as number) - (peerOut[i] as number)));
  }
  const o = median(oursMs);
  const p = median(peerMs);
  console.log(`log-mel, 30 s of 16 kHz audio → ${featureSize} × ${ours.frames}, median of ${RUNS}`);
  console.log(`  ours (mixed-radix FFT, f64, two frames per complex FFT)  ${o.toFixed(1)} ms`);
  console.log(`  peer (DFT as one f32 matmul on the HAL's CPU backend)    ${p.toFixed(1)} ms`);
  console.log(`  ours/peer ${(o / p).toFixed(2)}×; max |ours − peer| ${diff.toExponential(2)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
