import { describe, expect, it } from 'vitest';
import {
  coverCrop,
  fitImage,
  imageFingerprint,
  rgbaToPlanar,
  type RgbaImage,
} from './image-input.ts';

function image(width: number, height: number, pixel: (x: number, y: number) => number[]) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r = 0, g = 0, b = 0, a = 255] = pixel(x, y);
      data.set([r, g, b, a], (y * width + x) * 4);
    }
  }
  return { width, height, data } satisfies RgbaImage;
}

const at = (img: RgbaImage, x: number, y: number) =>
  Array.from(img.data.slice((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

describe('coverCrop', () => {
  it('keeps the centre with the target aspect ratio', () => {
    expect(coverCrop(600, 400, 512, 512)).toEqual({ x: 100, y: 0, width: 400, height: 400 });
    expect(coverCrop(400, 600, 512, 512)).toEqual({ x: 0, y: 100, width: 400, height: 400 });
    expect(coverCrop(600, 400, 768, 512)).toEqual({ x: 0, y: 0, width: 600, height: 400 });
    expect(coverCrop(600, 400, 512, 768)).toEqual({ x: 166, y: 0, width: 267, height: 400 });
    expect(coverCrop(1000, 1000, 768, 512)).toEqual({ x: 0, y: 166, width: 1000, height: 667 });
    expect(coverCrop(512, 512, 512, 512)).toEqual({ x: 0, y: 0, width: 512, height: 512 });
  });

  it('never leaves the source, even for extreme shapes', () => {
    for (const [w, h] of [
      [1, 1],
      [1, 5000],
      [5000, 1],
      [7, 3],
    ] as const) {
      for (const [tw, th] of [
        [512, 512],
        [768, 512],
        [512, 768],
      ] as const) {
        const c = coverCrop(w, h, tw, th);
        expect(c.width).toBeGreaterThanOrEqual(1);
        expect(c.height).toBeGreaterThanOrEqual(1);
        expect(c.x + c.width).toBeLessThanOrEqual(w);
        expect(c.y + c.height).toBeLessThanOrEqual(h);
      }
    }
  });
});

describe('fitImage', () => {
  it('is an identity at the target size', () => {
    const src = image(16, 8, (x, y) => [x * 13, y * 29, (x * y) % 256]);
    const fitted = fitImage(src, 16, 8);
    expect(Array.from(fitted.data)).toEqual(Array.from(src.data));
  });

  it('uses only the centre crop: the cut-off sides never leak in', () => {
    // 12×4: a red 4-pixel band each side, a green/blue checker in the middle 4×4.
    const src = image(12, 4, (x, y) => {
      if (x < 4 || x >= 8) return [255, 0, 0];
      return (x + y) % 2 ? [0, 200, 0] : [0, 0, 100];
    });
    const fitted = fitImage(src, 4, 4);
    for (let i = 0; i < 16; i++) expect(fitted.data[i * 4]).toBe(0); // no red at all
    expect(at(fitted, 0, 0)).toEqual([0, 0, 100, 255]);
    expect(at(fitted, 1, 0)).toEqual([0, 200, 0, 255]);
  });

  it('filters when shrinking (no aliasing), clamps at the edges when enlarging', () => {
    // 1-pixel stripes of 100 and 200 halved: nearest-neighbour would give all 100 or all 200;
    // the widened triangle filter gives 150 inside (taps 1/8, 3/8, 3/8, 1/8) and ~150 at the edges.
    const stripes = image(8, 8, (x) => [x % 2 ? 200 : 100, 0, 0]);
    const half = fitImage(stripes, 4, 4);
    const row = [0, 1, 2, 3].map((x) => at(half, x, 2)[0]);
    expect(row.slice(1, 3)).toEqual([150, 150]);
    for (const v of row) expect(Math.abs(v! - 150)).toBeLessThanOrEqual(10);

    const ramp = image(2, 1, (x) => [x ? 255 : 0, 0, 0]);
    const wide = fitImage(ramp, 4, 2);
    expect([0, 1, 2, 3].map((x) => at(wide, x, 0)[0])).toEqual([0, 64, 191, 255]);
  });

  it('composites transparency over white and returns an opaque image', () => {
    const src = image(2, 2, (x) => (x ? [0, 0, 0, 0] : [100, 50, 0, 128]));
    const fitted = fitImage(src, 2, 2);
    expect(at(fitted, 1, 0)).toEqual([255, 255, 255, 255]);
    expect(at(fitted, 0, 0)).toEqual([
      Math.round((100 * 128) / 255 + 127),
      Math.round((50 * 128) / 255 + 127),
      127,
      255,
    ]);
  });

  it('gives 600×400 -> 512×512 the centre 400×400 scaled up', () => {
    const src = image(600, 400, (x) => [x < 100 || x >= 500 ? 255 : 0, (x - 100) % 256, 0]);
    const fitted = fitImage(src, 512, 512);
    expect([fitted.width, fitted.height, fitted.data.length]).toEqual([512, 512, 512 * 512 * 4]);
    let red = 0;
    for (let i = 0; i < 512 * 512; i++) red = Math.max(red, fitted.data[i * 4]!);
    expect(red).toBe(0);
  });

  it('rejects pixel buffers of the wrong size', () => {
    expect(() => fitImage({ width: 2, height: 2, data: new Uint8Array(15) }, 8, 8)).toThrow(
      /expected 16/,
    );
  });
});

describe('rgbaToPlanar', () => {
  it('is planar [3, H, W] in [-1, 1] (x / 127.5 - 1), alpha ignored', () => {
    const src = image(3, 2, (x, y) => [x === 0 && y === 0 ? 0 : 255, x * 100, y * 255, 7]);
    const planes = rgbaToPlanar(src);
    expect(planes).toHaveLength(3 * 6);
    expect(planes[0]).toBe(-1); // R of (0,0)
    expect(planes[1]).toBe(1); // R of (1,0)
    expect(planes[6 + 1]).toBeCloseTo(100 / 127.5 - 1, 6); // G of (1,0)
    expect(planes[6 + 2]).toBeCloseTo(200 / 127.5 - 1, 6); // G of (2,0)
    expect(planes[12 + 0]).toBe(-1); // B of (0,0)
    expect(planes[12 + 3]).toBe(1); // B of (0,1)
    for (const v of planes) {
      expect(v).toBeGreaterThanOrEqual(-1);
      expect(v).toBeLessThanOrEqual(1);
    }
  });
});

describe('imageFingerprint', () => {
  it('changes with any pixel and with the shape', () => {
    const a = image(4, 2, (x) => [x, 0, 0]);
    const b = image(4, 2, (x) => [x, 0, x === 3 ? 1 : 0]);
    const c = image(2, 4, (_x, y) => [y, 0, 0]);
    expect(imageFingerprint(a)).toBe(imageFingerprint(image(4, 2, (x) => [x, 0, 0])));
    expect(imageFingerprint(a)).not.toBe(imageFingerprint(b));
    expect(imageFingerprint(a)).not.toBe(imageFingerprint(c));
  });
});
