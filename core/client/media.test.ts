/** The SDK's audio resampling and CLIP image preprocessing (core/client/media.ts). */
import { describe, expect, it } from 'vitest';
import { CLIP_MEAN, CLIP_STD, clipPixelValues, resampleTo16k } from './media';

describe('resampleTo16k', () => {
  it('keeps 16 kHz as is and interpolates a ramp linearly', () => {
    const same = Float32Array.from([1, 2, 3]);
    expect(resampleTo16k(same, 16_000)).toBe(same);
    const ramp = Float32Array.from({ length: 48 }, (_, i) => i);
    const down = resampleTo16k(ramp, 48_000);
    expect(Array.from(down)).toEqual(Array.from({ length: 16 }, (_, i) => 3 * i));
    const up = resampleTo16k(Float32Array.from([0, 1, 2, 3]), 8_000);
    expect(Array.from(up)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3, 3]);
    expect(() => resampleTo16k(ramp, 0)).toThrow(RangeError);
  });
});

describe('clipPixelValues', () => {
  const image = (w: number, h: number, px: (x: number, y: number, c: number) => number) => {
    const data = new Uint8ClampedArray(w * h * 4);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 4; c++) data[(y * w + x) * 4 + c] = c === 3 ? 255 : px(x, y, c);
    return { data, width: w, height: h };
  };

  it('without resizing, crops the centre and normalises each channel (alpha dropped)', () => {
    const img = image(6, 4, (x, y, c) => 10 * x + 50 * c + y);
    const { data, shape } = clipPixelValues([img], { shortestEdge: 4 });
    expect(shape).toEqual([1, 3, 4, 4]);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++) {
          const v = (10 * (x + 1) + 50 * c + y) / 255;
          const want = (v - (CLIP_MEAN[c] as number)) / (CLIP_STD[c] as number);
          expect(data[(c * 4 + y) * 4 + x]).toBeCloseTo(want, 5);
        }
  });

  it('resizes the shorter side: a flat image stays flat, shapes follow the crop', () => {
    const flat = image(40, 30, (_x, _y, c) => [200, 100, 50][c] as number);
    const { data, shape } = clipPixelValues([flat, flat], { shortestEdge: 12, cropSize: 10 });
    expect(shape).toEqual([2, 3, 10, 10]);
    for (let i = 0; i < data.length; i++) {
      const c = Math.floor(i / 100) % 3;
      const want =
        (([200, 100, 50][c] as number) / 255 - (CLIP_MEAN[c] as number)) / (CLIP_STD[c] as number);
      expect(data[i]).toBeCloseTo(want, 5);
    }
    expect(() => clipPixelValues([{ ...flat, width: 41 }], { shortestEdge: 12 })).toThrow(
      RangeError,
    );
  });
});
