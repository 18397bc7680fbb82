/**
 * Audio and image preparation the SDK does in the page before `transcribe` and `classify`, so
 * pages can hand over what browsers give them (Web Audio samples at any rate, canvas RGBA pixels).
 */

/** Whisper's input rate. */
export const WHISPER_SAMPLE_RATE = 16_000;

/**
 * Resamples mono samples to 16 kHz by linear interpolation. Not the band-limited resampler
 * librosa or torchaudio use: downsampling this way lets content above 8 kHz alias into the band,
 * which speech barely has. Pages that care can resample with an OfflineAudioContext first and
 * pass 16 kHz.
 */
export function resampleTo16k(samples: Float32Array, sampleRate: number): Float32Array {
  if (!(sampleRate > 0) || !Number.isFinite(sampleRate)) {
    throw new RangeError(`sampleRate must be a positive number, got ${sampleRate}`);
  }
  if (sampleRate === WHISPER_SAMPLE_RATE) return samples;
  const n = Math.max(1, Math.floor((samples.length * WHISPER_SAMPLE_RATE) / sampleRate));
  const out = new Float32Array(n);
  const step = sampleRate / WHISPER_SAMPLE_RATE;
  const last = samples.length - 1;
  for (let i = 0; i < n; i++) {
    const x = i * step;
    const at = Math.min(Math.floor(x), last);
    const frac = x - at;
    const a = samples[at] as number;
    const b = samples[Math.min(at + 1, last)] as number;
    out[i] = a + (b - a) * frac;
  }
  return out;
}

/** An image as a canvas gives it: `ImageData` or anything of that shape (RGBA, row-major). */
export interface RgbaImage {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

/** The fields of a CLIP preprocessor_config.json the preprocessing uses. */
export interface ImagePreprocess {
  /** `size.shortest_edge`: the shorter side is resized to this. */
  shortestEdge: number;
  /** `crop_size`: the centre crop, square. Default: `shortestEdge`. */
  cropSize?: number;
  imageMean?: [number, number, number];
  imageStd?: [number, number, number];
}

/** OpenAI CLIP's normalisation (every openai/clip-vit-* preprocessor_config.json has it). */
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** Bicubic kernel with a = -0.5, as PIL's BICUBIC filter uses. */
function cubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/** Weights of each output index over input indices (support widened when shrinking). */
function weights(inSize: number, outSize: number): { start: number; w: Float64Array }[] {
  const scale = inSize / outSize;
  const support = 2 * Math.max(scale, 1);
  const filterScale = Math.max(scale, 1);
  return Array.from({ length: outSize }, (_, i) => {
    const center = (i + 0.5) * scale;
    const start = Math.max(0, Math.floor(center - support));
    const end = Math.min(inSize, Math.ceil(center + support));
    const w = new Float64Array(end - start);
    let sum = 0;
    for (let j = start; j < end; j++) {
      const v = cubic((j + 0.5 - center) / filterScale);
      w[j - start] = v;
      sum += v;
    }
    for (let j = 0; j < w.length; j++) w[j] = (w[j] as number) / (sum || 1);
    return { start, w };
  });
}

/**
 * CLIPImageProcessor's steps on RGBA pixels: resize so the shorter side is `shortestEdge`
 * (bicubic, antialiased when shrinking, the longer side `floor(long * edge / short)`), centre
 * crop, rescale by 1/255, normalise by mean and std; alpha is dropped. Returns pixel_values f32
 * [images, 3, crop, crop]. Differs from transformers' PIL path in rounding only: PIL rounds the
 * resized image to 8 bits (and between its two passes); this keeps floats, so values can differ by
 * about one 8-bit step before normalisation.
 */
export function clipPixelValues(
  images: readonly RgbaImage[],
  pre: ImagePreprocess,
): { data: Float32Array; shape: number[] } {
  const edge = pre.shortestEdge;
  const crop = pre.cropSize ?? edge;
  const mean = pre.imageMean ?? CLIP_MEAN;
  const std = pre.imageStd ?? CLIP_STD;
  const out = new Float32Array(images.length * 3 * crop * crop);
  images.forEach((img, n) => {
    const { width: w, height: h } = img;
    if (img.data.length !== w * h * 4) {
      throw new RangeError(`image ${n}: ${img.data.length} bytes is not ${w}×${h} RGBA`);
    }
    const short = Math.min(w, h);
    const outW = w <= h ? edge : Math.floor((w * edge) / short);
    const outH = h < w ? edge : Math.floor((h * edge) / short);
    const top = Math.floor((outH - crop) / 2);
    const left = Math.floor((outW - crop) / 2);
    const cols = weights(w, outW);
    const rows = weights(h, outH);
    // Horizontal pass over every input row, only for the cropped columns.
    const mid = new Float64Array(h * crop * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < crop; x++) {
        const { start, w: ws } = cols[
          Math.min(Math.max(x + left, 0), outW - 1)
        ] as (typeof cols)[0];
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let k = 0; k < ws.length; k++) {
            s += (ws[k] as number) * (img.data[(y * w + start + k) * 4 + c] as number);
          }
          mid[(y * crop + x) * 3 + c] = s;
        }
      }
    }
    for (let y = 0; y < crop; y++) {
      const { start, w: ws } = rows[Math.min(Math.max(y + top, 0), outH - 1)] as (typeof rows)[0];
      for (let x = 0; x < crop; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let k = 0; k < ws.length; k++) {
            s += (ws[k] as number) * (mid[((start + k) * crop + x) * 3 + c] as number);
          }
          const v = Math.min(255, Math.max(0, s)) / 255;
          out[((n * 3 + c) * crop + y) * crop + x] = (v - (mean[c] as number)) / (std[c] as number);
        }
      }
    }
  });
  return { data: out, shape: [images.length, 3, crop, crop] };
}
