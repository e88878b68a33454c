/**
 * The pipeline's device path (helper graphs for the concat, the Euler step and the pixels) on
 * onnxruntime-web's wasm backend: sessions that claim device outputs get the helpers, and the
 * image matches the host path's. The browser runs the same path with GPU-resident tensors.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { loadSdxlModel, type LoadedModel, type SessionFactory } from '../pipeline/model-loader.ts';
import { OrtGraphSession } from '../pipeline/ort/ort-session.ts';
import {
  SDXL_TURBO_DENOISE,
  TextToImagePipeline,
  type TextToImageParams,
} from '../pipeline/text-to-image.ts';
import { directorySource, nodeSessionFactory } from './node-model.ts';

const deviceSessionFactory: SessionFactory = async (_graph, model, externalData) => {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    externalData: externalData.map((f) => ({ path: f.path, data: f.data })),
    graphOptimizationLevel: 'all',
  });
  return new OrtGraphSession(ort, session, { deviceOutputs: true });
};

const models: Partial<Record<'host' | 'device' | 'deviceFp16' | 'hostFp16', LoadedModel>> = {};

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'gpu-resident-'));
  writeModelSet(path.join(root, 'fp32'), 'fp32');
  writeModelSet(path.join(root, 'fp16'), 'fp16');
  const fp32 = directorySource(path.join(root, 'fp32'));
  const fp16 = directorySource(path.join(root, 'fp16'));
  models.host = await loadSdxlModel(fp32, nodeSessionFactory);
  models.device = await loadSdxlModel(fp32, deviceSessionFactory);
  models.hostFp16 = await loadSdxlModel(fp16, nodeSessionFactory);
  models.deviceFp16 = await loadSdxlModel(fp16, deviceSessionFactory);
}, 120_000);

function maxAbsDiff(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const base: TextToImageParams = {
  prompt: 'a photo of a cat',
  seed: 42,
  steps: 3,
  width: 128,
  height: 192,
};

describe('the device path (helper graphs)', () => {
  it('is only taken by sessions that keep outputs on a device', () => {
    expect(models.host?.helpers).toBeUndefined();
    expect(models.device?.helpers).toBeDefined();
    expect(models.deviceFp16?.helpers).toBeDefined();
  });

  it.each([
    ['fp32', 'host', 'device'],
    ['fp16', 'hostFp16', 'deviceFp16'],
  ] as const)('gives the host path image (%s, 1-4 steps)', async (_dtype, host, device) => {
    for (const steps of [1, 2, 4]) {
      const params = { ...base, steps };
      const a = await new TextToImagePipeline(models[host]!).generate(params);
      const b = await new TextToImagePipeline(models[device]!).generate(params);
      expect(b.timings.gpuResident).toBe(true);
      expect(b.timings.unetSteps).toHaveLength(steps);
      expect(maxAbsDiff(a.pixels, b.pixels)).toBeLessThanOrEqual(1);
    }
  });

  it('reuses a cached prompt and still matches', async () => {
    const pipeline = new TextToImagePipeline(models.device!);
    const first = await pipeline.generate(base);
    const again = await pipeline.generate({ ...base, seed: 7 });
    expect(again.timings.promptCached).toBe(true);
    const host = await new TextToImagePipeline(models.host!).generate({ ...base, seed: 7 });
    expect(maxAbsDiff(again.pixels, host.pixels)).toBeLessThanOrEqual(1);
    expect(maxAbsDiff(first.pixels, again.pixels)).toBeGreaterThan(0);
    pipeline.dispose();
  });

  it.each([
    ['fp32', 'host', 'device'],
    ['fp16', 'hostFp16', 'deviceFp16'],
  ] as const)(
    'runs the Euler discrete scheduler (SDXL-Lightning) too: the host path image (%s)',
    async (_dtype, host, device) => {
      const discrete = { ...SDXL_TURBO_DENOISE, scheduler: 'euler-discrete' as const };
      for (const steps of [1, 2, 4]) {
        const params = { ...base, steps };
        const a = await new TextToImagePipeline(models[host]!, discrete).generate(params);
        const b = await new TextToImagePipeline(models[device]!, discrete).generate(params);
        expect(b.timings.gpuResident).toBe(true);
        expect(maxAbsDiff(a.pixels, b.pixels)).toBeLessThanOrEqual(1);
        // One step from sigma_max to 0 is the same step for both schedulers; more are not.
        const ancestral = await new TextToImagePipeline(models[device]!).generate(params);
        if (steps === 1) expect(maxAbsDiff(ancestral.pixels, b.pixels)).toBe(0);
        else expect(maxAbsDiff(ancestral.pixels, b.pixels)).toBeGreaterThan(1);
      }
    },
  );
});
