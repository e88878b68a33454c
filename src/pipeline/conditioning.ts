/**
 * SDXL's micro-conditioning: original size, crop top-left, target size, as (height, width)
 * pairs. Turbo is used without cropping at the size it generates: [H, W, 0, 0, H, W].
 */
export function timeIds(width: number, height: number): Float32Array {
  return Float32Array.of(height, width, 0, 0, height, width);
}

/** SDXL's VAE latent scaling factor (vae.config.scaling_factor). */
export const VAE_SCALING_FACTOR = 0.13025;

/** The VAE downsamples by 8; latents have 4 channels. */
export const VAE_DOWNSAMPLE = 8;
export const LATENT_CHANNELS = 4;
