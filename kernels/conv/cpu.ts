/**
 * CPU reference: convolutions, NCHW / NCL, no groups or dilation (Whisper's conv1d front end,
 * ViT/CLIP patch embedding as conv2d with stride = kernel).
 * conv1d: x [B, Cin, L], w [Cout, Cin, K] → [B, Cout, (L + 2p - K) / s + 1].
 * conv2d: x [B, Cin, H, W], w [Cout, Cin, KH, KW] → [B, Cout, H', W'].
 */
import type { OpInputs, OpParams } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export interface ConvDims {
  batch: number;
  cin: number;
  cout: number;
  /** Input spatial sizes, kernel sizes, strides, paddings and output sizes (1 or 2 axes). */
  size: number[];
  kernel: number[];
  stride: number[];
  padding: number[];
  outSize: number[];
}

export function convDims(
  x: Tensor,
  w: Tensor,
  bias: Tensor | undefined,
  p: OpParams<'conv2d'>,
  spatial: 1 | 2,
): ConvDims {
  if (x.shape.length !== spatial + 2 || w.shape.length !== spatial + 2) {
    throw new RangeError(`conv${spatial}d needs rank-${spatial + 2} x and w`);
  }
  const [batch, cin] = x.shape as [number, number];
  const [cout, wcin] = w.shape as [number, number];
  if (wcin !== cin) throw new RangeError(`w has ${wcin} input channels, x has ${cin}`);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== cout))
    throw new RangeError('bias must be [Cout]');
  if (p.stride.length !== spatial || p.padding.length !== spatial)
    throw new RangeError('stride/padding rank');
  const size = x.shape.slice(2);
  const kernel = w.shape.slice(2);
  const outSize = size.map(
    (s, i) =>
      Math.floor(
        (s + 2 * (p.padding[i] as number) - (kernel[i] as number)) / (p.stride[i] as number),
      ) + 1,
  );
  if (outSize.some((s) => s < 1)) throw new RangeError('conv output would be empty');
  return { batch, cin, cout, size, kernel, stride: p.stride, padding: p.padding, outSize };
}

function conv(inputs: OpInputs<'conv2d'>, p: OpParams<'conv2d'>, spatial: 1 | 2): Tensor {
  const [x, w, bias] = inputs;
  const d = convDims(x, w, bias, p, spatial);
  const xd = cpuToDense(x);
  const wd = cpuToDense(w);
  const bd = bias ? cpuToDense(bias) : null;
  // A 1-D conv is a 2-D conv with height 1.
  const [H, W] = spatial === 2 ? (d.size as [number, number]) : [1, d.size[0] as number];
  const [KH, KW] = spatial === 2 ? (d.kernel as [number, number]) : [1, d.kernel[0] as number];
  const [SH, SW] = spatial === 2 ? (d.stride as [number, number]) : [1, d.stride[0] as number];
  const [PH, PW] = spatial === 2 ? (d.padding as [number, number]) : [0, d.padding[0] as number];
  const [OH, OW] = spatial === 2 ? (d.outSize as [number, number]) : [1, d.outSize[0] as number];
  const out = new Float32Array(d.batch * d.cout * OH * OW);
  for (let b = 0; b < d.batch; b++)
    for (let co = 0; co < d.cout; co++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let acc = bd ? (bd[co] as number) : 0;
          for (let ci = 0; ci < d.cin; ci++)
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * SH - PH + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * SW - PW + kx;
                if (ix < 0 || ix >= W) continue;
                acc +=
                  (xd[((b * d.cin + ci) * H + iy) * W + ix] as number) *
                  (wd[((co * d.cin + ci) * KH + ky) * KW + kx] as number);
              }
            }
          out[((b * d.cout + co) * OH + oy) * OW + ox] = acc;
        }
  return cpuTensor(out, [d.batch, d.cout, ...d.outSize]);
}

export const conv1dCpu = (inputs: OpInputs<'conv1d'>, p: OpParams<'conv1d'>): Tensor =>
  conv(inputs, p, 1);
export const conv2dCpu = (inputs: OpInputs<'conv2d'>, p: OpParams<'conv2d'>): Tensor =>
  conv(inputs, p, 2);
