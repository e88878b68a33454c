/**
 * The VAE decoder's output, planar RGB in [-1, 1] ([1, 3, H, W]), as interleaved RGBA8 the way
 * diffusers' image processor rounds it: round(clamp(x / 2 + 0.5, 0, 1) * 255). NaN paints black.
 */
export function decodedImageToRgba(
  planes: Float32Array,
  width: number,
  height: number,
): Uint8ClampedArray {
  const pixelCount = width * height;
  if (planes.length !== 3 * pixelCount) {
    throw new RangeError(
      `expected ${3 * pixelCount} values for ${width}x${height} RGB, got ${planes.length}`,
    );
  }
  const rgba = new Uint8ClampedArray(pixelCount * 4);
  for (let p = 0; p < pixelCount; p++) {
    for (let c = 0; c < 3; c++) {
      const v = (planes[c * pixelCount + p] as number) / 2 + 0.5;
      const clamped = v > 1 ? 1 : v > 0 ? v : 0; // NaN fails both tests: 0
      rgba[p * 4 + c] = Math.round(clamped * 255);
    }
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}
