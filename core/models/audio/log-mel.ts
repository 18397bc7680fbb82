/**
 * Whisper's log-mel front end, computed on the host from `preprocessor_config.json` the way
 * transformers' WhisperFeatureExtractor (its NumPy path) does:
 *
 * 1. the f32 waveform is cut or zero-padded to n_samples = chunk_length · sampling_rate;
 * 2. it is padded by n_fft/2 on each side by reflection (`np.pad(mode="reflect")`);
 * 3. frames of n_fft every hop_length samples, times a periodic Hann window, go through a real
 *    FFT; the power spectrum |X|² (bins 0..n_fft/2) goes through a Slaney mel filter bank
 *    (0..8000 Hz, Slaney-normalized), floored at 1e-10, then log10;
 * 4. the last frame is dropped, values below (max − 8) are raised to it, and x ↦ (x + 4) / 4.
 *
 * Everything runs in float64 (NumPy's path does the same, storing the FFT as complex64), so the
 * f32 result is within ~1e-6 of transformers'. Output: [feature_size, n_samples / hop_length].
 */
import {
  BadModelFileError,
  InvalidParamsError,
  UnsupportedModelError,
} from '../../protocol/errors';
import { Fft, realPowerSpectra } from './fft';

export interface LogMelConfig {
  featureSize: number;
  samplingRate: number;
  hopLength: number;
  nFft: number;
  /** chunk_length · sampling_rate: every waveform is cut or padded to this many samples. */
  nSamples: number;
  paddingValue: number;
}

type Json = Record<string, unknown>;

function positiveInt(c: Json, key: string, fallback: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new BadModelFileError(`preprocessor_config.json: ${key} must be a positive integer`, {
      detail: { file: 'preprocessor_config.json', field: key },
    });
  }
  return v;
}

/**
 * Reads a WhisperFeatureExtractor's `preprocessor_config.json` (defaults as transformers has
 * them: 80 mels, 16 kHz, hop 160, 30 s chunks, n_fft 400).
 */
export function parseLogMelConfig(json: unknown): LogMelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BadModelFileError('preprocessor_config.json is not a JSON object', {
      detail: { file: 'preprocessor_config.json' },
    });
  }
  const c = json as Json;
  const kind = c.feature_extractor_type;
  if (kind !== undefined && kind !== 'WhisperFeatureExtractor') {
    throw new UnsupportedModelError(`feature_extractor_type ${String(kind)} is not supported`, {
      detail: { field: 'feature_extractor_type', value: String(kind) },
    });
  }
  const dither = c.dither ?? 0;
  if (dither !== 0) {
    // Dither adds random noise per frame: no result could match another implementation's.
    throw new UnsupportedModelError(
      'preprocessor_config.json: dither other than 0 is not supported',
      {
        detail: { field: 'dither', value: String(dither) },
      },
    );
  }
  const samplingRate = positiveInt(c, 'sampling_rate', 16000);
  const chunkLength = positiveInt(c, 'chunk_length', 30);
  const nFft = positiveInt(c, 'n_fft', 400);
  const padding = c.padding_value ?? 0;
  if (typeof padding !== 'number') {
    throw new BadModelFileError('preprocessor_config.json: padding_value must be a number', {
      detail: { file: 'preprocessor_config.json', field: 'padding_value' },
    });
  }
  const nSamples = chunkLength * samplingRate;
  if (nSamples <= nFft / 2) {
    throw new BadModelFileError('preprocessor_config.json: chunk shorter than half an FFT window', {
      detail: { file: 'preprocessor_config.json', field: 'chunk_length' },
    });
  }
  return {
    featureSize: positiveInt(c, 'feature_size', 80),
    samplingRate,
    hopLength: positiveInt(c, 'hop_length', 160),
    nFft,
    nSamples,
    paddingValue: padding,
  };
}

/** Frames in the features: one per hop of n_samples (the STFT's last frame is dropped). */
export const logMelFrames = (c: LogMelConfig): number =>
  Math.floor((c.nSamples + 2 * Math.floor(c.nFft / 2) - c.nFft) / c.hopLength);

// Slaney's mel scale: linear below 1 kHz, logarithmic above.
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = 15;
const LOGSTEP = 27 / Math.log(6.4);
const hzToMel = (f: number) =>
  f >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(f / MIN_LOG_HZ) * LOGSTEP : (3 * f) / 200;
const melToHz = (m: number) =>
  m >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp((m - MIN_LOG_MEL) / LOGSTEP) : (200 * m) / 3;

/** NumPy's linspace: start + i·step, with the last point exactly `stop`. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  out[num - 1] = stop;
  return out;
}

/** One triangular filter: its weights for FFT bins first..first+weights.length-1. */
export interface MelFilter {
  first: number;
  weights: Float64Array;
}

/**
 * transformers' `mel_filter_bank(num_frequency_bins, num_mel_filters, 0, 8000, sampling_rate,
 * norm="slaney", mel_scale="slaney")`, kept sparse: each filter's nonzero run of bins.
 */
export function melFilterBank(
  numFrequencyBins: number,
  numMelFilters: number,
  samplingRate: number,
  minHz = 0,
  maxHz = 8000,
): MelFilter[] {
  const mels = linspace(hzToMel(minHz), hzToMel(maxHz), numMelFilters + 2);
  const filterHz = mels.map(melToHz);
  const fftHz = linspace(0, Math.floor(samplingRate / 2), numFrequencyBins);
  const filters: MelFilter[] = [];
  for (let m = 0; m < numMelFilters; m++) {
    const lo = filterHz[m] as number;
    const mid = filterHz[m + 1] as number;
    const hi = filterHz[m + 2] as number;
    const enorm = 2 / (hi - lo);
    const row = new Float64Array(numFrequencyBins);
    let first = -1;
    let last = -1;
    for (let k = 0; k < numFrequencyBins; k++) {
      const f = fftHz[k] as number;
      const down = -(lo - f) / (mid - lo);
      const up = (hi - f) / (hi - mid);
      const w = Math.max(0, Math.min(down, up)) * enorm;
      row[k] = w;
      if (w !== 0) {
        if (first < 0) first = k;
        last = k;
      }
    }
    filters.push(
      first < 0
        ? { first: 0, weights: new Float64Array(0) }
        : { first, weights: row.slice(first, last + 1) },
    );
  }
  return filters;
}

/** transformers' `window_function(n, "hann")`: periodic Hann, 0.5 − 0.5·cos(2πi/n). */
export function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/** A reusable extractor: the FFT plan, window and filters are built once per config. */
export class LogMel {
  readonly frames: number;
  private readonly fft: Fft;
  private readonly window: Float64Array;
  private readonly filters: MelFilter[];

  constructor(readonly config: LogMelConfig) {
    this.frames = logMelFrames(config);
    this.fft = new Fft(config.nFft);
    this.window = hannWindow(config.nFft);
    this.filters = melFilterBank(
      Math.floor(config.nFft / 2) + 1,
      config.featureSize,
      config.samplingRate,
    );
  }

  /** f32 16 kHz mono samples → log-mel features [feature_size, frames] (row-major). */
  compute(audio: Float32Array): Float32Array {
    const { nFft, hopLength, nSamples, featureSize, paddingValue } = this.config;
    if (audio.length === 0) {
      throw new InvalidParamsError('audio has no samples', { detail: { field: 'audio' } });
    }
    const half = Math.floor(nFft / 2);
    // Cut/pad to n_samples, then reflect-pad by n_fft/2 on each side (NumPy's "reflect" mirrors
    // around the edge sample without repeating it).
    const x = new Float64Array(nSamples + 2 * half);
    for (let i = 0; i < nSamples; i++) {
      x[half + i] = i < audio.length ? (audio[i] as number) : paddingValue;
    }
    for (let i = 1; i <= half; i++) {
      x[half - i] = x[half + i] as number;
      x[half + nSamples - 1 + i] = x[half + nSamples - 1 - i] as number;
    }
    const bins = half + 1;
    const mel = new Float64Array(featureSize * this.frames);
    const frameA = new Float64Array(nFft);
    const frameB = new Float64Array(nFft);
    const powerA = new Float64Array(bins);
    const powerB = new Float64Array(bins);
    const work = {
      re: new Float64Array(nFft),
      im: new Float64Array(nFft),
      zeros: new Float64Array(nFft),
    };
    const fill = (frame: Float64Array, t: number) => {
      const start = t * hopLength;
      for (let i = 0; i < nFft; i++)
        frame[i] = (x[start + i] as number) * (this.window[i] as number);
    };
    const project = (power: Float64Array, t: number) => {
      for (let m = 0; m < featureSize; m++) {
        const f = this.filters[m] as MelFilter;
        let acc = 0;
        for (let k = 0; k < f.weights.length; k++) {
          acc += (f.weights[k] as number) * (power[f.first + k] as number);
        }
        mel[m * this.frames + t] = Math.log10(Math.max(acc, 1e-10));
      }
    };
    for (let t = 0; t < this.frames; t += 2) {
      const pair = t + 1 < this.frames;
      fill(frameA, t);
      if (pair) fill(frameB, t + 1);
      realPowerSpectra(this.fft, frameA, pair ? frameB : null, powerA, pair ? powerB : null, work);
      project(powerA, t);
      if (pair) project(powerB, t + 1);
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < mel.length; i++) max = Math.max(max, mel[i] as number);
    const out = new Float32Array(mel.length);
    for (let i = 0; i < mel.length; i++) out[i] = (Math.max(mel[i] as number, max - 8) + 4) / 4;
    return out;
  }
}
