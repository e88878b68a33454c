import { describe, expect, it } from 'vitest';
import type { GraphSession, HostTensor, ValueInfo } from './graph-session.ts';
import { halfToFloat32 } from './float16.ts';
import {
  denoisingSteps,
  encodeImageLatents,
  imageToImageTimesteps,
  noisedImageLatents,
  strengthProblem,
} from './image-to-image.ts';
import { sigmaAt } from './scheduler.ts';

/**
 * diffusers' StableDiffusionXLImg2ImgPipeline.get_timesteps on EulerAncestralDiscreteScheduler
 * with trailing spacing, worked by hand from its source:
 *   schedule = set_timesteps(steps)            e.g. 3 -> [999, 666, 332]
 *   init_timestep = min(int(steps * strength), steps); t_start = max(steps - init_timestep, 0)
 *   timesteps = schedule[t_start:]
 */
const DIFFUSERS_TABLE: Array<[steps: number, strength: number, timesteps: number[]]> = [
  [1, 1, [999]],
  [2, 1, [999, 499]],
  [2, 0.5, [499]], // the sdxl-turbo model card's img2img example: one UNet pass
  [2, 0.75, [499]], // int(1.5) = 1
  [3, 1, [999, 666, 332]],
  [3, 0.7, [666, 332]], // int(2.1) = 2
  [3, 0.5, [332]], // int(1.5) = 1 -> t_start = 2
  [3, 0.35, [332]], // int(1.05) = 1
  [4, 1, [999, 749, 499, 249]],
  [4, 0.75, [749, 499, 249]],
  [4, 0.5, [499, 249]],
  [4, 0.3, [249]], // int(1.2) = 1
  [4, 0.25, [249]],
];

describe('image-to-image timesteps (diffusers get_timesteps)', () => {
  for (const [steps, strength, timesteps] of DIFFUSERS_TABLE) {
    it(`${steps} steps at strength ${strength} -> [${timesteps.join(', ')}]`, () => {
      expect(imageToImageTimesteps(steps, strength)).toEqual(timesteps);
      expect(denoisingSteps(steps, strength)).toBe(timesteps.length);
      expect(strengthProblem(steps, strength)).toBeNull();
    });
  }

  it('refuses steps × strength below one step, with a message that says so', () => {
    for (const [steps, strength] of [
      [1, 0.5],
      [1, 0.95],
      [2, 0.45],
      [3, 0.3],
      [4, 0.2],
    ] as const) {
      expect(denoisingSteps(steps, strength)).toBe(0);
      expect(strengthProblem(steps, strength)).toMatch(/less than one denoising step/);
      expect(() => imageToImageTimesteps(steps, strength)).toThrow(RangeError);
    }
  });

  it('refuses a strength outside (0, 1]', () => {
    for (const strength of [0, -0.5, 1.01, Number.NaN]) {
      expect(strengthProblem(4, strength)).toMatch(/strength must be in/);
      expect(() => imageToImageTimesteps(4, strength)).toThrow(RangeError);
    }
  });
});

describe('noised image latents (EulerAncestral add_noise)', () => {
  it('is image + noise × sigma(t_start), written over the noise', () => {
    const image = Float32Array.of(1, -2, 0.5);
    const noise = Float32Array.of(0.1, 0.2, -1);
    const sigma = sigmaAt(499);
    const x = noisedImageLatents(image, noise, sigma);
    expect(x).toBe(noise);
    expect(Array.from(x)).toEqual(
      [1 + 0.1 * sigma, -2 + 0.2 * sigma, 0.5 - sigma].map((v) => Math.fround(v)),
    );
    expect(Array.from(image)).toEqual([1, -2, 0.5]); // the cached image latents stay intact
  });
});

/** A vae_encoder stand-in that records its feed and returns channel c filled with value c + 1. */
function fakeEncoder(
  outputName: string,
  channels: number,
  type: 'float32' | 'float16' = 'float32',
): GraphSession & { fed: HostTensor | null } {
  const input: ValueInfo = { name: 'sample', type, shape: ['b', 3, 'h', 'w'] };
  const session = {
    fed: null as HostTensor | null,
    inputs: [input],
    outputs: [{ name: outputName, type: 'float32' as const, shape: null }],
    async run(feeds: Record<string, HostTensor>) {
      const fed = feeds['sample']!;
      session.fed = fed;
      const [, , h = 0, w = 0] = fed.dims;
      const dims = [1, channels, h / 8, w / 8];
      const plane = (h / 8) * (w / 8);
      const data = new Float32Array(channels * plane);
      for (let c = 0; c < channels; c++) data.fill(c + 1, c * plane, (c + 1) * plane);
      return { [outputName]: { type: 'float32' as const, dims, data } };
    },
    async release() {},
  };
  return session;
}

describe('encodeImageLatents', () => {
  const planes = new Float32Array(3 * 16 * 24).fill(0.25);

  it('scales a 4-channel latent_sample by 0.13025', async () => {
    const encoder = fakeEncoder('latent_sample', 4);
    const latents = await encodeImageLatents(encoder, planes, 24, 16);
    expect(encoder.fed?.dims).toEqual([1, 3, 16, 24]);
    expect(latents).toHaveLength(4 * 2 * 3);
    expect(latents[0]).toBeCloseTo(0.13025, 6);
    expect(latents[23]).toBeCloseTo(4 * 0.13025, 6);
  });

  it('takes the mean (first 4 of 8 channels) of latent_parameters', async () => {
    const latents = await encodeImageLatents(fakeEncoder('latent_parameters', 8), planes, 24, 16);
    expect(latents).toHaveLength(4 * 2 * 3);
    expect(Math.max(...latents)).toBeCloseTo(4 * 0.13025, 6); // logvar channels 5..8 dropped
  });

  it('feeds an fp16 encoder fp16 pixels', async () => {
    const encoder = fakeEncoder('latent_sample', 4, 'float16');
    await encodeImageLatents(encoder, planes, 24, 16);
    expect(encoder.fed?.type).toBe('float16');
    expect(halfToFloat32(encoder.fed?.data as Uint16Array)[0]).toBe(0.25);
  });

  it('names the shape it got when the export returns something else', async () => {
    await expect(
      encodeImageLatents(fakeEncoder('latent_sample', 3), planes, 24, 16),
    ).rejects.toThrow(/vae_encoder returned \[1,3,2,3\]/);
  });
});
