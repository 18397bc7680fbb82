/**
 * A mixed-radix complex FFT in float64 for any length (Whisper's n_fft is 400 = 4·4·5·5, which
 * a radix-2 FFT cannot do). Decimation in time over the length's prime factors, with kissfft's
 * general butterfly for every radix: O(n · Σ factors) per transform, exact twiddles from one
 * table. A length with a large prime factor still works, at O(n · p) for that stage.
 *
 * `realSpectra` transforms two real frames with one complex FFT (one in the real part, one in
 * the imaginary part) and separates them by conjugate symmetry: half the work per frame.
 */

/** Prime factors, 4s first (fewer stages), then 2, 3, 5, … */
export function factorize(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`FFT length ${n} is not a positive integer`);
  const factors: number[] = [];
  let rest = n;
  while (rest % 4 === 0) {
    factors.push(4);
    rest /= 4;
  }
  for (let p = 2; rest > 1; p = p === 2 ? 3 : p + 2) {
    if (p * p > rest) {
      factors.push(rest);
      break;
    }
    while (rest % p === 0) {
      factors.push(p);
      rest /= p;
    }
  }
  return factors;
}

export class Fft {
  readonly n: number;
  private readonly factors: number[];
  /** exp(-2πi·k/n) for k < n. */
  private readonly twRe: Float64Array;
  private readonly twIm: Float64Array;
  private readonly scratchRe: Float64Array;
  private readonly scratchIm: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.factors = factorize(n);
    this.twRe = new Float64Array(n);
    this.twIm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const phase = (-2 * Math.PI * k) / n;
      this.twRe[k] = Math.cos(phase);
      this.twIm[k] = Math.sin(phase);
    }
    const maxP = Math.max(1, ...this.factors);
    this.scratchRe = new Float64Array(maxP);
    this.scratchIm = new Float64Array(maxP);
  }

  /** Forward DFT: out[k] = Σ_j in[j]·exp(-2πi·jk/n). Inputs are left as they are. */
  transform(
    inRe: Float64Array,
    inIm: Float64Array,
    outRe: Float64Array,
    outIm: Float64Array,
  ): void {
    if (
      inRe.length < this.n ||
      inIm.length < this.n ||
      outRe.length < this.n ||
      outIm.length < this.n
    ) {
      throw new RangeError(`FFT of length ${this.n} needs buffers of at least that length`);
    }
    if (this.n === 1) {
      outRe[0] = inRe[0] as number;
      outIm[0] = inIm[0] as number;
      return;
    }
    this.stage(outRe, outIm, 0, inRe, inIm, 0, 1, 0);
  }

  private stage(
    oRe: Float64Array,
    oIm: Float64Array,
    oOff: number,
    iRe: Float64Array,
    iIm: Float64Array,
    iOff: number,
    stride: number,
    level: number,
  ): void {
    const p = this.factors[level] as number;
    const m = this.n / (stride * p);
    if (m === 1) {
      for (let j = 0; j < p; j++) {
        oRe[oOff + j] = iRe[iOff + j * stride] as number;
        oIm[oOff + j] = iIm[iOff + j * stride] as number;
      }
    } else {
      for (let j = 0; j < p; j++) {
        this.stage(oRe, oIm, oOff + j * m, iRe, iIm, iOff + j * stride, stride * p, level + 1);
      }
    }
    this.butterfly(oRe, oIm, oOff, stride, m, p);
  }

  /** Combines p interleaved sub-transforms of length m into one of length p·m. */
  private butterfly(
    re: Float64Array,
    im: Float64Array,
    off: number,
    stride: number,
    m: number,
    p: number,
  ): void {
    const { twRe, twIm, scratchRe, scratchIm, n } = this;
    for (let u = 0; u < m; u++) {
      for (let q = 0, k = u; q < p; q++, k += m) {
        // Twiddle each input by exp(-2πi·q·u·stride/n) before the length-p DFT.
        const t = (q * u * stride) % n;
        const xr = re[off + k] as number;
        const xi = im[off + k] as number;
        const wr = twRe[t] as number;
        const wi = twIm[t] as number;
        scratchRe[q] = xr * wr - xi * wi;
        scratchIm[q] = xr * wi + xi * wr;
      }
      // Length-p DFT of the twiddled inputs; its roots are exp(-2πi·r/p) = tw[r·n/p].
      const rootStep = n / p;
      for (let r = 0, k = u; r < p; r++, k += m) {
        let accR = scratchRe[0] as number;
        let accI = scratchIm[0] as number;
        for (let q = 1; q < p; q++) {
          const t = ((q * r) % p) * rootStep;
          const wr = twRe[t] as number;
          const wi = twIm[t] as number;
          const sr = scratchRe[q] as number;
          const si = scratchIm[q] as number;
          accR += sr * wr - si * wi;
          accI += sr * wi + si * wr;
        }
        re[off + k] = accR;
        im[off + k] = accI;
      }
    }
  }
}

/**
 * Power spectra |X[k]|² (k = 0..n/2) of two real frames a and b with one complex FFT.
 * `b` may be null (its spectrum is then not written).
 */
export function realPowerSpectra(
  fft: Fft,
  a: Float64Array,
  b: Float64Array | null,
  powerA: Float64Array,
  powerB: Float64Array | null,
  work: { re: Float64Array; im: Float64Array; zeros: Float64Array },
): void {
  const n = fft.n;
  fft.transform(a, b ?? work.zeros, work.re, work.im);
  const { re, im } = work;
  const bins = Math.floor(n / 2) + 1;
  for (let k = 0; k < bins; k++) {
    const j = k === 0 ? 0 : n - k;
    const zr = re[k] as number;
    const zi = im[k] as number;
    const cr = re[j] as number;
    const ci = -(im[j] as number);
    // A[k] = (Z[k] + conj Z[n-k]) / 2, B[k] = (Z[k] - conj Z[n-k]) / 2i.
    const ar = (zr + cr) / 2;
    const ai = (zi + ci) / 2;
    powerA[k] = ar * ar + ai * ai;
    if (powerB) {
      const br = (zi - ci) / 2;
      const bi = -(zr - cr) / 2;
      powerB[k] = br * br + bi * bi;
    }
  }
}
