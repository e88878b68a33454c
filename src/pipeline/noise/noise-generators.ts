/**
 * The seeded Gaussian noise generators a generation can use, by the name a PNG's parameters
 * record. A seed only means an image together with its generator.
 */
import { GaussianNoise } from '../random.ts';
import { TorchCpuNoise } from './torch-cpu-noise.ts';

/**
 * - `torch-cpu`: `torch.randn` on a `torch.Generator("cpu").manual_seed(seed)`, as diffusers
 *   draws with a CPU generator (torch-cpu-noise.ts). The default.
 * - `mulberry32`: this app's first generator (random.ts), kept so that every image made with it
 *   (whose PNG parameters carry no generator name) can be made again.
 */
export const NOISE_GENERATORS = ['torch-cpu', 'mulberry32'] as const;
export type NoiseGeneratorName = (typeof NOISE_GENERATORS)[number];

/** What new images use. */
export const DEFAULT_NOISE_GENERATOR: NoiseGeneratorName = 'torch-cpu';
/** What an image whose parameters name no generator was made with (all before torch-cpu). */
export const UNNAMED_NOISE_GENERATOR: NoiseGeneratorName = 'mulberry32';

export function isNoiseGeneratorName(value: unknown): value is NoiseGeneratorName {
  return NOISE_GENERATORS.includes(value as NoiseGeneratorName);
}

/** Consecutive draws of standard normal noise: each call is one draw of `count` values. */
export interface NoiseSource {
  sample(count: number): Float32Array;
}

export function createNoise(name: NoiseGeneratorName, seed: number): NoiseSource {
  switch (name) {
    case 'torch-cpu':
      return new TorchCpuNoise(seed);
    case 'mulberry32':
      return new GaussianNoise(seed);
    default: {
      const unknown: never = name;
      throw new RangeError(`unknown noise generator ${String(unknown)}`);
    }
  }
}
