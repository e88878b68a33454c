/**
 * `cli convert` on the project's tiny fp32 test model, run on onnxruntime-web's wasm EP in
 * Node: the converted model (fp16 text encoders and UNet, fp32 VAEs) against the fp32 original,
 * for the UNet's output and for the final image, with the tolerances stated below.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { randn } from '../../scripts/test-model/random.ts';
import { float32ToHalf, halfToFloat32 } from '../pipeline/float16.ts';
import { loadSdxlModel, type LoadedModel } from '../pipeline/model-loader.ts';
import { graphInputs, operatorTypes } from '../pipeline/onnx/inspect.ts';
import { operatorsMissingOnWebGpu } from '../pipeline/onnx/webgpu-operators.ts';
import { TextToImagePipeline } from '../pipeline/text-to-image.ts';
import { convertModelDirectory, type GraphConversionSummary } from './convert-model.ts';
import { directorySource, nodeSessionFactory } from './node-model.ts';

const root = mkdtempSync(path.join(tmpdir(), 'convert-model-'));
const fp32Dir = path.join(root, 'fp32');
const fp16Dir = path.join(root, 'fp16');
let summaries: GraphConversionSummary[] = [];
const models: { fp32?: LoadedModel; fp16?: LoadedModel } = {};

beforeAll(async () => {
  writeModelSet(fp32Dir, 'fp32');
  summaries = await convertModelDirectory(fp32Dir, fp16Dir);
  models.fp32 = await loadSdxlModel(directorySource(fp32Dir), nodeSessionFactory);
  models.fp16 = await loadSdxlModel(directorySource(fp16Dir), nodeSessionFactory);
}, 120_000);

afterAll(async () => {
  await models.fp32?.release();
  await models.fp16?.release();
});

function differences(a: ArrayLike<number>, b: ArrayLike<number>) {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

const graphFile = (dir: string, graph: string) =>
  new Uint8Array(readFileSync(path.join(dir, graph, 'model.onnx')));

describe('cli convert on the tiny fp32 model', () => {
  it('converts text encoders and UNet to fp16, keeps the VAEs, passes the WebGPU check', () => {
    expect(summaries.map((s) => s.graph)).toEqual(['text_encoder', 'text_encoder_2', 'unet']);
    expect(models.fp16?.dtype).toBe('float16');
    for (const graph of ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder']) {
      expect(operatorsMissingOnWebGpu(operatorTypes(graphFile(fp16Dir, graph)))).toEqual([]);
    }
    const unetInputs = graphInputs(graphFile(fp16Dir, 'unet'));
    expect(unetInputs.find((i) => i.name === 'sample')?.elemType).toBe(10);
    expect(graphInputs(graphFile(fp16Dir, 'vae_decoder'))[0]?.elemType).toBe(1);
    const unetBytes = summaries.find((s) => s.graph === 'unet')!;
    expect(unetBytes.outputBytes).toBeLessThan(unetBytes.sourceBytes * 0.55);
  });

  it('UNet output: fp16 within 2e-3 mean / 1e-2 max of fp32', async () => {
    const feeds = (dtype: 'float32' | 'float16') => {
      const tensor = (data: Float32Array, dims: number[]) =>
        dtype === 'float32'
          ? new ort.Tensor('float32', data, dims)
          : new ort.Tensor('float16', float32ToHalf(data), dims);
      return {
        sample: tensor(randn(1, 4 * 32 * 32), [1, 4, 32, 32]),
        timestep: tensor(new Float32Array([999]), [1]),
        encoder_hidden_states: tensor(randn(2, 77 * 2048, 0.5), [1, 77, 2048]),
        text_embeds: tensor(randn(3, 1280, 0.5), [1, 1280]),
        time_ids: tensor(new Float32Array([512, 512, 0, 0, 512, 512]), [1, 6]),
      };
    };
    const run = async (dir: string, dtype: 'float32' | 'float16') => {
      ort.env.wasm.numThreads = 1;
      const session = await ort.InferenceSession.create(graphFile(dir, 'unet'), {
        executionProviders: ['wasm'],
        externalData: [
          {
            path: 'model.onnx_data',
            data: new Uint8Array(readFileSync(path.join(dir, 'unet', 'model.onnx_data'))),
          },
        ],
      });
      try {
        const out = (await session.run(feeds(dtype)))['out_sample']!;
        return dtype === 'float16'
          ? halfToFloat32(out.data as Uint16Array)
          : (out.data as Float32Array);
      } finally {
        await session.release();
      }
    };
    const reference = await run(fp32Dir, 'float32');
    const half = await run(fp16Dir, 'float16');
    const { mean, max } = differences(reference, half);
    console.log(
      `tiny UNet fp16 vs fp32: mean |d| ${mean.toExponential(2)}, max ${max.toExponential(2)}`,
    );
    expect(half.length).toBe(4 * 32 * 32);
    expect(mean).toBeLessThan(2e-3);
    expect(max).toBeLessThan(1e-2);
  });

  it('image: fp16 within 0.5/255 mean and 4/255 max of fp32 (2 steps, 256x256)', async () => {
    const params = { prompt: 'a photo of a cat', seed: 42, steps: 2, width: 256, height: 256 };
    const reference = await new TextToImagePipeline(models.fp32!).generate(params);
    const half = await new TextToImagePipeline(models.fp16!).generate(params);
    const { mean, max } = differences(reference.pixels, half.pixels);
    console.log(`tiny image fp16 vs fp32: mean |d| ${mean.toFixed(3)}/255, max ${max}/255`);
    expect(half.pixels.length).toBe(256 * 256 * 4);
    expect(mean).toBeLessThan(0.5);
    expect(max).toBeLessThanOrEqual(4);
  });
});
