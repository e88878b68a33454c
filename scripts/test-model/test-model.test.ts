/**
 * Generates the test model set in both dtypes and runs every graph with onnxruntime-web's wasm
 * backend in Node: names, shapes, dtypes, finiteness, sensitivity to inputs, determinism, and
 * that a one-step text-to-image chain gives a usable image in fp32 and a close one in fp16.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalDataFiles, operatorTypes } from '../../src/pipeline/onnx/inspect.ts';
import { float32ToHalf, halfToFloat32 } from '../../src/pipeline/float16.ts';
import type { FloatType } from './onnx-builder.ts';
import { randn } from './random.ts';
import { CLIP_MERGE_COUNT as MERGE_COUNT } from '../../src/pipeline/tokenizer/clip-vocab.ts';
import { UNET_EXTERNAL_DATA, idsTypes, writeModelSet } from './write-model-set.ts';

ort.env.wasm.numThreads = 1;

/** Operators the networks may use: plain ai.onnx ops the WebGPU EP runs in fp32 and fp16. */
const ALLOWED_OPS = [
  'Gather', 'Add', 'Sub', 'Clip', 'Mul', 'Div', 'MatMul', 'Gemm', 'Tanh', 'Sigmoid', 'ReduceMean',
  'Reshape', 'Transpose', 'Concat', 'Conv', 'Resize', 'AveragePool', 'Cast', 'Unsqueeze',
  'Expand', 'Sin', 'Cos', 'Softmax', 'Shape', 'Slice',
].map((op) => `ai.onnx:${op}`); // prettier-ignore

const SIGMA_MAX = 14.6146;
const VAE_SCALE = 0.13025;
const LATENT = 16; // 128x128 images keep the chain fast
/** Generous: onnxruntime-web's wasm backend is slow on a loaded CI machine. */
const TIMEOUT_MS = 60_000;

function padded(ids: number[], pad: number): number[] {
  return [...ids, ...Array<number>(77 - ids.length).fill(pad)];
}
/** "a photo of a cat" and "a red car" as CLIP ids (BOS ... EOS). */
const CAT = [49406, 320, 1125, 539, 320, 2368, 49407];
const CAR = [49406, 320, 736, 1615, 49407];

const dirs: Record<FloatType, string> = { fp32: '', fp16: '' };
let root = '';

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'test-model-'));
  for (const dtype of ['fp32', 'fp16'] as const) {
    dirs[dtype] = path.join(root, dtype);
    writeModelSet(dirs[dtype], dtype);
  }
}, TIMEOUT_MS);

afterAll(async () => {
  for (const s of sessions.values()) await s.release();
  if (root) rmSync(root, { recursive: true, force: true });
});

function read(dtype: FloatType, relative: string): Uint8Array {
  return readFileSync(path.join(dirs[dtype], relative));
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) =>
      statSync(path.join(dir, name)).isDirectory()
        ? listFiles(path.join(dir, name), `${prefix}${name}/`)
        : [`${prefix}${name}`],
    );
}

function digest(dir: string): string {
  const hash = createHash('sha256');
  for (const file of listFiles(dir)) hash.update(file).update(readFileSync(path.join(dir, file)));
  return hash.digest('hex');
}

const sessions = new Map<string, ort.InferenceSession>();

// Sessions are created one at a time (tests run in sequence): onnxruntime-web mounts external
// data in one global table that any finishing session creation clears, so concurrent creates
// fail with "Module.MountedFiles is not available".
async function session(dtype: FloatType, graph: string): Promise<ort.InferenceSession> {
  const key = `${dtype}/${graph}`;
  const cached = sessions.get(key);
  if (cached) return cached;
  const options: ort.InferenceSession.SessionOptions = { executionProviders: ['wasm'] };
  if (graph === 'unet') {
    options.externalData = [
      { path: UNET_EXTERNAL_DATA, data: read(dtype, `unet/${UNET_EXTERNAL_DATA}`) },
    ];
  }
  const created = await ort.InferenceSession.create(read(dtype, `${graph}/model.onnx`), options);
  sessions.set(key, created);
  return created;
}

function floats(dtype: FloatType, values: ArrayLike<number>, dims: number[]): ort.Tensor {
  return dtype === 'fp16'
    ? new ort.Tensor('float16', float32ToHalf(values), dims)
    : new ort.Tensor('float32', Float32Array.from(values), dims);
}

function ids(type: 'int32' | 'int64', values: number[]): ort.Tensor {
  return type === 'int32'
    ? new ort.Tensor('int32', Int32Array.from(values), [1, 77])
    : new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, 77]);
}

function toFloat32(tensor: ort.Tensor): Float32Array {
  if (tensor.type === 'float16') return halfToFloat32(tensor.data as Uint16Array);
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  throw new Error(`unexpected output type ${tensor.type}`);
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function std(a: Float32Array): number {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
}

/** Runs a graph and checks every output's type, shape and finiteness. */
async function runChecked(
  s: ort.InferenceSession,
  dtype: FloatType,
  feeds: Record<string, ort.Tensor>,
  expected: Record<string, number[]>,
): Promise<Record<string, Float32Array>> {
  const out = await s.run(feeds);
  expect(Object.keys(out).sort()).toEqual(Object.keys(expected).sort());
  const result: Record<string, Float32Array> = {};
  for (const [name, dims] of Object.entries(expected)) {
    const tensor = out[name]!;
    expect(tensor.type, name).toBe(dtype === 'fp16' ? 'float16' : 'float32');
    expect(tensor.dims, name).toEqual(dims);
    const values = toFloat32(tensor);
    expect(values.every(Number.isFinite), `${name} is finite`).toBe(true);
    result[name] = values;
  }
  return result;
}

describe('tokenizer files', () => {
  it('hold the CLIP vocabulary and merges in HuggingFace format', () => {
    const vocab = JSON.parse(new TextDecoder().decode(read('fp32', 'tokenizer/vocab.json')));
    expect(Object.keys(vocab)).toHaveLength(49408);
    expect(vocab['!']).toBe(0);
    expect(vocab['a</w>']).toBe(320);
    expect(vocab['photo</w>']).toBe(1125);
    expect(vocab['of</w>']).toBe(539);
    expect(vocab['cat</w>']).toBe(2368);
    expect(vocab['<|startoftext|>']).toBe(49406);
    expect(vocab['<|endoftext|>']).toBe(49407);

    const merges = new TextDecoder().decode(read('fp32', 'tokenizer/merges.txt')).split('\n');
    expect(merges[0]).toBe('#version: 0.2');
    expect(merges[1]).toBe('i n');
    // Only the first line is a header: a few real merges start with '#' ("# #", "#</w>"...).
    expect(merges.slice(1).filter((line) => line !== '')).toHaveLength(MERGE_COUNT);
    expect(merges.filter((line) => line.startsWith('#')).length).toBeGreaterThan(1);

    const text = (relative: string) => new TextDecoder().decode(read('fp32', relative));
    expect(text('tokenizer_2/vocab.json')).toBe(text('tokenizer/vocab.json'));
    expect(JSON.parse(text('tokenizer/special_tokens_map.json')).pad_token).toBe('<|endoftext|>');
    expect(JSON.parse(text('tokenizer_2/special_tokens_map.json')).pad_token).toBe('!');
    const config = JSON.parse(text('tokenizer_2/tokenizer_config.json'));
    expect(config).toMatchObject({ model_max_length: 77, do_lower_case: true, pad_token: '!' });
  });
});

describe('model files', () => {
  it(
    'are the same bytes on every run',
    () => {
      const again = path.join(root, 'fp16-again');
      writeModelSet(again, 'fp16');
      expect(digest(again)).toBe(digest(dirs.fp16));
    },
    TIMEOUT_MS,
  );

  it('keep the UNet weights in one aligned external data file', () => {
    for (const dtype of ['fp32', 'fp16'] as const) {
      expect(externalDataFiles(read(dtype, 'unet/model.onnx'))).toEqual([UNET_EXTERNAL_DATA]);
      expect(read(dtype, 'unet/model.onnx').length).toBeLessThan(16_000);
      for (const graph of ['text_encoder', 'text_encoder_2', 'vae_decoder', 'vae_encoder']) {
        expect(externalDataFiles(read(dtype, `${graph}/model.onnx`))).toEqual([]);
      }
    }
  });

  it('use only WebGPU-friendly ai.onnx operators', () => {
    for (const dtype of ['fp32', 'fp16'] as const) {
      for (const graph of [
        'text_encoder',
        'text_encoder_2',
        'unet',
        'vae_decoder',
        'vae_encoder',
      ]) {
        for (const op of operatorTypes(read(dtype, `${graph}/model.onnx`))) {
          expect(ALLOWED_OPS, `${dtype} ${graph}`).toContain(op);
        }
      }
    }
  });

  it('are small', () => {
    const bytes = (dir: string) =>
      listFiles(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
    expect(bytes(dirs.fp32)).toBeLessThan(10_000_000);
    expect(bytes(dirs.fp16)).toBeLessThan(bytes(dirs.fp32));
  });
});

describe.each(['fp32', 'fp16'] as const)('%s graphs in onnxruntime-web (wasm)', (dtype) => {
  const idTypes = idsTypes(dtype);

  it(
    'text encoders: names, types, shapes; prompts give different states',
    async () => {
      const te1 = await session(dtype, 'text_encoder');
      const te2 = await session(dtype, 'text_encoder_2');
      expect(te1.inputNames).toEqual(['input_ids']);
      expect(te1.outputNames).toEqual(['last_hidden_state', 'pooler_output', 'hidden_states.11']);
      expect(te2.outputNames).toEqual(['text_embeds', 'last_hidden_state', 'hidden_states.31']);
      expect(te1.inputMetadata[0]).toMatchObject({ type: idTypes.textEncoder });
      expect(te2.inputMetadata[0]).toMatchObject({ type: 'int64' });

      const shapes1 = {
        last_hidden_state: [1, 77, 768],
        pooler_output: [1, 768],
        'hidden_states.11': [1, 77, 768],
      };
      const shapes2 = {
        text_embeds: [1, 1280],
        last_hidden_state: [1, 77, 1280],
        'hidden_states.31': [1, 77, 1280],
      };
      const cat1 = await runChecked(te1, dtype, { input_ids: ids(idTypes.textEncoder, padded(CAT, 49407)) }, shapes1); // prettier-ignore
      const car1 = await runChecked(te1, dtype, { input_ids: ids(idTypes.textEncoder, padded(CAR, 49407)) }, shapes1); // prettier-ignore
      const cat2 = await runChecked(
        te2,
        dtype,
        { input_ids: ids('int64', padded(CAT, 0)) },
        shapes2,
      );
      const car2 = await runChecked(
        te2,
        dtype,
        { input_ids: ids('int64', padded(CAR, 0)) },
        shapes2,
      );

      expect(meanAbsDiff(cat1['hidden_states.11']!, cat1['last_hidden_state']!)).toBeGreaterThan(
        0.2,
      );
      expect(meanAbsDiff(cat1['hidden_states.11']!, car1['hidden_states.11']!)).toBeGreaterThan(
        0.2,
      );
      expect(meanAbsDiff(cat1['pooler_output']!, car1['pooler_output']!)).toBeGreaterThan(0.2);
      expect(meanAbsDiff(cat2['hidden_states.31']!, car2['hidden_states.31']!)).toBeGreaterThan(
        0.2,
      );
      expect(meanAbsDiff(cat2['text_embeds']!, car2['text_embeds']!)).toBeGreaterThan(0.2);
      // The padding after the prompt carries the prompt, as with CLIP's causal attention.
      const lastPosition = (h: Float32Array) => h.subarray(76 * 1280);
      expect(
        meanAbsDiff(
          lastPosition(cat2['hidden_states.31']!),
          lastPosition(car2['hidden_states.31']!),
        ),
      ).toBeGreaterThan(0.2);
    },
    TIMEOUT_MS,
  );

  it(
    'unet: names, types, shapes; output depends on every input',
    async () => {
      const unet = await session(dtype, 'unet');
      expect([...unet.inputNames].sort()).toEqual(
        ['encoder_hidden_states', 'sample', 'text_embeds', 'time_ids', 'timestep'].sort(),
      );
      expect(unet.outputNames).toEqual(['out_sample']);
      const float = dtype === 'fp16' ? 'float16' : 'float32';
      for (const meta of unet.inputMetadata) expect(meta, meta.name).toMatchObject({ type: float });

      const base = {
        sample: randn(1, 4 * 8 * 12),
        timestep: [999],
        encoder_hidden_states: randn(2, 77 * 2048),
        text_embeds: randn(3, 1280),
        time_ids: [64, 96, 0, 0, 64, 96],
      };
      const dims = {
        sample: [1, 4, 8, 12],
        timestep: [1],
        encoder_hidden_states: [1, 77, 2048],
        text_embeds: [1, 1280],
        time_ids: [1, 6],
      };
      const run = async (changes: Partial<typeof base>) => {
        const values = { ...base, ...changes };
        const feeds = Object.fromEntries(
          Object.entries(values).map(([k, v]) => [
            k,
            floats(dtype, v, dims[k as keyof typeof dims]),
          ]),
        );
        return (await runChecked(unet, dtype, feeds, { out_sample: [1, 4, 8, 12] })).out_sample!;
      };
      // eps = sample + f(prompt, time): f is small next to the skip, as a real UNet's signal is
      // small next to the noise, so the conditioning inputs move eps by a few hundredths.
      const reference = await run({});
      expect(std(reference)).toBeGreaterThan(0.5);
      expect(std(reference)).toBeLessThan(3);
      expect(meanAbsDiff(reference, await run({ sample: randn(4, 4 * 8 * 12) }))).toBeGreaterThan(0.3); // prettier-ignore
      expect(meanAbsDiff(reference, await run({ timestep: [499] }))).toBeGreaterThan(0.01);
      expect(meanAbsDiff(reference, await run({ encoder_hidden_states: randn(5, 77 * 2048) }))).toBeGreaterThan(0.01); // prettier-ignore
      expect(meanAbsDiff(reference, await run({ text_embeds: randn(6, 1280) }))).toBeGreaterThan(0.01); // prettier-ignore
      expect(meanAbsDiff(reference, await run({ time_ids: [1024, 1024, 0, 0, 1024, 1024] }))).toBeGreaterThan(0.01); // prettier-ignore
      // Large inputs (later Euler steps) stay tame.
      const loud = await run({ sample: randn(7, 4 * 8 * 12, 15) });
      expect(Math.max(...loud.map(Math.abs))).toBeLessThan(100);
    },
    TIMEOUT_MS,
  );

  it(
    'vae decoder and encoder: names, types, shapes, range',
    async () => {
      const decoder = await session(dtype, 'vae_decoder');
      const encoder = await session(dtype, 'vae_encoder');
      expect(decoder.inputNames).toEqual(['latent_sample']);
      expect(decoder.outputNames).toEqual(['sample']);
      expect(encoder.inputNames).toEqual(['sample']);
      expect(encoder.outputNames).toEqual(['latent_sample']);

      const decode = async (seed: number) =>
        (
          await runChecked(
            decoder,
            dtype,
            { latent_sample: floats(dtype, randn(seed, 4 * 4 * 6, 1 / VAE_SCALE), [1, 4, 4, 6]) },
            { sample: [1, 3, 32, 48] },
          )
        ).sample!;
      const image = await decode(1);
      expect(image.every((v) => v > -1 && v < 1)).toBe(true);
      expect(std(image)).toBeGreaterThan(0.2);
      expect(meanAbsDiff(image, await decode(2))).toBeGreaterThan(0.1);

      const latents = await runChecked(
        encoder,
        dtype,
        { sample: floats(dtype, image, [1, 3, 32, 48]) },
        { latent_sample: [1, 4, 4, 6] },
      );
      expect(std(latents.latent_sample!)).toBeGreaterThan(1);
    },
    TIMEOUT_MS,
  );
});

/** One Euler step from pure noise at t=999 (SDXL Turbo, 1 step): image in [-1,1], NCHW. */
async function textToImage(
  dtype: FloatType,
  prompt: number[],
  seed: number,
): Promise<Float32Array> {
  const idTypes = idsTypes(dtype);
  const te1 = await session(dtype, 'text_encoder');
  const te2 = await session(dtype, 'text_encoder_2');
  const unet = await session(dtype, 'unet');
  const vae = await session(dtype, 'vae_decoder');
  const h1 = toFloat32((await te1.run({ input_ids: ids(idTypes.textEncoder, padded(prompt, 49407)) }))['hidden_states.11']!); // prettier-ignore
  const out2 = await te2.run({ input_ids: ids('int64', padded(prompt, 0)) });
  const h2 = toFloat32(out2['hidden_states.31']!);
  const hidden = new Float32Array(77 * 2048);
  for (let i = 0; i < 77; i++) {
    hidden.set(h1.subarray(i * 768, (i + 1) * 768), i * 2048);
    hidden.set(h2.subarray(i * 1280, (i + 1) * 1280), i * 2048 + 768);
  }
  const n = 4 * LATENT * LATENT;
  const x = randn(seed, n, SIGMA_MAX);
  const scale = 1 / Math.sqrt(SIGMA_MAX ** 2 + 1);
  const size = LATENT * 8;
  const eps = toFloat32(
    (
      await unet.run({
        sample: floats(
          dtype,
          x.map((v) => v * scale),
          [1, 4, LATENT, LATENT],
        ),
        timestep: floats(dtype, [999], [1]),
        encoder_hidden_states: floats(dtype, hidden, [1, 77, 2048]),
        text_embeds: floats(dtype, toFloat32(out2['text_embeds']!), [1, 1280]),
        time_ids: floats(dtype, [size, size, 0, 0, size, size], [1, 6]),
      })
    ).out_sample!,
  );
  const latents = x.map((v, i) => (v - SIGMA_MAX * eps[i]!) / VAE_SCALE);
  const image = (await vae.run({ latent_sample: floats(dtype, latents, [1, 4, LATENT, LATENT]) }))
    .sample!;
  expect(image.dims).toEqual([1, 3, size, size]);
  return toFloat32(image);
}

describe('one-step text-to-image chain', () => {
  it(
    'gives images that depend on prompt and seed, and fp16 close to fp32',
    async () => {
      const cat = await textToImage('fp32', CAT, 1);
      const car = await textToImage('fp32', CAR, 1);
      const otherSeed = await textToImage('fp32', CAT, 2);
      const cat16 = await textToImage('fp16', CAT, 1);
      expect(std(cat)).toBeGreaterThan(0.2);
      expect(meanAbsDiff(cat, new Float32Array(cat.length))).toBeLessThan(0.8); // not pinned at ±1
      expect(meanAbsDiff(cat, car)).toBeGreaterThan(0.1);
      expect(meanAbsDiff(cat, otherSeed)).toBeGreaterThan(0.1);
      expect(maxAbsDiff(cat, cat16)).toBeLessThan(0.05);
    },
    TIMEOUT_MS,
  );
});
