/**
 * RGBA8 pixels to PNG bytes with the generation parameters in tEXt chunks (see
 * png-parameters.ts). fast-png is plain JS (no DOM), so the page, the Node runner and the tests
 * all encode with this one function. A canvas's toBlob cannot add text chunks.
 */
import { encode } from 'fast-png';
import { pngTextChunks, type ImageParameters } from './png-parameters.ts';

export interface RgbaPixels {
  width: number;
  height: number;
  /** width*height*4 bytes. */
  data: Uint8Array | Uint8ClampedArray;
}

export function encodePngWithParameters(image: RgbaPixels, params: ImageParameters): Uint8Array {
  return encodePng(image, pngTextChunks(params));
}

/** An 8-bit RGBA PNG, with `text` as tEXt chunks when given (none for gallery thumbnails). */
export function encodePng(image: RgbaPixels, text?: Record<string, string>): Uint8Array {
  const { width, height, data } = image;
  return encode({ width, height, data, channels: 4, depth: 8, ...(text ? { text } : {}) });
}

/**
 * A box-filtered copy no larger than `maxSide` on its longer side (thumbnails for the gallery):
 * every output pixel is the mean of the source pixels it covers, so it is not aliased.
 */
export function downscaleRgba(image: RgbaPixels, maxSide: number): RgbaPixels {
  const scale = Math.min(1, maxSide / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * image.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * image.height) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * image.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * image.width) / width));
      const sum = new Float64Array(4);
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const i = (sy * image.width + sx) * 4;
          for (let c = 0; c < 4; c++) sum[c] = sum[c]! + image.data[i + c]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * width + x) * 4;
      for (let c = 0; c < 4; c++) out[o + c] = Math.round(sum[c]! / n);
    }
  }
  return { width, height, data: out };
}
