/**
 * A model downloaded into the chunk store loads through the pipeline's loader from there: the
 * stored source serves text, bytes and Blobs, and onnxruntime-web (wasm, in Node) creates every
 * session from what it serves.
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { nodeSessionFactory } from '../cli/node-model.ts';
import { loadSdxlModel, loadTokenizers } from '../pipeline/model-loader.ts';
import { ChunkStore } from './chunk-store.ts';
import { downloadModel } from './download-manager.ts';
import { manifestFromBaseUrl, type Manifest } from './manifest.ts';
import { reshardingSessionFactory } from './reshard.ts';
import {
  StoredFileMissingError,
  findStoredModel,
  storedModelStatus,
  storedSource,
} from './stored-source.ts';
import { startWeightServer, type WeightServer } from './testing/weight-server.ts';
import { unlimitedStorageEnv } from './storage-env.ts';

const TIMEOUT_MS = 60_000;
ort.env.wasm.numThreads = 1;

let dir = '';
let server: WeightServer;
let store: ChunkStore;
let manifest: Manifest;
const files = new Map<string, Uint8Array>();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stored-source-test-'));
  writeModelSet(dir, 'fp32');
  const served: Record<string, Uint8Array> = {};
  const walk = (sub: string) => {
    for (const name of readdirSync(path.join(dir, sub))) {
      const relative = sub ? `${sub}/${name}` : name;
      if (statSync(path.join(dir, relative)).isDirectory()) walk(relative);
      else {
        files.set(relative, new Uint8Array(readFileSync(path.join(dir, relative))));
        served[`tiny/${relative}`] = files.get(relative)!;
      }
    }
  };
  walk('');
  server = await startWeightServer(served);
  store = new ChunkStore({ dbName: 'stored-source-test', chunkSize: 256 * 1024 });
  const found = await manifestFromBaseUrl(server.url('tiny/'), fetch, {
    id: 'tiny',
    displayName: 'Tiny',
  });
  ({ manifest } = await downloadModel(found, { store, env: unlimitedStorageEnv }).done);
}, TIMEOUT_MS);

afterAll(async () => {
  await store?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Byte equality without a deep-equal walk over every element (slow on large arrays). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

describe('storedSource', () => {
  it('says the stored model is complete', async () => {
    const status = await storedModelStatus(store, manifest);
    expect(status).toMatchObject({ complete: true, missing: [] });
    expect(status.storedBytes).toBe(status.totalBytes);
  });

  it('serves text, bytes and Blobs equal to the files', async () => {
    const source = storedSource(store, manifest);
    expect(await source.readText('tokenizer/merges.txt')).toBe(
      new TextDecoder().decode(files.get('tokenizer/merges.txt')),
    );
    let reported: [number, number] | null = null;
    const graph = await source.readBytes(
      'unet/model.onnx',
      (loaded, total) => (reported = [loaded, total]),
    );
    expect(sameBytes(graph, files.get('unet/model.onnx')!)).toBe(true);
    expect(reported).toEqual([graph.byteLength, graph.byteLength]);
    const blob = await source.readBlob('unet/model.onnx_data');
    expect(blob.size).toBe(files.get('unet/model.onnx_data')!.byteLength);
    expect(
      sameBytes(new Uint8Array(await blob.arrayBuffer()), files.get('unet/model.onnx_data')!),
    ).toBe(true);
    expect(source.locate('unet/model.onnx')).toBe('Tiny (stored in this browser): unet/model.onnx');
  });

  it('finds the stored model by its base URL or id', async () => {
    expect((await findStoredModel(store, server.url('tiny')))?.id).toBe('tiny');
    expect((await findStoredModel(store, 'tiny'))?.baseUrl).toBe(server.url('tiny/'));
    expect(await findStoredModel(store, server.url('other/'))).toBeNull();
  });

  it('reports a file that is not stored as missing (so optional files read as absent)', async () => {
    const source = storedSource(store, manifest);
    await expect(source.readText('tokenizer/added_tokens.json')).rejects.toBeInstanceOf(
      StoredFileMissingError,
    );
    const partial = { ...manifest, id: 'never-downloaded' };
    await expect(storedSource(store, partial).readBytes('unet/model.onnx')).rejects.toThrow(
      /unet\/model\.onnx: unet\/model\.onnx of model never-downloaded is not stored in this browser/,
    );
    expect((await storedModelStatus(store, partial)).missing).toContain('unet/model.onnx');
  });

  it(
    'loads the tokenizers and every session of the model from the store',
    async () => {
      const source = storedSource(store, manifest);
      const { tokenizer } = await loadTokenizers(source);
      expect(tokenizer.encode('a photo of a cat').slice(0, 7)).toEqual([
        49406, 320, 1125, 539, 320, 2368, 49407,
      ]);
      const model = await loadSdxlModel(source, nodeSessionFactory);
      try {
        expect(model.dtype).toBe('float32');
        expect(model.unet.outputs.map((o) => o.name)).toEqual(['out_sample']);
      } finally {
        await model.release();
      }
    },
    TIMEOUT_MS,
  );

  it(
    'hands the UNet weights to onnxruntime-web as Blob slices (the proposed readBlob path)',
    async () => {
      const source = storedSource(store, manifest);
      const graph = await source.readBytes('unet/model.onnx');
      const data = await source.readBlob('unet/model.onnx_data');
      let shards: string[] = [];
      const create = reshardingSessionFactory(
        async (
          _graph: string,
          model: Uint8Array,
          externalData: Array<{ path: string; data: Blob }>,
        ) => {
          shards = externalData.map((f) => f.path);
          return ort.InferenceSession.create(model, { executionProviders: ['wasm'], externalData });
        },
        300_000,
      );
      const session = await create('unet', graph, [{ path: 'model.onnx_data', data }]);
      try {
        expect(shards.length).toBeGreaterThan(1);
        expect(session.outputNames).toEqual(['out_sample']);
      } finally {
        await session.release();
      }
    },
    TIMEOUT_MS,
  );
});
