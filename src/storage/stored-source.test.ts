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
import {
  INLINE_WEIGHTS_LOCATION,
  loadSdxlModel,
  loadTokenizers,
  type LoadOptions,
  type ModelSource,
  type SessionFactory,
} from '../pipeline/model-loader.ts';
import { TextToImagePipeline } from '../pipeline/text-to-image.ts';
import { promisifyRequest } from 'idb-keyval';
import { toWorkerError } from '../worker/errors.ts';
import { ChunkStore, chunkKey, type StoredChunk } from './chunk-store.ts';
import { StoredChunkDamagedError } from './errors.ts';
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
function sameBytes(a: Uint8Array | Uint8ClampedArray, b: Uint8Array | Uint8ClampedArray): boolean {
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

describe('a stored graph with its weights inline, above the loader’s limit', () => {
  /** An image from the stored model, with the files read as bytes and each session's data. */
  async function storedImage(options: LoadOptions) {
    const source = storedSource(store, manifest);
    const readAsBytes: string[] = [];
    const watched: ModelSource = {
      ...source,
      readBytes: (file, onProgress) => {
        readAsBytes.push(file);
        return source.readBytes(file, onProgress);
      },
    };
    const data: Record<string, string[]> = {};
    const factory: SessionFactory = (graph, model, external) => {
      data[graph] = external.map((f) => f.path);
      return nodeSessionFactory(graph, model, external);
    };
    const model = await loadSdxlModel(watched, factory, () => {}, options);
    try {
      const params = { prompt: 'a photo of a cat', seed: 9, steps: 2, width: 128, height: 128 };
      const { pixels } = await new TextToImagePipeline(model).generate(params);
      return { pixels, readAsBytes, data };
    } finally {
      await model.release();
    }
  }

  it(
    'is read as a Blob, its weights handed on as slices of it, and gives the same image',
    async () => {
      const asStored = await storedImage({});
      const moved = await storedImage({ moveInlineAbove: 2 ** 20 });
      for (const graph of ['text_encoder', 'text_encoder_2']) {
        expect(files.get(`${graph}/model.onnx`)!.byteLength, graph).toBeGreaterThan(2 ** 21);
        expect(asStored.readAsBytes, graph).toContain(`${graph}/model.onnx`);
        expect(moved.readAsBytes, graph).not.toContain(`${graph}/model.onnx`);
      }
      expect(moved.data['textEncoder']).toEqual([INLINE_WEIGHTS_LOCATION]);
      expect(moved.data['textEncoder2']).toEqual([INLINE_WEIGHTS_LOCATION]);
      // A small graph is still read as bytes (and so checked chunk by chunk).
      expect(moved.readAsBytes).toContain('unet/model.onnx');
      expect(sameBytes(moved.pixels, asStored.pixels)).toBe(true);
    },
    TIMEOUT_MS * 2,
  );
});

describe('storedSource with a damaged store', () => {
  const DAMAGE_DB = 'stored-source-damage';
  let damaged: ChunkStore;
  let damagedManifest: Manifest;

  beforeAll(async () => {
    damaged = new ChunkStore({ dbName: DAMAGE_DB, chunkSize: 256 * 1024 });
    const found = await manifestFromBaseUrl(server.url('tiny/'), fetch, {
      id: 'tiny',
      displayName: 'Tiny',
    });
    ({ manifest: damagedManifest } = await downloadModel(found, {
      store: damaged,
      env: unlimitedStorageEnv,
    }).done);
  }, TIMEOUT_MS);

  afterAll(async () => {
    await damaged?.close();
  });

  /** Changes or removes one stored chunk behind the store's back (a bad disk, a cleared entry). */
  async function spoilChunk(filePath: string, index: number, how: 'flip' | 'delete') {
    const db = await promisifyRequest(indexedDB.open(DAMAGE_DB));
    const tx = db.transaction('chunks', 'readwrite');
    const chunks = tx.objectStore('chunks');
    const key = chunkKey('tiny', filePath, index);
    if (how === 'delete') chunks.delete(key);
    else {
      const chunk = (await promisifyRequest(chunks.get(key))) as StoredChunk;
      const bytes = new Uint8Array(await (chunk.data as Blob).arrayBuffer());
      bytes[100] = (bytes[100]! + 1) % 256; // same length, one byte off: only the CRC can tell
      chunks.put({ ...chunk, data: new Blob([bytes]) }, key);
    }
    await promisifyRequest(tx);
    db.close();
  }

  it(
    'a damaged graph chunk fails the load before any session, names file and chunk, and is fetched again',
    async () => {
      const graph = 'text_encoder/model.onnx';
      await spoilChunk(graph, 2, 'flip');
      const sessions: string[] = [];
      const error = await loadSdxlModel(storedSource(damaged, damagedManifest), async (name) => {
        sessions.push(name);
        return nodeSessionFactory(name, new Uint8Array(), []);
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoredChunkDamagedError);
      expect(sessions).toEqual([]); // nothing reached the runtime
      const message = (error as Error).message;
      expect(message).toContain('Tiny (stored in this browser)');
      expect(message).toContain(`${graph}: stored chunk 2 is missing or damaged`);
      expect(message).toContain('press Load model to download that part again');
      expect(toWorkerError(error).code).toBe('bad-model');

      // The file is no longer complete: the model is not offered as stored any more ...
      const status = await storedModelStatus(damaged, damagedManifest);
      expect(status.missing).toEqual([graph]);
      expect(await findStoredModel(damaged, 'tiny')).toBeNull();
      // ... and the next download fetches exactly the dropped chunk.
      server.requests.length = 0;
      const again = await downloadModel(damagedManifest, {
        store: damaged,
        env: unlimitedStorageEnv,
      }).done;
      expect(again.fetchedFiles).toEqual([graph]);
      expect(server.requests.map((r) => r.range)).toEqual([
        `bytes=${2 * 256 * 1024}-${3 * 256 * 1024 - 1}`,
      ]);
      expect(
        sameBytes(await storedSource(damaged, damagedManifest).readBytes(graph), files.get(graph)!),
      ).toBe(true);
    },
    TIMEOUT_MS,
  );

  it('a missing chunk of external data (read as a Blob) is named and marks the file incomplete', async () => {
    const data = 'unet/model.onnx_data';
    await spoilChunk(data, 1, 'delete');
    const source = storedSource(damaged, damagedManifest);
    await expect(source.readBlob(data)).rejects.toThrow(
      `${data}: stored chunk 1 is missing or cut short`,
    );
    expect((await storedModelStatus(damaged, damagedManifest)).missing).toEqual([data]);
    await downloadModel(damagedManifest, { store: damaged, env: unlimitedStorageEnv }).done;
    const blob = await storedSource(damaged, damagedManifest).readBlob(data);
    expect(sameBytes(new Uint8Array(await blob.arrayBuffer()), files.get(data)!)).toBe(true);
  });
});
