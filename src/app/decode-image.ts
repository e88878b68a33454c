/**
 * Decodes an image file (picked, dropped or pasted) to RGBA8 at its own size. No scaling here:
 * the crop and resize happen in the pipeline's pure code (src/pipeline/image-input.ts), the
 * same code the Node runner uses, so a PNG gives the same model input in both.
 */
import type { RgbaImage } from '../pipeline/image-input';

/** Beyond this, the browser shrinks the image first (then the pixels no longer match the Node runner's). */
export const MAX_DECODED_PIXELS = 4096 * 4096;

export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

export async function decodeImageFile(file: Blob): Promise<RgbaImage> {
  let bitmap: ImageBitmap;
  try {
    // Raw file values: no colour-space conversion, no premultiplication (exact for opaque PNGs).
    bitmap = await createImageBitmap(file, {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
    });
  } catch {
    throw new ImageDecodeError(
      'This file could not be read as an image (try PNG, JPEG, WebP or GIF).',
    );
  }
  try {
    const pixels = bitmap.width * bitmap.height;
    if (pixels > MAX_DECODED_PIXELS) {
      const scale = Math.sqrt(MAX_DECODED_PIXELS / pixels);
      const resized = await createImageBitmap(bitmap, {
        resizeWidth: Math.max(1, Math.floor(bitmap.width * scale)),
        resizeHeight: Math.max(1, Math.floor(bitmap.height * scale)),
        resizeQuality: 'high',
      });
      bitmap.close();
      bitmap = resized;
    }
    const { width, height } = bitmap;
    const canvas =
      typeof OffscreenCanvas === 'function'
        ? new OffscreenCanvas(width, height)
        : Object.assign(document.createElement('canvas'), { width, height });
    const ctx = canvas.getContext('2d', { willReadFrequently: true }) as
      OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
    if (!ctx) throw new ImageDecodeError('This browser cannot draw on a 2D canvas.');
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, width, height).data;
    return { width, height, data };
  } finally {
    bitmap.close();
  }
}

/** The first image among a drop's or a paste's files, if any. */
export function firstImageFile(files: FileList | readonly File[] | null | undefined): File | null {
  if (!files) return null;
  for (const file of Array.from(files)) if (file.type.startsWith('image/')) return file;
  return null;
}
