/**
 * The TAESD graphs we build, run on onnxruntime-web (wasm, in Node), against an independent
 * PyTorch implementation on the same random weights (scripts/fixtures/taesd-reference.py, width
 * 8, seed 20240516; both float32). Tolerance: |ours - torch| <= 1e-4 + 1e-4·|torch| per value.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { readSafetensors, type FloatTensor } from './safetensors.ts';
import {
  decoderLayers,
  encoderLayers,
  taesdDecoderFlops,
  taesdDecoderGraph,
  taesdEncoderGraph,
} from './taesd-graph.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const weights = readSafetensors(readFileSync(path.join(FIXTURES, 'taesd-random-w8.safetensors')));
const reference = readSafetensors(readFileSync(path.join(FIXTURES, 'taesd-reference.safetensors')));
const ref = (name: string): FloatTensor => reference.get(name)!;

async function run(model: Uint8Array, input: string, tensor: FloatTensor, output: string) {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    const out = await session.run({
      [input]: new ort.Tensor('float32', tensor.data, tensor.shape),
    });
    const result = out[output]!;
    return { dims: [...result.dims], data: result.data as Float32Array };
  } finally {
    await session.release();
  }
}

function worstExcess(actual: Float32Array, expected: Float32Array): number {
  let worst = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    worst = Math.max(worst, Math.abs(actual[i]! - e) - (1e-4 + 1e-4 * Math.abs(e)));
  }
  return worst;
}

describe('TAESD graphs', () => {
  it('decoder equals the PyTorch reference on the same random weights', async () => {
    const expected = ref('decoded');
    const out = await run(taesdDecoderGraph(weights), 'latent_sample', ref('latents'), 'sample');
    expect(out.dims).toEqual(expected.shape);
    expect(out.dims).toEqual([1, 3, 64, 64]);
    expect(worstExcess(out.data, expected.data)).toBeLessThanOrEqual(0);
  });

  it('encoder equals the PyTorch reference on the same random weights', async () => {
    const expected = ref('encoded');
    const out = await run(taesdEncoderGraph(weights), 'sample', ref('image'), 'latent_sample');
    expect(out.dims).toEqual([1, 4, 8, 8]);
    expect(worstExcess(out.data, expected.data)).toBeLessThanOrEqual(0);
  });

  it('the decoder clamps its input with tanh(z/3)*3: latents far past 3 decode as 3 does', async () => {
    const model = taesdDecoderGraph(weights);
    const fill = (v: number): FloatTensor => ({
      shape: [1, 4, 2, 2],
      data: new Float32Array(16).fill(v),
    });
    const [far, farther, near] = await Promise.all([
      run(model, 'latent_sample', fill(40), 'sample'),
      run(model, 'latent_sample', fill(400), 'sample'),
      run(model, 'latent_sample', fill(0.5), 'sample'),
    ]);
    expect(Array.from(far.data)).toEqual(Array.from(farther.data));
    expect(Array.from(near.data)).not.toEqual(Array.from(far.data));
  });

  it('names a missing or misshapen weight', () => {
    const missing = new Map(weights);
    missing.delete('decoder.layers.6.weight');
    expect(() => taesdDecoderGraph(missing, 'w.safetensors')).toThrow(/decoder\.layers\.6\.weight/);
    const misshapen = new Map(weights);
    misshapen.set('encoder.layers.14.bias', { shape: [3], data: new Float32Array(3) });
    expect(() => taesdEncoderGraph(misshapen)).toThrow(/\[3\], expected \[4\]/);
  });

  it('numbers the layers as diffusers does (19 decoder, 15 encoder layers)', () => {
    const decoder = decoderLayers();
    expect(decoder.filter((l) => l.kind === 'block')).toHaveLength(10);
    expect(decoder.filter((l) => l.kind === 'upsample')).toHaveLength(3);
    expect(decoder.at(-1)).toMatchObject({ kind: 'conv', index: 18, bias: true });
    expect(encoderLayers().at(-1)).toMatchObject({ kind: 'conv', index: 14, bias: true });
  });

  it('counts the decoder FLOPs: 3x3 convs of width 64, ~0.14 TFLOP at 512x512', () => {
    // Per output pixel of a stage at (s x s): 2·64·64·9 per conv; stage sizes 64, 128, 256, 512.
    const perConv = (side: number) => 2 * 64 * 64 * 9 * side * side;
    const expected =
      2 * 4 * 64 * 9 * 64 * 64 +
      9 * perConv(64) +
      perConv(128) +
      9 * perConv(128) +
      perConv(256) +
      9 * perConv(256) +
      perConv(512) +
      3 * perConv(512) +
      2 * 64 * 3 * 9 * 512 * 512;
    expect(taesdDecoderFlops(512, 512)).toBe(expected);
  });
});
