/**
 * The input image of image-to-image, from decoded RGBA8 pixels to the VAE encoder's input.
 * Pure and deterministic (only +, *, /, floor and round on IEEE doubles), so the worker, the
 * page's preview and the Node runner get the same pixels from the same file.
 */

/** Interleaved RGBA8, row-major: `data.length === width * height * 4` (like ImageData). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** A rectangle of whole source pixels. */
export interface CropRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function checkRgbaImage(image: RgbaImage, what = 'image'): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`${what} must be at least 1×1 whole pixels, got ${width}×${height}`);
  }
  if (data.length !== width * height * 4) {
    throw new RangeError(
      `${what} is ${width}×${height} but has ${data.length} bytes, expected ${width * height * 4} (RGBA8)`,
    );
  }
}

/**
 * The centred crop of a source with the target's aspect ratio ("cover"): the whole target is
 * filled and the overhanging sides of the source are cut off. E.g. 600×400 to 512×512 keeps the
 * middle 400×400 (x 100..500).
 */
export function coverCrop(
  sourceWidth: number,
  sourceHeight: number,
  targetWidth: number,
  targetHeight: number,
): CropRect {
  for (const n of [sourceWidth, sourceHeight, targetWidth, targetHeight]) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`sizes must be whole pixels, got ${n}`);
  }
  // Compare aspect ratios by cross-multiplying: exact for integers.
  if (sourceWidth * targetHeight > sourceHeight * targetWidth) {
    const width = Math.min(
      sourceWidth,
      Math.max(1, Math.round((sourceHeight * targetWidth) / targetHeight)),
    );
    return { x: Math.floor((sourceWidth - width) / 2), y: 0, width, height: sourceHeight };
  }
  const height = Math.min(
    sourceHeight,
    Math.max(1, Math.round((sourceWidth * targetHeight) / targetWidth)),
  );
  return { x: 0, y: Math.floor((sourceHeight - height) / 2), width: sourceWidth, height };
}

/** For each output pixel along one axis: the first source index, the tap count, the weights. */
interface AxisFilter {
  start: Int32Array;
  count: Int32Array;
  /** `maxTaps` weights per output pixel (unused ones are 0). */
  weights: Float64Array;
  maxTaps: number;
}

/**
 * A triangle (linear) filter from `size` source pixels starting at `offset` to `outSize`
 * pixels, widened by the scale when shrinking so that every source pixel counts (no aliasing):
 * the separable "bilinear" resampling of PIL and Pillow, which diffusers' image processor
 * uses by default. Source pixels outside [offset, offset + size) are never read: edges clamp.
 * At scale 1 each output pixel takes exactly one source pixel (an identity).
 */
function axisFilter(offset: number, size: number, outSize: number): AxisFilter {
  const scale = size / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle's radius, in source pixels
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let i = 0; i < outSize; i++) {
    const center = offset + (i + 0.5) * scale;
    const lo = Math.max(offset, Math.floor(center - support + 0.5));
    const hi = Math.min(offset + size, Math.floor(center + support + 0.5));
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const w = Math.max(0, 1 - Math.abs(j + 0.5 - center) / filterScale);
      weights[i * maxTaps + (j - lo)] = w;
      sum += w;
    }
    if (sum === 0) {
      // Cannot happen for sizes >= 1 (the nearest pixel is within half a pixel); be safe.
      const nearest = Math.min(offset + size - 1, Math.max(offset, Math.floor(center)));
      start[i] = nearest;
      count[i] = 1;
      weights[i * maxTaps] = 1;
      continue;
    }
    for (let k = 0; k < hi - lo; k++) weights[i * maxTaps + k] = weights[i * maxTaps + k]! / sum;
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Cover-crops `source` to the target's aspect ratio and resamples the crop to exactly
 * `width`×`height`. Transparent pixels are composited over white first (a transparent PNG reads
 * as on a white page); the result is opaque. At the target size the resampling is an identity.
 */
export function fitImage(source: RgbaImage, width: number, height: number): RgbaImage {
  checkRgbaImage(source, 'input image');
  const crop = coverCrop(source.width, source.height, width, height);
  const out = new Uint8ClampedArray(width * height * 4);
  const src = source.data;
  const srcStride = source.width * 4;

  // Horizontal pass over the crop's rows: [crop.height][width][3] floats.
  const fx = axisFilter(crop.x, crop.width, width);
  const rows = new Float32Array(crop.height * width * 3);
  for (let y = 0; y < crop.height; y++) {
    const rowBase = (crop.y + y) * srcStride;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      const first = fx.start[x]!;
      const taps = fx.count[x]!;
      const wBase = x * fx.maxTaps;
      for (let k = 0; k < taps; k++) {
        const w = fx.weights[wBase + k]!;
        const p = rowBase + (first + k) * 4;
        const a = src[p + 3]!;
        if (a === 255) {
          r += src[p]! * w;
          g += src[p + 1]! * w;
          b += src[p + 2]! * w;
        } else {
          // Over white: c * a/255 + 255 * (1 - a/255).
          const white = 255 - a;
          r += ((src[p]! * a) / 255 + white) * w;
          g += ((src[p + 1]! * a) / 255 + white) * w;
          b += ((src[p + 2]! * a) / 255 + white) * w;
        }
      }
      const o = (y * width + x) * 3;
      rows[o] = r;
      rows[o + 1] = g;
      rows[o + 2] = b;
    }
  }

  // Vertical pass, rounded to 8 bits (what an image file of the fitted picture would hold).
  const fy = axisFilter(0, crop.height, height);
  for (let y = 0; y < height; y++) {
    const first = fy.start[y]!;
    const taps = fy.count[y]!;
    const wBase = y * fy.maxTaps;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < taps; k++) {
        const w = fy.weights[wBase + k]!;
        const p = ((first + k) * width + x) * 3;
        r += rows[p]! * w;
        g += rows[p + 1]! * w;
        b += rows[p + 2]! * w;
      }
      const o = (y * width + x) * 4;
      out[o] = Math.round(r); // Uint8ClampedArray clamps to 0..255
      out[o + 1] = Math.round(g);
      out[o + 2] = Math.round(b);
      out[o + 3] = 255;
    }
  }
  return { width, height, data: out };
}

/**
 * RGBA8 to the VAE encoder's input: planar [1, 3, H, W] float in [-1, 1], x / 127.5 - 1
 * (diffusers' VaeImageProcessor: x / 255, then 2x - 1). Alpha is ignored: `fitImage` has
 * already composited it.
 */
export function rgbaToPlanar(image: RgbaImage): Float32Array {
  checkRgbaImage(image);
  const pixels = image.width * image.height;
  const planes = new Float32Array(3 * pixels);
  const { data } = image;
  for (let p = 0; p < pixels; p++) {
    planes[p] = data[p * 4]! / 127.5 - 1;
    planes[pixels + p] = data[p * 4 + 1]! / 127.5 - 1;
    planes[2 * pixels + p] = data[p * 4 + 2]! / 127.5 - 1;
  }
  return planes;
}

/** FNV-1a over the size and every byte: a cache key for callers that give no image id. */
export function imageFingerprint(image: RgbaImage): string {
  let hash = 0x811c9dc5;
  const mix = (byte: number) => {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  };
  for (const n of [image.width, image.height]) {
    mix(n & 0xff);
    mix((n >>> 8) & 0xff);
    mix((n >>> 16) & 0xff);
  }
  const { data } = image;
  for (let i = 0; i < data.length; i++) mix(data[i]!);
  return `${image.width}x${image.height}:${(hash >>> 0).toString(16)}`;
}
