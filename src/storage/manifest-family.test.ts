/**
 * Manifests and model families: a custom URL's manifest names the family its config files say,
 * lists only that family's graphs (and every shard of sharded external data), a hosted
 * SDXL-Lightning manifest is what its model card lists, and a user's choice overrides.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { SDXL_LIGHTNING } from '../pipeline/families/sdxl-lightning.ts';
import { HOSTED_MODELS, SDXL_LIGHTNING_4STEP_FP16 } from './hosted-models.ts';
import { manifestBytes, manifestFromBaseUrl, parseManifest } from './manifest.ts';
import { startWeightServer, type WeightServer } from './testing/weight-server.ts';

describe('manifests of model families', () => {
  let dir = '';
  let server: WeightServer;
  const sizes = new Map<string, number>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'manifest-family-'));
    writeModelSet(dir, 'fp32', SDXL_LIGHTNING);
    const files: Record<string, Uint8Array> = {};
    const walk = (sub: string) => {
      for (const name of readdirSync(path.join(dir, sub))) {
        const relative = sub ? `${sub}/${name}` : name;
        if (statSync(path.join(dir, relative)).isDirectory()) walk(relative);
        else {
          files[`lightning/${relative}`] = readFileSync(path.join(dir, relative));
          sizes.set(relative, files[`lightning/${relative}`]!.byteLength);
        }
      }
    };
    walk('');
    server = await startWeightServer(files);
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a Lightning export at a URL: its family, three UNet shards, no VAE encoder asked for', async () => {
    const manifest = await manifestFromBaseUrl(server.url('lightning/'), fetch);
    expect(manifest.family).toBe('sdxl-lightning');
    const shards = manifest.files.filter((f) => f.role === 'external-data' && f.graph === 'unet');
    expect(shards.map((f) => f.path)).toEqual([
      'unet/model.onnx_data',
      'unet/model.onnx_data_1',
      'unet/model.onnx_data_2',
    ]);
    for (const f of shards) expect(f.bytes).toBe(sizes.get(f.path));
    expect(manifest.files.some((f) => f.graph === 'vaeEncoder')).toBe(false);
    expect(server.requests.some((r) => r.path.includes('vae_encoder'))).toBe(false);
  });

  it("the user's family choice wins over the config files", async () => {
    const manifest = await manifestFromBaseUrl(server.url('lightning/'), fetch, {
      family: 'sdxl-turbo',
    });
    expect(manifest.family).toBe('sdxl-turbo');
  });

  it('a manifest keeps its family through parsing, and refuses an unknown one', () => {
    const json = JSON.parse(JSON.stringify(SDXL_LIGHTNING_4STEP_FP16)) as Record<string, unknown>;
    expect(parseManifest(json).family).toBe('sdxl-lightning');
    expect(() => parseManifest({ ...json, family: 'sd15' })).toThrow(/manifest.family/);
    const { family: _omitted, ...older } = json;
    expect(parseManifest(older).family).toBeUndefined();
  });

  it("the hosted Lightning build is its model card's file list", () => {
    const m = SDXL_LIGHTNING_4STEP_FP16;
    expect(HOSTED_MODELS).toContain(m);
    expect(m.family).toBe('sdxl-lightning');
    const repo =
      'https://huggingface.co/Cyronius/sdxl-lightning-4step-onnx-web-fp16-3shard/resolve/main/';
    const own = m.files.filter((f) => f.url.startsWith(repo)).map((f) => f.path);
    expect(own).toEqual([
      'text_encoder/model.onnx', 'text_encoder/model.onnx_data',
      'text_encoder_2/model.onnx', 'text_encoder_2/model.onnx_data',
      'unet/model.onnx', 'unet/model.onnx_data', 'unet/model.onnx_data_1', 'unet/model.onnx_data_2',
      'vae_decoder/model.onnx', 'vae_decoder/model.onnx_data',
      'scheduler/scheduler_config.json', 'model_index.json',
    ]); // prettier-ignore
    // The card: shards of 2.00 + 2.00 + 1.13 GB, about 6.9 GB in all; no VAE encoder.
    const shard = (p: string) => m.files.find((f) => f.path === p)?.bytes;
    expect([shard('unet/model.onnx_data'), shard('unet/model.onnx_data_1')]).toEqual([2e9, 2e9]);
    expect(shard('unet/model.onnx_data_2')).toBe(1.13e9);
    expect(manifestBytes(m) / 1e9).toBeCloseTo(6.9, 1);
    expect(m.files.some((f) => f.graph === 'vaeEncoder')).toBe(false);
    // No size is trusted before the host confirms it.
    expect(m.files.every((f) => f.bytesApproximate)).toBe(true);
  });
});
