/**
 * Which draw of the seeded generator goes where, watched at the UNet's `sample` input of a
 * stand-in model whose UNet always predicts eps = 0.1: diffusers' order with torch-cpu
 * (starting latents first, then one draw per step), the original order with mulberry32.
 */
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../graph-session';
import { fakeModel } from '../testing/fake-model';
import {
  eulerAncestralUpdate,
  modelInputScale,
  planEulerAncestral,
  trailingTimesteps,
} from '../scheduler';
import { VAE_SCALING_FACTOR } from '../conditioning';
import { imageToImageTimesteps } from '../image-to-image';
import { TextToImagePipeline, type TextToImageParams } from '../text-to-image';
import { GaussianNoise } from '../random';
import { TorchCpuNoise } from './torch-cpu-noise';
import type { NoiseSource } from './noise-generators';

const SIZE = 64; // latents 1x4x8x8 = 256 values
const COUNT = 4 * (SIZE / 8) ** 2;
const EPS = new Float32Array(COUNT).fill(0.1); // the fake UNet's output

/** The `sample` fed to the UNet at every step of one generation. */
async function unetSamples(params: TextToImageParams, withImage = false): Promise<Float32Array[]> {
  const model = fakeModel();
  const samples: Float32Array[] = [];
  const run = model.unet.run.bind(model.unet);
  model.unet.run = (feeds, names) => {
    samples.push(Float32Array.from((feeds['sample'] as HostTensor).data as Float32Array));
    return run(feeds, names);
  };
  const init = withImage
    ? { image: { width: SIZE, height: SIZE, data: new Uint8ClampedArray(SIZE * SIZE * 4) } }
    : undefined;
  await new TextToImagePipeline(model).generate(params, {}, init);
  return samples;
}

/** What the UNet should see at each step when `noise` supplies the draws in this order. */
function expectedSamples(timesteps: number[], start: Float32Array, noise: NoiseSource) {
  const plan = planEulerAncestral(timesteps);
  const x = start;
  const out: Float32Array[] = [];
  plan.timesteps.forEach((_, i) => {
    const sigma = plan.sigmas[i]!;
    out.push(x.map((v) => v * modelInputScale(sigma)));
    eulerAncestralUpdate(x, EPS, sigma, plan.sigmas[i + 1]!, () => noise.sample(COUNT));
  });
  return out;
}

const base = { prompt: 'a cat', seed: 2 ** 32 - 1, steps: 3, width: SIZE, height: SIZE };

describe('order of noise draws', () => {
  it('torch-cpu text-to-image: draw 1 x sigma_max starts, draw k + 1 is step k', async () => {
    const seen = await unetSamples({ ...base, noise: 'torch-cpu' });
    const draws = new TorchCpuNoise(base.seed);
    const plan = planEulerAncestral(trailingTimesteps(base.steps));
    const start = draws.sample(COUNT).map((v) => v * plan.initNoiseSigma);
    const expected = expectedSamples(trailingTimesteps(base.steps), start, draws);
    expect(seen).toHaveLength(3);
    expect(seen).toEqual(expected);
  });

  it('the default generator is torch-cpu', async () => {
    const { noise: _, ...withoutNoise } = { ...base, noise: undefined };
    expect(await unetSamples(withoutNoise)).toEqual(
      await unetSamples({ ...base, noise: 'torch-cpu' }),
    );
  });

  it('mulberry32 keeps the original order: the images made with it are made again', async () => {
    const seen = await unetSamples({ ...base, noise: 'mulberry32' });
    const draws = new GaussianNoise(base.seed);
    const plan = planEulerAncestral(trailingTimesteps(base.steps));
    const start = draws.sample(COUNT).map((v) => v * plan.initNoiseSigma);
    expect(seen).toEqual(expectedSamples(trailingTimesteps(base.steps), start, draws));
    expect(seen[0]).not.toEqual((await unetSamples({ ...base, noise: 'torch-cpu' }))[0]);
  });

  it("torch-cpu image-to-image: draw 1 is the VAE sample's (dropped), draw 2 is add_noise's", async () => {
    const params = { ...base, steps: 4, strength: 0.5, noise: 'torch-cpu' as const };
    const seen = await unetSamples(params, true);
    const timesteps = imageToImageTimesteps(4, 0.5);
    const draws = new TorchCpuNoise(base.seed);
    draws.sample(COUNT); // diffusers' latent_dist.sample(generator)
    const sigmaStart = planEulerAncestral(timesteps).sigmas[0]!;
    const imageLatent = Math.fround(Math.fround(0.1) * VAE_SCALING_FACTOR); // the fake encoder's mean
    const start = draws.sample(COUNT).map((v) => imageLatent + v * sigmaStart);
    expect(seen).toHaveLength(2);
    expect(seen).toEqual(expectedSamples(timesteps, start, draws));
  });

  it('mulberry32 image-to-image: add_noise takes draw 1, as before', async () => {
    const params = { ...base, steps: 2, strength: 1, noise: 'mulberry32' as const };
    const seen = await unetSamples(params, true);
    const timesteps = imageToImageTimesteps(2, 1);
    const draws = new GaussianNoise(base.seed);
    const sigmaStart = planEulerAncestral(timesteps).sigmas[0]!;
    const imageLatent = Math.fround(Math.fround(0.1) * VAE_SCALING_FACTOR);
    const start = draws.sample(COUNT).map((v) => imageLatent + v * sigmaStart);
    expect(seen).toEqual(expectedSamples(timesteps, start, draws));
  });
});
