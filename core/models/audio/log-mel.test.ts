/**
 * The audio front end: the mixed-radix FFT against a direct DFT, the two-frames-in-one real
 * packing, and the whole log-mel pipeline against transformers' WhisperFeatureExtractor (NumPy
 * path) on the Whisper fixture's chirp + noise (tests/fixtures/models/whisper).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../kernels/sample/cpu';
import { parseSafetensorsHeader, readFloat32 } from '../safetensors';
import { Fft, factorize, realPowerSpectra } from './fft';
import { hannWindow, LogMel, logMelFrames, melFilterBank, parseLogMelConfig } from './log-mel';

function randomSignal(n: number, seed: number): Float64Array {
  const next = seededRandom(seed);
  return Float64Array.from({ length: n }, () => next() * 2 - 1);
}

function naiveDft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const phase = (-2 * Math.PI * ((j * k) % n)) / n;
      const c = Math.cos(phase);
      const s = Math.sin(phase);
      outRe[k] = (outRe[k] as number) + (re[j] as number) * c - (im[j] as number) * s;
      outIm[k] = (outIm[k] as number) + (re[j] as number) * s + (im[j] as number) * c;
    }
  }
  return [outRe, outIm];
}

describe('fft', () => {
  it('factorizes with 4s first, then primes', () => {
    expect(factorize(400)).toEqual([4, 4, 5, 5]);
    expect(factorize(512)).toEqual([4, 4, 4, 4, 2]);
    expect(factorize(97)).toEqual([97]);
    expect(factorize(1)).toEqual([]);
    expect(() => factorize(0)).toThrow(RangeError);
  });

  it.each([1, 2, 3, 4, 5, 7, 8, 12, 16, 25, 60, 97, 400, 512])(
    'matches a direct DFT at length %i',
    (n) => {
      const re = randomSignal(n, n);
      const im = randomSignal(n, n + 1000);
      const [wantRe, wantIm] = naiveDft(re, im);
      const outRe = new Float64Array(n);
      const outIm = new Float64Array(n);
      new Fft(n).transform(re, im, outRe, outIm);
      let err = 0;
      for (let k = 0; k < n; k++) {
        err = Math.max(
          err,
          Math.abs((outRe[k] as number) - (wantRe[k] as number)),
          Math.abs((outIm[k] as number) - (wantIm[k] as number)),
        );
      }
      expect(err).toBeLessThan(1e-10 * Math.max(1, n));
    },
  );

  it('separates two real frames packed into one complex transform', () => {
    const n = 400;
    const a = randomSignal(n, 1);
    const b = randomSignal(n, 2);
    const bins = n / 2 + 1;
    const pa = new Float64Array(bins);
    const pb = new Float64Array(bins);
    const work = { re: new Float64Array(n), im: new Float64Array(n), zeros: new Float64Array(n) };
    realPowerSpectra(new Fft(n), a, b, pa, pb, work);
    for (const [signal, power] of [
      [a, pa],
      [b, pb],
    ] as const) {
      const [re, im] = naiveDft(signal, new Float64Array(n));
      for (let k = 0; k < bins; k++) {
        const want = (re[k] as number) ** 2 + (im[k] as number) ** 2;
        expect(Math.abs((power[k] as number) - want)).toBeLessThan(1e-8 * Math.max(1, want));
      }
    }
  });
});

describe('log-mel front end', () => {
  it('reads preprocessor_config.json with transformers defaults and rejects what it cannot match', () => {
    const c = parseLogMelConfig({ feature_extractor_type: 'WhisperFeatureExtractor' });
    expect(c).toMatchObject({ featureSize: 80, samplingRate: 16000, hopLength: 160, nFft: 400 });
    expect(c.nSamples).toBe(480000);
    expect(logMelFrames(c)).toBe(3000);
    expect(() => parseLogMelConfig({ dither: 1e-4 })).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_MODEL' }),
    );
    expect(() => parseLogMelConfig({ hop_length: -1 })).toThrow(
      expect.objectContaining({ code: 'BAD_MODEL_FILE' }),
    );
    expect(() => parseLogMelConfig('nope')).toThrow(
      expect.objectContaining({ code: 'BAD_MODEL_FILE' }),
    );
  });

  it('builds a periodic Hann window and Slaney filters that cover 0..8 kHz in order', () => {
    const w = hannWindow(400);
    expect(w[0]).toBe(0);
    expect(w[200]).toBeCloseTo(1, 12);
    const filters = melFilterBank(201, 80, 16000);
    expect(filters).toHaveLength(80);
    let previous = -1;
    for (const f of filters) {
      expect(f.weights.length).toBeGreaterThan(0);
      expect(f.first).toBeGreaterThanOrEqual(previous);
      previous = f.first;
    }
    // Slaney normalisation: each triangle's area is ~ 1 (2 / width × width / 2), in bins of 40 Hz.
    const area = (f: (typeof filters)[number]) => f.weights.reduce((a, b) => a + b, 0) * 40;
    expect(area(filters[75] as (typeof filters)[number])).toBeCloseTo(1, 1);
  });

  it('rejects empty audio', () => {
    const lm = new LogMel(parseLogMelConfig({ chunk_length: 1 }));
    expect(() => lm.compute(new Float32Array(0))).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMS' }),
    );
  });

  const dir = resolve(import.meta.dirname, '../../../tests/fixtures/models/whisper');
  it('matches transformers WhisperFeatureExtractor on the fixture audio', () => {
    expect(existsSync(join(dir, 'reference.safetensors'))).toBe(true);
    const lm = new LogMel(
      parseLogMelConfig(JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8'))),
    );
    const inputs = new Uint8Array(readFileSync(join(dir, 'inputs.safetensors')));
    const ref = new Uint8Array(readFileSync(join(dir, 'reference.safetensors')));
    const audio = readFloat32(inputs, parseSafetensorsHeader(inputs), 'audio');
    const want = readFloat32(ref, parseSafetensorsHeader(ref), 'input_features');
    const got = lm.compute(audio);
    expect(got.length).toBe(want.length);
    let err = 0;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs((got[i] as number) - (want[i] as number)));
    }
    console.info(
      `log-mel vs WhisperFeatureExtractor (NumPy path): max abs error ${err.toExponential(2)}`,
    );
    // Both compute in float64; NumPy stores the spectrum as complex64 and both round to f32.
    expect(err).toBeLessThanOrEqual(1e-5);
  });
});
