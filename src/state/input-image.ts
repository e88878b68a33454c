/**
 * The image-to-image side of the store: the input image as the page holds it, and the rules
 * that decide whether a generation with it can run. Pure functions, testable without a browser.
 *
 * The page fits the image to the output size itself, with the pipeline's own pure code
 * (src/pipeline/image-input.ts): the preview then shows exactly the pixels the model gets, and
 * every generate request carries only the fitted image (≤ 768×512×4 bytes), never the
 * full-size photo. The worker and the Node runner would fit it the same way, bit for bit.
 */
import { coverCrop, fitImage, type CropRect, type RgbaImage } from '../pipeline/image-input';
import {
  DEFAULT_STRENGTH,
  MAX_STRENGTH,
  MIN_STRENGTH,
  denoisingSteps,
} from '../pipeline/image-to-image';
import type { InputImage } from '../protocol/messages';

export { DEFAULT_STRENGTH, MAX_STRENGTH, MIN_STRENGTH };

export interface InputImageState {
  /** Where it came from, for the caption: a file name, "pasted image", "generated image". */
  name: string;
  /** The decoded image at its own size. */
  source: RgbaImage;
  /** Bumped for every new image: the worker reuses its encoded latents while it stays. */
  version: number;
  /** The part of `source` that is used (centred, the output's aspect ratio). */
  crop: CropRect;
  /** What the model gets: `crop` resampled to the output size. */
  fitted: RgbaImage;
}

export function fitInputImage(
  source: RgbaImage,
  name: string,
  version: number,
  width: number,
  height: number,
): InputImageState {
  return {
    name,
    source,
    version,
    crop: coverCrop(source.width, source.height, width, height),
    fitted: fitImage(source, width, height),
  };
}

/** The same image fitted to another output size (same version: the size is part of the key). */
export function refitInputImage(
  image: InputImageState,
  width: number,
  height: number,
): InputImageState {
  if (image.fitted.width === width && image.fitted.height === height) return image;
  return fitInputImage(image.source, image.name, image.version, width, height);
}

/** Strength on the slider's 0.05 grid, as the exact decimal (0.7, not 0.7000000000000001). */
export function normalizeStrength(value: number): number | null {
  if (!Number.isFinite(value)) return null;
  const clamped = Math.min(MAX_STRENGTH, Math.max(MIN_STRENGTH, value));
  return Math.round(clamped * 20) / 20;
}

/** "2 steps × strength 0.5 = 1 denoising step" */
export function denoisingSummary(steps: number, strength: number): string {
  const n = denoisingSteps(steps, strength);
  return `${steps} step${steps === 1 ? '' : 's'} × strength ${strength} = ${n} denoising step${n === 1 ? '' : 's'}`;
}

/** The parts of the store's state the rules below read. */
export interface ImageToImageView {
  inputImage: InputImageState | null;
  steps: number;
  strength: number;
  model: { imageToImage: boolean } | null;
}

/**
 * Why a generation with the current input image cannot run, in words for the user; null when
 * it can (or when there is no input image: plain text-to-image).
 */
export function imageToImageBlocker(s: ImageToImageView): string | null {
  if (!s.inputImage) return null;
  if (s.model && !s.model.imageToImage) {
    return 'This model has no VAE encoder (vae_encoder/model.onnx), so it cannot do image-to-image. Remove the input image to generate from the prompt alone.';
  }
  if (denoisingSteps(s.steps, s.strength) < 1) {
    return `${denoisingSummary(s.steps, s.strength)}: nothing would change. Raise the steps or the strength (steps × strength must be at least 1).`;
  }
  return null;
}

/** The input image as a generate request carries it (the buffer is copied by postMessage). */
export function wireImage(image: InputImageState): InputImage {
  const { fitted } = image;
  const pixels =
    fitted.data.byteOffset === 0 && fitted.data.byteLength === fitted.data.buffer.byteLength
      ? (fitted.data.buffer as ArrayBuffer)
      : (fitted.data.slice().buffer as ArrayBuffer);
  return { width: fitted.width, height: fitted.height, pixels, version: image.version };
}
