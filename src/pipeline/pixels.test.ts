import { describe, expect, it } from 'vitest';
import { decodedImageToRgba } from './pixels.ts';

describe('decoded image to RGBA', () => {
  it('maps planar [-1,1] RGB to interleaved RGBA8 with rounding and clamping', () => {
    // 2x1 image: R plane, G plane, B plane
    const planes = Float32Array.of(-1, 1, 0, 0.5, 2, -3);
    const rgba = decodedImageToRgba(planes, 2, 1);
    expect(Array.from(rgba)).toEqual([
      0,
      128,
      255,
      255, // pixel 0: R=-1 -> 0, G=0 -> 127.5 -> 128, B=2 -> clamped 255
      255,
      191,
      0,
      255, // pixel 1: R=1 -> 255, G=0.5 -> 191.25 -> 191, B=-3 -> clamped 0
    ]);
  });

  it('paints NaN as black rather than failing', () => {
    const rgba = decodedImageToRgba(Float32Array.of(NaN, NaN, NaN), 1, 1);
    expect(Array.from(rgba)).toEqual([0, 0, 0, 255]);
  });

  it('rejects a buffer that does not fit the size', () => {
    expect(() => decodedImageToRgba(new Float32Array(5), 2, 1)).toThrow(RangeError);
  });
});
