/**
 * The denoising loop, the same on the host and on the device (LatentOps): the noise draws and
 * their order, the timesteps and sigmas, the UNet input scaling, the previews of each step's
 * denoised estimate, the checkpoints between steps and the step timings. It knows the
 * scheduler only as a kind (eulerStep) and the model only as a UNet graph with conditioning.
 */
import type { GraphSession, SessionTensor } from '../graph-session.ts';
import { noisedImageLatents } from '../image-to-image.ts';
import { createNoise, type NoiseGeneratorName } from '../noise/noise-generators.ts';
import type { NoiseSource } from '../noise/noise-generators.ts';
import {
  eulerStep,
  modelInputScale,
  planEuler,
  type EulerPlan,
  type SchedulerKind,
} from '../scheduler.ts';
import {
  ModelFormatError,
  elementCount,
  floatTensor,
  requireInput,
  scalarTensor,
} from '../tensors.ts';
import { disposeTensor } from '../text-encoding.ts';
import type { LatentOps } from './latent-ops.ts';

/** Where denoising starts: the latents (host, float32, unscaled), the plan and the noise source. */
export interface StartingLatents {
  dims: number[];
  count: number;
  plan: EulerPlan;
  /** Goes on to draw each step's noise from the same sequence. */
  noise: NoiseSource;
  latents: Float32Array;
}

/**
 * The latents denoising starts from, the same on the host and on the device: seeded noise at
 * sigma_max for text-to-image; for image-to-image, the encoded image noised as diffusers'
 * add_noise does at timesteps[0] (see image-to-image.ts), not scaled by init_noise_sigma.
 *
 * Order of draws with torch-cpu, as diffusers makes them with one CPU generator (each a
 * `randn_tensor` of the latent shape): text-to-image, `prepare_latents` first, then one in every
 * `EulerAncestralDiscreteScheduler.step`. The last step's draw is multiplied by sigma_up = 0 and
 * comes after every draw that is used, so it is skipped here without changing any value (and
 * likewise every draw of the Euler discrete scheduler, whose steps add no noise). Image-to-image:
 * diffusers' first draw samples the VAE encoder's latent distribution (`retrieve_latents`,
 * sample_mode="sample"); this app takes the distribution's mean, so that draw is made and
 * dropped, and the add_noise draw and the step draws are then diffusers' own. mulberry32 keeps
 * its original order (no dropped draw) so old images repeat.
 */
export function startingLatents(
  dims: number[],
  seed: number,
  generator: NoiseGeneratorName,
  timesteps: number[],
  imageLatents: Float32Array | null,
): StartingLatents {
  const count = elementCount(dims);
  const plan = planEuler(timesteps);
  const noise = createNoise(generator, seed);
  if (imageLatents && generator === 'torch-cpu') noise.sample(count); // latent_dist.sample's draw
  const latents = noise.sample(count);
  if (imageLatents) {
    noisedImageLatents(imageLatents, latents, plan.sigmas[0] as number);
  } else {
    for (let i = 0; i < count; i++) latents[i] = (latents[i] as number) * plan.initNoiseSigma;
  }
  return { dims, count, plan, noise, latents };
}

/** Decodes one step's denoised estimate for a preview; frees the tensor. */
export type StepPreviewer = (step: number, estimate: SessionTensor) => Promise<void>;

export interface DenoiseRequest {
  ops: LatentOps;
  unet: GraphSession;
  /** The UNet's feeds that stay the same every step (encoder_hidden_states, text_embeds, time_ids). */
  conditioning: Record<string, SessionTensor>;
  start: StartingLatents;
  scheduler: SchedulerKind;
  /**
   * What the last step leaves: the VAE decoder's input, or the latents themselves (kept for
   * TAESDXL and a later full-VAE decode).
   */
  finish: 'vae-input' | 'latents';
  preview: StepPreviewer | null;
  /** Throws to stop between steps (SupersededError). */
  checkpoint: () => void;
  now: () => number;
}

export interface Denoised {
  /** finish 'latents': the final latents (float32, unscaled). */
  latents?: SessionTensor;
  /** finish 'vae-input': latents / VAE scale in the VAE decoder's dtype. */
  vaeInput?: SessionTensor;
  /** Time of each step: UNet, preview and update. */
  unetSteps: number[];
}

/** Euler (ancestral or discrete, as `scheduler` says) from the starting latents down to sigma 0. */
export async function denoiseLatents(request: DenoiseRequest): Promise<Denoised> {
  const { ops, unet, conditioning, start, scheduler, finish, preview, checkpoint, now } = request;
  const { dims, count, plan, noise } = start;
  const sampleInfo = requireInput(unet, 'unet', 'sample');
  const timestepInfo = requireInput(unet, 'unet', 'timestep');
  const outputName =
    unet.outputs.find((o) => o.name === 'out_sample')?.name ?? unet.outputs[0]?.name;
  if (!outputName) throw new ModelFormatError('unet has no outputs');

  const scale0 = modelInputScale(plan.sigmas[0] as number);
  let x: SessionTensor | null = { type: 'float32', dims, data: start.latents };
  let input: SessionTensor | null = floatTensor(
    sampleInfo,
    'unet',
    dims,
    start.latents.map((v) => v * scale0),
  );
  const unetSteps: number[] = [];
  try {
    for (let i = 0; i < plan.timesteps.length; i++) {
      const stepStart = now();
      const sigma = plan.sigmas[i] as number;
      const sigmaNext = plan.sigmas[i + 1] as number;
      const last = i === plan.timesteps.length - 1;
      const out = await ops.run(
        unet,
        {
          ...conditioning,
          sample: input!,
          timestep: scalarTensor(timestepInfo, 'unet', plan.timesteps[i] as number),
        },
        [outputName],
      );
      const eps = out[outputName];
      try {
        if (!eps || elementCount(eps.dims) !== count) {
          throw new ModelFormatError(
            `unet returned ${eps ? `[${eps.dims.join(',')}]` : 'nothing'}, expected [${dims.join(',')}]`,
          );
        }
        if (preview && !last) {
          // What the image would be if this were the last step.
          await preview(i + 1, await ops.estimate(x!, eps, sigma));
        }
        const { dt, sigmaUp } = eulerStep(scheduler, sigma, sigmaNext);
        // Noise is drawn only when the step adds it (see startingLatents): the same sequence on
        // both paths.
        const stepNoise = sigmaUp > 0 ? noise.sample(count) : null;
        const next = await ops.step(
          x!,
          eps,
          { dt, sigmaUp, noise: stepNoise },
          !last ? { unetSigma: sigmaNext } : finish === 'latents' ? 'latents-only' : 'vae-input',
        );
        if (next.latents !== x) disposeTensor(x ?? undefined);
        disposeTensor(input ?? undefined);
        x = next.latents;
        input = next.input;
      } finally {
        disposeTensor(eps);
      }
      await ops.sync();
      unetSteps.push(now() - stepStart);
      checkpoint();
    }
  } catch (error) {
    disposeTensor(x ?? undefined);
    disposeTensor(input ?? undefined);
    throw error;
  }
  if (finish === 'latents') return { latents: x!, unetSteps };
  if (x) disposeTensor(x);
  return { vaeInput: input!, unetSteps };
}
