/**
 * The pipeline on real (tiny) ONNX graphs in Node, onnxruntime-web's wasm backend: the same
 * code the browser runs, and the reference the browser tests compare against.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode } from 'fast-png';
import { readParametersChunk } from '../pipeline/png-parameters';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { loadSdxlModel, type LoadedModel } from '../pipeline/model-loader.ts';
import { TextToImagePipeline, type TextToImageParams } from '../pipeline/text-to-image.ts';
import { directorySource, nodeSessionFactory } from './node-model.ts';

const root = mkdtempSync(path.join(tmpdir(), 'node-runner-'));
const dirs = { fp32: path.join(root, 'fp32'), fp16: path.join(root, 'fp16') };
const models: Partial<Record<'fp32' | 'fp16', LoadedModel>> = {};

beforeAll(async () => {
  writeModelSet(dirs.fp32, 'fp32');
  writeModelSet(dirs.fp16, 'fp16');
  // One at a time: onnxruntime-web 1.30 cannot create sessions with external data in parallel.
  models.fp32 = await loadSdxlModel(directorySource(dirs.fp32), nodeSessionFactory);
  models.fp16 = await loadSdxlModel(directorySource(dirs.fp16), nodeSessionFactory);
}, 60_000);

async function image(dtype: 'fp32' | 'fp16', overrides: Partial<TextToImageParams> = {}) {
  const model = models[dtype];
  if (!model) throw new Error('model not loaded');
  const params = {
    prompt: 'a photo of a cat',
    seed: 42,
    steps: 2,
    width: 256,
    height: 256,
    ...overrides,
  };
  return new TextToImagePipeline(model).generate(params);
}

/** Mean absolute difference of two RGBA8 images, in 0..255 units. */
function meanAbsDiff(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

describe('text-to-image in Node on the tiny models', () => {
  it('reads the graph dtypes from the sessions (fp32 with int64 ids; fp16 with int32 ids)', () => {
    expect(models.fp32?.dtype).toBe('float32');
    expect(models.fp16?.dtype).toBe('float16');
    expect(models.fp16?.textEncoder.inputs[0]).toMatchObject({ name: 'input_ids', type: 'int32' });
    expect(models.fp16?.unet.inputs.find((i) => i.name === 'timestep')).toMatchObject({
      type: 'float16',
    });
  });

  it('is deterministic for a seed, and prompt and seed both change the image', async () => {
    const a = await image('fp32');
    const again = await image('fp32');
    expect(meanAbsDiff(a.pixels, again.pixels)).toBe(0);
    expect(meanAbsDiff(a.pixels, (await image('fp32', { seed: 43 })).pixels)).toBeGreaterThan(5);
    expect(
      meanAbsDiff(a.pixels, (await image('fp32', { prompt: 'a red car' })).pixels),
    ).toBeGreaterThan(5);
  });

  it('the fp16 model gives an image close to the fp32 one', async () => {
    for (const steps of [1, 4]) {
      const fp32 = await image('fp32', { steps });
      const fp16 = await image('fp16', { steps });
      const diff = meanAbsDiff(fp32.pixels, fp16.pixels);
      console.log(`fp16 vs fp32, ${steps} step(s): mean abs diff ${diff.toFixed(3)} / 255`);
      expect(diff).toBeLessThan(2); // half-precision rounding only; another seed differs by > 5
    }
  });

  it('reports a time for every stage and every UNet step', async () => {
    const { timings } = await image('fp32', { steps: 3 });
    expect(timings.unetSteps).toHaveLength(3);
    for (const ms of [timings.tokenize, timings.textEncoders, timings.vaeDecode, timings.total]) {
      expect(ms).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('the cli command', () => {
  const cli = (...args: string[]) =>
    execFileSync('npx', ['tsx', 'src/cli/main.ts', ...args], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      encoding: 'utf8',
    });

  it("tokenize prints both tokenizers' 77 ids as one JSON object", () => {
    const out = JSON.parse(cli('tokenize', '--model', dirs.fp32, 'a photo of a cat')) as Record<
      string,
      number[]
    >;
    expect(Object.keys(out)).toEqual(['input_ids', 'input_ids_2']);
    expect(out['input_ids']?.slice(0, 8)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407, 49407]);
    expect(out['input_ids_2']?.slice(0, 8)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407, 0]);
    expect(out['input_ids']).toHaveLength(77);
  });

  it("generate writes the pipeline's image as a PNG and prints timings as JSON", async () => {
    const out = path.join(root, 'cat.png');
    const printed = JSON.parse(
      cli(
        'generate',
        '--model',
        dirs.fp32,
        '--prompt',
        'a photo of a cat',
        '--seed',
        '42',
        '--steps',
        '2',
        '--width',
        '256',
        '--height',
        '256',
        '--out',
        out,
      ),
    ) as { timings: { total: number }; dtype: string };
    expect(printed.dtype).toBe('float32');
    expect(printed.timings.total).toBeGreaterThan(0);
    const png = decode(readFileSync(out));
    expect([png.width, png.height, png.channels]).toEqual([256, 256, 4]);
    const expected = await image('fp32');
    expect(meanAbsDiff(new Uint8ClampedArray(png.data), expected.pixels)).toBe(0);
    // The same text chunks as the app's export: A1111 "parameters" and the JSON copy.
    expect(png.text['parameters']).toBe(
      `a photo of a cat\nSteps: 2, Sampler: Euler a, CFG scale: 0, Seed: 42, Noise: torch-cpu, Size: 256x256, Model: ${path.basename(dirs.fp32)}`,
    );
    expect(readParametersChunk(png.text)).toEqual({
      prompt: 'a photo of a cat',
      seed: 42,
      noise: 'torch-cpu',
      steps: 2,
      width: 256,
      height: 256,
      model: path.basename(dirs.fp32),
      modelUrl: dirs.fp32,
    });
  }, 60_000);

  it('rejects bad arguments with a message and a non-zero exit', () => {
    expect(() =>
      cli(
        'generate',
        '--model',
        dirs.fp32,
        '--prompt',
        'x',
        '--seed',
        'abc',
        '--out',
        '/tmp/x.png',
      ),
    ).toThrow(/--seed must be an integer/);
    expect(() =>
      cli(
        'generate',
        '--model',
        dirs.fp32,
        '--prompt',
        'x',
        '--seed',
        '1',
        '--steps',
        '7',
        '--out',
        '/tmp/x.png',
      ),
    ).toThrow(/steps must be 1..4/);
  }, 60_000);
});
