/**
 * Image-to-image on the tiny real ONNX models in Node (onnxruntime-web's wasm backend): the
 * same pipeline code the worker runs, and the reference the browser test compares against.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode, encode } from 'fast-png';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import type { RgbaImage } from '../pipeline/image-input.ts';
import { loadSdxlModel, type LoadedModel } from '../pipeline/model-loader.ts';
import {
  TextToImagePipeline,
  type InitImage,
  type TextToImageParams,
} from '../pipeline/text-to-image.ts';
import { directorySource, nodeSessionFactory } from './node-model.ts';
import { pngToRgba } from './png-image.ts';

const root = mkdtempSync(path.join(tmpdir(), 'img2img-'));
const dirs = {
  fp32: path.join(root, 'fp32'),
  fp16: path.join(root, 'fp16'),
  noEncoder: path.join(root, 'no-encoder'),
};
const models: Partial<Record<keyof typeof dirs, LoadedModel>> = {};

beforeAll(async () => {
  writeModelSet(dirs.fp32, 'fp32');
  writeModelSet(dirs.fp16, 'fp16');
  writeModelSet(dirs.noEncoder, 'fp32');
  rmSync(path.join(dirs.noEncoder, 'vae_encoder'), { recursive: true });
  // One at a time: onnxruntime-web 1.30 cannot create sessions with external data in parallel.
  for (const key of Object.keys(dirs) as Array<keyof typeof dirs>) {
    models[key] = await loadSdxlModel(directorySource(dirs[key]), nodeSessionFactory);
  }
}, 90_000);

/** 600×400, so that fitting to 256×256 has to crop: a colour ramp and a checkerboard. */
function pattern(variant: number): RgbaImage {
  const width = 600;
  const height = 400;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const checker = ((x >> (4 + variant)) + (y >> (4 + variant))) % 2;
      data[i] = variant ? 255 - (x * 255) / 599 : (x * 255) / 599;
      data[i + 1] = (y * 255) / 399;
      data[i + 2] = checker ? 230 : 20;
      data[i + 3] = 255;
    }
  }
  return { width, height, data };
}

const base: TextToImageParams = {
  prompt: 'a photo of a cat',
  seed: 42,
  steps: 2,
  width: 256,
  height: 256,
};

function pipeline(key: keyof typeof dirs = 'fp32') {
  const model = models[key];
  if (!model) throw new Error('model not loaded');
  return new TextToImagePipeline(model);
}

/** Mean absolute difference of two RGBA8 images, in 0..255 units. */
function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

describe('image-to-image in Node on the tiny models', () => {
  it('loads vae_encoder when the model set has one, and runs the diffusers timesteps', async () => {
    expect(models.fp32?.vaeEncoder).toBeDefined();
    expect(models.fp32?.vaeEncoderMissing).toBeNull();
    const out = await pipeline().generate({ ...base, strength: 0.5 }, {}, { image: pattern(0) });
    expect(out.timings.unetSteps).toHaveLength(1); // 2 steps × 0.5: timestep 499 only
    expect(out.timings.vaeEncode).toBeGreaterThan(0);
    expect(out.timings.imageCached).toBe(false);
  });

  it('differs from text-to-image for the same prompt and seed, and follows the input image', async () => {
    const p = pipeline();
    const textOnly = await p.generate(base);
    const fromA = await p.generate({ ...base, strength: 0.5 }, {}, { image: pattern(0) });
    const fromB = await p.generate({ ...base, strength: 0.5 }, {}, { image: pattern(1) });
    const vsText = meanAbsDiff(fromA.pixels, textOnly.pixels);
    const vsOtherImage = meanAbsDiff(fromA.pixels, fromB.pixels);
    console.log(
      `img2img vs text-to-image: ${vsText.toFixed(1)}; image A vs image B: ${vsOtherImage.toFixed(1)} (/255)`,
    );
    expect(vsText).toBeGreaterThan(5);
    expect(vsOtherImage).toBeGreaterThan(5);
    expect(textOnly.timings.vaeEncode).toBeUndefined();
  });

  it('is deterministic, and reuses the encoded image while only the prompt changes', async () => {
    const p = pipeline();
    const init: InitImage = { image: pattern(0), id: 7 };
    const first = await p.generate({ ...base, strength: 0.5 }, {}, init);
    const again = await p.generate({ ...base, strength: 0.5 }, {}, init);
    expect(again.timings.imageCached).toBe(true);
    expect(again.timings.vaeEncode).toBeLessThan(first.timings.vaeEncode!);
    expect(meanAbsDiff(first.pixels, again.pixels)).toBe(0);
    const otherPrompt = await p.generate({ ...base, prompt: 'a red car', strength: 0.5 }, {}, init);
    expect(otherPrompt.timings.imageCached).toBe(true);
    expect(otherPrompt.timings.promptCached).toBe(false);
    expect(meanAbsDiff(first.pixels, otherPrompt.pixels)).toBeGreaterThan(1);
    // The same pixels under no id hash to a key of their own, and give the same picture.
    const byHash = await new TextToImagePipeline(models.fp32!).generate(
      { ...base, strength: 0.5 },
      {},
      { image: pattern(0) },
    );
    expect(meanAbsDiff(first.pixels, byHash.pixels)).toBe(0);
  });

  it('strength 1 with all steps: every step runs, and the image matters less than at 0.5', async () => {
    const p = pipeline();
    const steps = 4;
    const textOnly = await p.generate({ ...base, steps });
    const run = (strength: number, variant: number) =>
      p.generate({ ...base, steps, strength }, {}, { image: pattern(variant) });
    const fullA = await run(1, 0);
    const fullB = await run(1, 1);
    const halfA = await run(0.5, 0);
    const halfB = await run(0.5, 1);
    expect(fullA.timings.unetSteps).toHaveLength(4);
    expect(halfA.timings.unetSteps).toHaveLength(2);
    const imageEffectFull = meanAbsDiff(fullA.pixels, fullB.pixels);
    const imageEffectHalf = meanAbsDiff(halfA.pixels, halfB.pixels);
    const fullVsText = meanAbsDiff(fullA.pixels, textOnly.pixels);
    const halfVsText = meanAbsDiff(halfA.pixels, textOnly.pixels);
    console.log(
      `image A vs B: strength 1 ${imageEffectFull.toFixed(1)}, 0.5 ${imageEffectHalf.toFixed(1)}; vs text-to-image: strength 1 ${fullVsText.toFixed(1)}, 0.5 ${halfVsText.toFixed(1)}`,
    );
    expect(imageEffectFull).toBeLessThan(imageEffectHalf);
    expect(fullVsText).toBeLessThan(halfVsText);
    for (const v of fullA.pixels) expect(Number.isFinite(v)).toBe(true);
  });

  it('refuses steps × strength below one step before doing any work', async () => {
    await expect(
      pipeline().generate({ ...base, steps: 1, strength: 0.5 }, {}, { image: pattern(0) }),
    ).rejects.toThrow(/less than one denoising step/);
    await expect(pipeline().generate(base, {}, { image: pattern(0) })).rejects.toThrow(
      /needs a strength/,
    );
  });

  it('the fp16 model gives an image close to the fp32 one', async () => {
    const params = { ...base, strength: 0.5 };
    const fp32 = await pipeline('fp32').generate(params, {}, { image: pattern(0) });
    const fp16 = await pipeline('fp16').generate(params, {}, { image: pattern(0) });
    const diff = meanAbsDiff(fp32.pixels, fp16.pixels);
    console.log(`img2img fp16 vs fp32: mean abs diff ${diff.toFixed(3)} / 255`);
    expect(diff).toBeLessThan(2);
  });

  it('a model set without vae_encoder loads, does text-to-image, and says why img2img cannot run', async () => {
    const model = models.noEncoder!;
    expect(model.vaeEncoder).toBeUndefined();
    expect(model.vaeEncoderMissing).toMatch(/vae_encoder[\\/]model\.onnx/);
    const p = pipeline('noEncoder');
    const textOnly = await p.generate(base);
    expect(textOnly.pixels).toHaveLength(256 * 256 * 4);
    await expect(p.generate({ ...base, strength: 0.5 }, {}, { image: pattern(0) })).rejects.toThrow(
      /no VAE encoder \(vae_encoder\/model\.onnx\)/,
    );
  });
});

describe('the cli with --image', () => {
  const cli = (...args: string[]) =>
    execFileSync('npx', ['tsx', 'src/cli/main.ts', ...args], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('reads a PNG, fits it to the size, and writes the same image as the pipeline', async () => {
    const input = path.join(root, 'input.png');
    const image = pattern(0);
    writeFileSync(input, encode({ ...image, channels: 4, depth: 8 }));
    expect(Array.from(pngToRgba(readFileSync(input)).data)).toEqual(Array.from(image.data));
    const out = path.join(root, 'img2img.png');
    const printed = JSON.parse(
      cli(
        'generate',
        '--model',
        dirs.fp32,
        '--prompt',
        base.prompt,
        '--seed',
        '42',
        '--steps',
        '2',
        '--width',
        '256',
        '--height',
        '256',
        '--image',
        input,
        '--strength',
        '0.5',
        '--out',
        out,
      ),
    ) as { params: { strength: number }; timings: { unetSteps: number[] } };
    expect(printed.params.strength).toBe(0.5);
    expect(printed.timings.unetSteps).toHaveLength(1);
    const png = decode(readFileSync(out));
    const expected = await pipeline().generate({ ...base, strength: 0.5 }, {}, { image });
    expect(meanAbsDiff(png.data, expected.pixels)).toBe(0);
  }, 60_000);

  it('rejects --strength without --image, and a bad strength', () => {
    const common = ['generate', '--model', dirs.fp32, '--prompt', 'x', '--seed', '1'];
    expect(() => cli(...common, '--strength', '0.5', '--out', '/tmp/x.png')).toThrow(
      /--strength needs --image/,
    );
    expect(() =>
      cli(...common, '--image', '/nonexistent.png', '--strength', 'lots', '--out', '/tmp/x.png'),
    ).toThrow(/--strength must be a number/);
  }, 60_000);
});
