import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/pipeline/taesd/safetensors.ts';
import { taesdChannels, taesdDecoderGraph } from '../../src/pipeline/taesd/taesd-graph.ts';
import { testTaesdWeights } from './taesd-weights.ts';

describe('test model set: TAESDXL weights', () => {
  it('are deterministic, narrow, and build a decoder that turns latents into [-1,1]-sized images', async () => {
    const bytes = testTaesdWeights();
    expect(Buffer.from(bytes).equals(Buffer.from(testTaesdWeights()))).toBe(true);
    const weights = readSafetensors(bytes);
    expect(taesdChannels(weights, 'decoder')).toBe(4);
    expect(taesdChannels(weights, 'encoder')).toBe(4);
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(taesdDecoderGraph(weights), {
      executionProviders: ['wasm'],
    });
    const latents = Float32Array.from({ length: 4 * 4 * 4 }, (_, i) => Math.sin(i));
    const out = await session.run({
      latent_sample: new ort.Tensor('float32', latents, [1, 4, 4, 4]),
    });
    await session.release();
    const image = out['sample']!;
    expect(image.dims).toEqual([1, 3, 32, 32]);
    const data = image.data as Float32Array;
    expect(data.every(Number.isFinite)).toBe(true);
    // Random weights: not a picture, but of the decoder's scale and not constant.
    expect(Math.max(...data) - Math.min(...data)).toBeGreaterThan(0.01);
    expect(Math.max(...data.map(Math.abs))).toBeLessThan(20);
  });
});
