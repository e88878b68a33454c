/**
 * TAESDXL previews in the pipeline, on the tiny models (their taesdxl/ weights are random, width
 * 4) with onnxruntime-web's wasm backend: the host path, and the device path (helper graphs;
 * sessions that claim device outputs, as in gpu-resident.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { loadSdxlModel, type LoadedModel, type SessionFactory } from '../pipeline/model-loader.ts';
import { OrtGraphSession } from '../pipeline/ort/ort-session.ts';
import {
  TextToImagePipeline,
  type StepPreview,
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

type Kind = 'host' | 'device' | 'deviceFp16' | 'noTaesd';
const models: Partial<Record<Kind, LoadedModel>> = {};

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'taesd-previews-'));
  writeModelSet(path.join(root, 'fp32'), 'fp32');
  writeModelSet(path.join(root, 'fp16'), 'fp16');
  writeModelSet(path.join(root, 'bare'), 'fp32');
  rmSync(path.join(root, 'bare', 'taesdxl'), { recursive: true });
  const fp32 = directorySource(path.join(root, 'fp32'));
  models.host = await loadSdxlModel(fp32, nodeSessionFactory);
  models.device = await loadSdxlModel(fp32, deviceSessionFactory);
  models.deviceFp16 = await loadSdxlModel(
    directorySource(path.join(root, 'fp16')),
    deviceSessionFactory,
  );
  models.noTaesd = await loadSdxlModel(
    directorySource(path.join(root, 'bare')),
    nodeSessionFactory,
  );
}, 180_000);

function maxAbsDiff(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const base: TextToImageParams = {
  prompt: 'a photo of a cat',
  seed: 42,
  steps: 1,
  width: 64,
  height: 64,
};

describe('TAESDXL previews', () => {
  it('loads the decoder when the set has taesdxl/, and says why not when it has none', () => {
    expect(models.host?.taesdDecoder).toBeDefined();
    expect(models.device?.helpers?.taesdPixels).toBeDefined();
    // fp16 VAE: TAESDXL's float32 image needs its own pixels graph.
    expect(models.deviceFp16?.helpers?.taesdPixels).not.toBe(models.deviceFp16?.helpers?.pixels);
    expect(models.noTaesd?.taesdDecoder).toBeUndefined();
    expect(models.noTaesd?.taesdMissing).toMatch(/taesdxl/);
  });

  it('decodes with TAESDXL: the same picture on the host and on the device, not the VAE one', async () => {
    const host = await new TextToImagePipeline(models.host!).generate(base, { decoder: 'taesd' });
    const device = await new TextToImagePipeline(models.device!).generate(base, {
      decoder: 'taesd',
    });
    const vae = await new TextToImagePipeline(models.host!).generate(base);
    expect(host.decoder).toBe('taesd');
    expect(device.decoder).toBe('taesd');
    expect(vae.decoder).toBe('vae');
    expect(maxAbsDiff(host.pixels, device.pixels)).toBeLessThanOrEqual(1);
    expect(maxAbsDiff(host.pixels, vae.pixels)).toBeGreaterThan(8);
  });

  it.each(['host', 'device', 'deviceFp16'] as const)(
    'then decodes the same latents with the full VAE without the UNet, equal to a full run (%s)',
    async (kind) => {
      const params = { ...base, steps: 2 };
      const pipeline = new TextToImagePipeline(models[kind]!);
      await pipeline.generate(params, { decoder: 'taesd' });
      const full = await pipeline.generate(params, { decoder: 'vae' });
      expect(full.decoder).toBe('vae');
      expect(full.timings.latentsReused).toBe(true);
      expect(full.timings.unetSteps).toEqual([]);
      const fresh = await new TextToImagePipeline(models[kind]!).generate(params);
      expect(fresh.timings.latentsReused).toBeUndefined();
      expect(maxAbsDiff(full.pixels, fresh.pixels)).toBeLessThanOrEqual(kind === 'host' ? 0 : 1);
      // Another prompt's latents are not reused.
      const other = await pipeline.generate({ ...params, prompt: 'a dog' });
      expect(other.timings.latentsReused).toBeUndefined();
      pipeline.dispose();
    },
  );

  it('does not reuse latents drawn with another noise generator', async () => {
    const params = { ...base, steps: 2 };
    const pipeline = new TextToImagePipeline(models.host!);
    await pipeline.generate({ ...params, noise: 'torch-cpu' }, { decoder: 'taesd' });
    const other = await pipeline.generate({ ...params, noise: 'mulberry32' });
    expect(other.timings.latentsReused).toBeUndefined();
    const fresh = await new TextToImagePipeline(models.host!).generate({
      ...params,
      noise: 'mulberry32',
    });
    expect(maxAbsDiff(other.pixels, fresh.pixels)).toBe(0);
  });

  it('with 2-4 steps, hands over a TAESDXL picture after every step but the last', async () => {
    const collect = async (kind: Kind, steps: number) => {
      const previews: StepPreview[] = [];
      await new TextToImagePipeline(models[kind]!).generate(
        { ...base, steps },
        { decoder: 'taesd', onStepPreview: (p) => previews.push(p) },
      );
      return previews;
    };
    const host = await collect('host', 3);
    expect(host.map((p) => `${p.step}/${p.steps}`)).toEqual(['1/3', '2/3']);
    for (const p of host) expect(p.pixels.length).toBe(64 * 64 * 4);
    expect(maxAbsDiff(host[0]!.pixels, host[1]!.pixels)).toBeGreaterThan(0);
    // The device computes the estimate x - sigma·eps with the step graph; the host in JS.
    const device = await collect('device', 3);
    expect(device).toHaveLength(2);
    for (let i = 0; i < 2; i++)
      expect(maxAbsDiff(host[i]!.pixels, device[i]!.pixels)).toBeLessThanOrEqual(1);
    expect(await collect('host', 1)).toEqual([]);
    expect(await collect('noTaesd', 3)).toEqual([]);
  });

  it('falls back to the full VAE where the model has no TAESDXL', async () => {
    const image = await new TextToImagePipeline(models.noTaesd!).generate(base, {
      decoder: 'taesd',
    });
    expect(image.decoder).toBe('vae');
  });
});
