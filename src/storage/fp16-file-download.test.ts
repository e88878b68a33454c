/**
 * Files marked storeAs fp16, downloaded from a local host into the chunk store (fake IndexedDB):
 * stored converted (byte for byte what `cli convert` writes), resumed mid-file without
 * fetching stored bytes again, and recognised as stored afterwards.
 */
import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convertModelToFloat16 } from '../pipeline/onnx/fp16-convert.ts';
import {
  ExternalDataConverter,
  resumePoint,
  type ExternalFileLayout,
} from '../pipeline/onnx/fp16-external-data.ts';
import { patternUnet } from '../pipeline/onnx/testing/sdxl-patterns.ts';
import { ChunkStore } from './chunk-store.ts';
import { downloadModel, type DownloadOptions } from './download-manager.ts';
import type { Manifest } from './manifest.ts';
import type { StorageEnv } from './storage-env.ts';
import { storedModelStatus } from './stored-source.ts';
import { startWeightServer, testBytes, type WeightServer } from './testing/weight-server.ts';

const CHUNK = 4096;
const unet = patternUnet({ externalData: 'model.onnx_data' });
const FILES: Record<string, Uint8Array> = {
  'unet/model.onnx': unet.model,
  'unet/model.onnx_data': unet.data!.bytes,
  'vae_decoder/model.onnx': testBytes(3 * CHUNK, 3),
};
const DATA = 'unet/model.onnx_data';
const conversion = convertModelToFloat16(unet.model);
const layout: ExternalFileLayout = conversion.externalFiles[0]!;
const convertedData = new ExternalDataConverter(layout).push(unet.data!.bytes);

let server: WeightServer;
let stores: ChunkStore[] = [];
let dbCounter = 0;

beforeAll(async () => {
  server = await startWeightServer(
    Object.fromEntries(Object.entries(FILES).map(([path, bytes]) => [`m/${path}`, bytes])),
  );
});
afterAll(() => server.close());
afterEach(async () => {
  for (const path of Object.keys(FILES)) server.misbehave(`m/${path}`, null);
  server.requests.length = 0;
  await Promise.all(stores.map((s) => s.close()));
  stores = [];
});

function newStore(): ChunkStore {
  const store = new ChunkStore({ dbName: `fp16-download-test-${++dbCounter}`, chunkSize: CHUNK });
  stores.push(store);
  return store;
}

const manifest = (): Manifest => ({
  id: 'tiny',
  revision: '1',
  displayName: 'Tiny fp32 model stored as fp16',
  baseUrl: server.url('m/'),
  files: [
    { path: 'unet/model.onnx', role: 'graph', graph: 'unet', storeAs: 'fp16' },
    { path: DATA, role: 'external-data', graph: 'unet', storeAs: 'fp16' },
    { path: 'vae_decoder/model.onnx', role: 'graph', graph: 'vaeDecoder' },
  ].map((file) => ({
    ...file,
    url: server.url(`m/${file.path}`),
    bytes: FILES[file.path]!.byteLength,
  })) as Manifest['files'],
});

const env: StorageEnv = { estimate: async () => ({}), persist: async () => true };
const options = (store: ChunkStore, extra: Partial<DownloadOptions> = {}): DownloadOptions => ({
  store,
  env,
  delay: async () => {},
  progressIntervalMs: 0,
  ...extra,
});

async function stored(store: ChunkStore, path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await store.readFileAsBlob('tiny', path)).arrayBuffer());
}

describe('downloading a file stored as fp16', () => {
  it('stores the converted graph and external data, as cli convert would write them', async () => {
    const store = newStore();
    const progress: number[] = [];
    await downloadModel(
      manifest(),
      options(store, { onProgress: (p) => progress.push(p.total.loadedBytes) }),
    ).done;
    expect(Buffer.from(await stored(store, 'unet/model.onnx')).equals(conversion.model)).toBe(true);
    expect(Buffer.from(await stored(store, DATA)).equals(convertedData)).toBe(true);
    expect(await stored(store, 'vae_decoder/model.onnx')).toEqual(FILES['vae_decoder/model.onnx']);
    expect((await store.storedFile('tiny', DATA))?.bytes).toBe(layout.outputBytes);
    expect(layout.outputBytes).toBeLessThan(FILES[DATA]!.byteLength * 0.6);
    // Progress counts the download, to the end.
    const total = Object.values(FILES).reduce((sum, bytes) => sum + bytes.byteLength, 0);
    expect(progress[progress.length - 1]).toBe(total);
    // Stored means stored: the status says complete, and a second run fetches nothing.
    expect(await storedModelStatus(store, manifest())).toMatchObject({ complete: true });
    server.requests.length = 0;
    const again = await downloadModel(manifest(), options(store)).done;
    expect(again.fetchedFiles).toEqual([]);
    expect(server.requests).toEqual([]);
  });

  it('resumes an interrupted conversion from the stored chunks, fetching only the rest', async () => {
    const store = newStore();
    const cut = Math.floor(FILES[DATA]!.byteLength * 0.6);
    server.misbehave(`m/${DATA}`, { dropAfter: cut });
    await expect(
      downloadModel(manifest(), options(store, { maxAttempts: 1, concurrency: 1 })).done,
    ).rejects.toThrow(/model\.onnx_data: the connection to .* broke/);
    const storedChunks = (await store.storedChunkIndices('tiny', DATA)).size;
    expect(storedChunks).toBeGreaterThan(0);
    expect((await store.storedFile('tiny', DATA))?.complete).toBe(false);

    server.misbehave(`m/${DATA}`, null);
    server.requests.length = 0;
    await downloadModel(manifest(), options(store)).done;
    const from = resumePoint(layout, storedChunks * CHUNK).sourceOffset;
    expect(from).toBeGreaterThan(0);
    const requests = server.requests.filter((r) => r.path === `m/${DATA}`);
    expect(requests).toEqual([
      expect.objectContaining({ range: `bytes=${from}-${layout.sourceBytes - 1}`, status: 206 }),
    ]);
    expect(server.bytesSent(`m/${DATA}`)).toBe(layout.sourceBytes - from);
    expect(Buffer.from(await stored(store, DATA)).equals(convertedData)).toBe(true);
  });

  it('still stores the right bytes when the host ignores Range on resume', async () => {
    const store = newStore();
    server.misbehave(`m/${DATA}`, { dropAfter: Math.floor(FILES[DATA]!.byteLength / 2) });
    await expect(
      downloadModel(manifest(), options(store, { maxAttempts: 1, concurrency: 1 })).done,
    ).rejects.toThrow(/broke/);
    expect((await store.storedChunkIndices('tiny', DATA)).size).toBeGreaterThan(0);
    server.misbehave(`m/${DATA}`, { ignoreRange: true });
    server.requests.length = 0;
    await downloadModel(manifest(), options(store)).done;
    const requests = server.requests.filter((r) => r.path === `m/${DATA}`);
    expect(requests).toEqual([expect.objectContaining({ status: 200 })]);
    expect(Buffer.from(await stored(store, DATA)).equals(convertedData)).toBe(true);
  });

  it('refuses a graph with an operator no backend has, before fetching its external data', async () => {
    const store = newStore();
    const bad = new Uint8Array(unet.model);
    // Rename the first Conv to GroupNorm in the com.microsoft domain: refused by name.
    const model = (await import('../pipeline/onnx/inspect.ts')).decodeModel(bad);
    const conv = model.graph.node!.find((n) => n.opType === 'Conv')!;
    conv.opType = 'GroupNorm';
    conv.domain = 'com.microsoft';
    const { ModelProto } = await import('../pipeline/onnx/schema.ts');
    const encoded = ModelProto.encode(model).finish();
    server.setFile('m/unet/model.onnx', encoded);
    try {
      const changed = manifest();
      changed.files[0]!.bytes = encoded.byteLength;
      await expect(downloadModel(changed, options(store, { concurrency: 1 })).done).rejects.toThrow(
        /unet\/model\.onnx: The unet graph uses operators neither backend .*com\.microsoft:GroupNorm/,
      );
      expect(server.bytesSent(`m/${DATA}`)).toBe(0);
    } finally {
      server.setFile('m/unet/model.onnx', unet.model);
    }
  });
});
