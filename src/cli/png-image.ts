/**
 * PNG files to RGBA8 for the Node runner's image-to-image input, with the same values a browser
 * decodes from an 8-bit PNG (createImageBitmap with colorSpaceConversion 'none'): grey, grey +
 * alpha, RGB, RGBA and palette images. 16-bit channels are rounded to 8 bits.
 */
import { readFile } from 'node:fs/promises';
import { convertIndexedToRgb, decode } from 'fast-png';
import type { RgbaImage } from '../pipeline/image-input.ts';

export function pngToRgba(bytes: Uint8Array): RgbaImage {
  const png = decode(bytes);
  const { width, height } = png;
  let data: ArrayLike<number> = png.data;
  let channels = png.channels;
  let depth: number = png.depth;
  if (png.palette) {
    data = convertIndexedToRgb(png); // RGB, or RGBA when the palette has alpha
    channels = png.palette[0]?.length ?? 3;
    depth = 8;
  }
  if (depth !== 8 && depth !== 16) {
    throw new Error(`PNG bit depth ${depth} is not supported here; save it as 8-bit`);
  }
  if (![1, 2, 3, 4].includes(channels) || data.length !== width * height * channels) {
    throw new Error(`unexpected PNG layout: ${channels} channels, ${data.length} values`);
  }
  const to8 = depth === 16 ? (v: number) => Math.round(v / 257) : (v: number) => v;
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const i = p * channels;
    const o = p * 4;
    if (channels <= 2) {
      const grey = to8(data[i]!);
      rgba[o] = grey;
      rgba[o + 1] = grey;
      rgba[o + 2] = grey;
      rgba[o + 3] = channels === 2 ? to8(data[i + 1]!) : 255;
    } else {
      rgba[o] = to8(data[i]!);
      rgba[o + 1] = to8(data[i + 1]!);
      rgba[o + 2] = to8(data[i + 2]!);
      rgba[o + 3] = channels === 4 ? to8(data[i + 3]!) : 255;
    }
  }
  return { width, height, data: rgba };
}

export async function readPngImage(file: string): Promise<RgbaImage> {
  return pngToRgba(new Uint8Array(await readFile(file)));
}
