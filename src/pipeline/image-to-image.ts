/**
 * Image-to-image as diffusers' StableDiffusionXLImg2ImgPipeline does it for SDXL Turbo
 * (AutoPipelineForImage2Image; the model card uses num_inference_steps=2, strength=0.5):
 *
 * - Timesteps (`get_timesteps`, pipeline_stable_diffusion_xl_img2img.py): the scheduler is set
 *   with the user's step count, then
 *     init_timestep = min(int(num_inference_steps * strength), num_inference_steps)
 *     t_start = max(num_inference_steps - init_timestep, 0)
 *     timesteps = scheduler.timesteps[t_start * scheduler.order:]      (order 1 for Euler a.)
 *   so 2 steps at strength 0.5 run the single timestep 499 of the schedule [999, 499].
 * - Latents (`prepare_latents`): the VAE encoder's latents × vae.config.scaling_factor, then
 *   `scheduler.add_noise(init_latents, noise, timesteps[:1])`, which for
 *   EulerAncestralDiscreteScheduler is `original_samples + noise * sigmas[index of t_start]`.
 *   Unlike text-to-image there is no `noise * init_noise_sigma`: the noise is scaled by the
 *   sigma of the first timestep that actually runs.
 * - The loop is unchanged: `scale_model_input` and `step` look the sigma up by timestep
 *   (`_init_step_index`), so the sigmas are those of the sliced timesteps, then 0.
 *
 * One difference on purpose: diffusers samples the VAE's latent distribution
 * (`retrieve_latents`, sample_mode="sample"); this app takes its mean, so the same image,
 * prompt and seed always give the same picture.
 */
import { LATENT_CHANNELS, VAE_DOWNSAMPLE, VAE_SCALING_FACTOR } from './conditioning.ts';
import type { GraphSession } from './graph-session.ts';
import { trailingTimesteps } from './scheduler.ts';
import { ModelFormatError, elementCount, floatTensor, toFloat32 } from './tensors.ts';

export const MIN_STRENGTH = 0.05;
export const MAX_STRENGTH = 1;
export const STRENGTH_STEP = 0.05;
export const DEFAULT_STRENGTH = 0.5;

/** How many UNet passes `steps` at `strength` run: diffusers' init_timestep. */
export function denoisingSteps(steps: number, strength: number): number {
  // Python's int() truncates; both sides compute steps * strength in IEEE doubles.
  return Math.min(Math.floor(steps * strength), steps);
}

/** Why `steps` × `strength` cannot run (null when it can), in words for the user. */
export function strengthProblem(steps: number, strength: number): string | null {
  if (!Number.isFinite(strength) || strength <= 0 || strength > MAX_STRENGTH) {
    return `strength must be in (0, ${MAX_STRENGTH}], got ${strength}`;
  }
  if (denoisingSteps(steps, strength) < 1) {
    return `${steps} step${steps === 1 ? '' : 's'} × strength ${strength} is less than one denoising step: raise the steps or the strength`;
  }
  return null;
}

/** The timesteps an image-to-image run hands the UNet, highest first. */
export function imageToImageTimesteps(steps: number, strength: number): number[] {
  const problem = strengthProblem(steps, strength);
  if (problem) throw new RangeError(problem);
  const schedule = trailingTimesteps(steps);
  const tStart = Math.max(steps - denoisingSteps(steps, strength), 0);
  return schedule.slice(tStart);
}

/**
 * The latents diffusers starts from: x = image_latents + noise × sigma(t_start), in place of
 * `noise` (which must be N(0, 1) samples, one per latent value).
 */
export function noisedImageLatents(
  imageLatents: Float32Array,
  noise: Float32Array,
  sigmaStart: number,
): Float32Array {
  if (imageLatents.length !== noise.length) {
    throw new RangeError(`${imageLatents.length} latents but ${noise.length} noise values`);
  }
  for (let i = 0; i < noise.length; i++) noise[i] = imageLatents[i]! + noise[i]! * sigmaStart;
  return noise;
}

const LATENT_OUTPUT_NAMES = ['latent_sample', 'latent_parameters', 'latent_dist', 'latent'];

/**
 * The VAE encoder on a planar [1, 3, H, W] image in [-1, 1]: the latent mean × 0.13025,
 * [1, 4, H/8, W/8]. Exports differ: `latent_sample` (4 channels: already a mean or sample) or
 * `latent_parameters` (8 channels: mean then log-variance, as diffusers' DiagonalGaussian
 * splits them with `torch.chunk(parameters, 2, dim=1)`): the first 4 channels are the mean.
 */
export async function encodeImageLatents(
  vaeEncoder: GraphSession,
  planes: Float32Array,
  width: number,
  height: number,
): Promise<Float32Array> {
  const input = vaeEncoder.inputs.find((i) => i.name === 'sample') ?? vaeEncoder.inputs[0];
  const outputName =
    LATENT_OUTPUT_NAMES.find((name) => vaeEncoder.outputs.some((o) => o.name === name)) ??
    vaeEncoder.outputs[0]?.name;
  if (!input || !outputName) throw new ModelFormatError('vae_encoder has no input or no output');
  const out = await vaeEncoder.run(
    { [input.name]: floatTensor(input, 'vae_encoder', [1, 3, height, width], planes) },
    [outputName],
  );
  const tensor = out[outputName];
  const latentH = height / VAE_DOWNSAMPLE;
  const latentW = width / VAE_DOWNSAMPLE;
  const channels = tensor?.dims[1];
  const shapeOk =
    tensor !== undefined &&
    tensor.dims.length === 4 &&
    tensor.dims[0] === 1 &&
    tensor.dims[2] === latentH &&
    tensor.dims[3] === latentW &&
    (channels === LATENT_CHANNELS || channels === 2 * LATENT_CHANNELS);
  if (!shapeOk) {
    throw new ModelFormatError(
      `vae_encoder returned ${tensor ? `[${tensor.dims.join(',')}]` : 'nothing'} as "${outputName}", expected [1,4,${latentH},${latentW}] or [1,8,${latentH},${latentW}]`,
    );
  }
  const values = toFloat32(tensor);
  // NCHW with N = 1: the first 4 channels are the first 4·h·w values.
  const count = elementCount([1, LATENT_CHANNELS, latentH, latentW]);
  const latents = new Float32Array(count);
  for (let i = 0; i < count; i++) latents[i] = values[i]! * VAE_SCALING_FACTOR;
  return latents;
}
