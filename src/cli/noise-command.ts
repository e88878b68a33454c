/**
 * `cli noise --seed N --shape 1,4,64,64 [--draws K] [--noise torch-cpu|mulberry32]`: the first K
 * draws of a seeded generator, each one randn call of that shape, every value, as JSON
 * `{"draws": [[...], ...]}`. With torch-cpu (the default) draw k is what
 * `torch.randn(shape, generator=g)` returns on its k-th call after
 * `g = torch.Generator("cpu").manual_seed(N)`; text-to-image uses draw 1 (times sigma_max) as
 * its starting latents and draw k + 1 as step k's noise.
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_NOISE_GENERATOR,
  NOISE_GENERATORS,
  createNoise,
  isNoiseGeneratorName,
} from '../pipeline/noise/noise-generators.ts';

export const NOISE_USAGE = `cli noise --seed N --shape D1,D2,... [--draws K] [--noise ${NOISE_GENERATORS.join('|')}]`;

/** The largest number of values printed at once (16 draws of a 1024x1024 latent). */
const MAX_VALUES = 16 * 4 * 128 * 128;

/** The command's output text (one JSON line); throws RangeError on bad arguments. */
export function noiseCommand(args: string[]): string {
  const { values } = parseArgs({
    args,
    options: {
      seed: { type: 'string' },
      shape: { type: 'string' },
      draws: { type: 'string' },
      noise: { type: 'string' },
    },
  });
  const seed = Number(values.seed);
  if (values.seed === undefined || values.seed.trim() === '' || !Number.isInteger(seed)) {
    throw new RangeError(`--seed must be an integer, got ${JSON.stringify(values.seed)}`);
  }
  if (values.shape === undefined) throw new RangeError('--shape is required, e.g. 1,4,64,64');
  const shape = values.shape.split(',').map((d) => Number(d.trim()));
  if (shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`--shape must be positive integers joined by commas, got ${values.shape}`);
  }
  const draws = values.draws === undefined ? 1 : Number(values.draws);
  if (!Number.isInteger(draws) || draws < 1) {
    throw new RangeError(`--draws must be a positive integer, got ${values.draws}`);
  }
  const generator = values.noise ?? DEFAULT_NOISE_GENERATOR;
  if (!isNoiseGeneratorName(generator)) {
    throw new RangeError(`--noise must be one of ${NOISE_GENERATORS.join(', ')}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count * draws > MAX_VALUES) {
    throw new RangeError(
      `${count * draws} values is more than this command prints (${MAX_VALUES})`,
    );
  }
  const noise = createNoise(generator, seed); // range-checks the seed
  const out = Array.from({ length: draws }, () => Array.from(noise.sample(count)));
  return `${JSON.stringify({ draws: out })}\n`;
}
