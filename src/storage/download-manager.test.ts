import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { promisifyRequest } from 'idb-keyval';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChunkStore, chunkKey, type StoredChunk } from './chunk-store.ts';
import { downloadModel, type DownloadOptions } from './download-manager.ts';
import type { WeightStore } from './weight-store.ts';
import type { DownloadProgress } from './download-progress.ts';
import {
  DownloadCancelledError,
  StorageQuotaError,
  WeightDownloadError,
  WeightFileError,
} from './errors.ts';
import type { Manifest, ManifestFile } from './manifest.ts';
import type { StorageEnv } from './storage-env.ts';
import { startWeightServer, testBytes, type WeightServer } from './testing/weight-server.ts';

const CHUNK = 4096;
const FILES: Record<string, Uint8Array> = {
  'unet/model.onnx': testBytes(5000, 1),
  'unet/model.onnx_data': testBytes(10 * CHUNK + 123, 2),
  'tokenizer/vocab.json': new TextEncoder().encode('{"a": 1}'),
  'vae_decoder/model.onnx': testBytes(3 * CHUNK, 3),
};
const DATA = 'unet/model.onnx_data';

let server: WeightServer;
let stores: ChunkStore[] = [];
let dbCounter = 0;

beforeAll(async () => {
  const served: Record<string, Uint8Array> = {};
  for (const [path, bytes] of Object.entries(FILES)) served[`m/${path}`] = bytes;
  server = await startWeightServer(served);
});
afterAll(() => server.close());
afterEach(async () => {
  for (const path of Object.keys(FILES)) server.misbehave(`m/${path}`, null);
  server.requests.length = 0;
  await Promise.all(stores.map((s) => s.close()));
  stores = [];
});

function newStore(): ChunkStore {
  const store = new ChunkStore({ dbName: `download-test-${++dbCounter}`, chunkSize: CHUNK });
  stores.push(store);
  return store;
}

function roleOf(path: string): ManifestFile['role'] {
  return path.endsWith('_data') ? 'external-data' : path.endsWith('.json') ? 'tokenizer' : 'graph';
}

function manifest(change: (file: ManifestFile) => ManifestFile = (f) => f): Manifest {
  return {
    id: 'tiny',
    revision: '1',
    displayName: 'Tiny test model',
    baseUrl: server.url('m/'),
    files: Object.entries(FILES).map(([path, bytes]) =>
      change({
        path,
        url: server.url(`m/${path}`),
        bytes: bytes.byteLength,
        role: roleOf(path),
        ...(roleOf(path) !== 'tokenizer'
          ? { graph: path.startsWith('unet') ? 'unet' : 'vaeDecoder' }
          : {}),
      } as ManifestFile),
    ),
  };
}

class FakeEnv implements StorageEnv {
  persistCalls = 0;
  constructor(
    public quota?: number,
    public usage = 0,
  ) {}
  estimate = async () => (this.quota === undefined ? {} : { quota: this.quota, usage: this.usage });
  persist = async () => {
    this.persistCalls += 1;
    return true;
  };
}

/** Options with no real waiting: retry delays are recorded instead. */
function options(store: WeightStore, extra: Partial<DownloadOptions> = {}) {
  const delays: number[] = [];
  const progress: DownloadProgress[] = [];
  const opts: DownloadOptions = {
    store,
    env: new FakeEnv(),
    delay: async (ms) => void delays.push(ms),
    onProgress: (p) => progress.push(p),
    progressIntervalMs: 0,
    ...extra,
  };
  return { opts, delays, progress };
}

async function expectStored(store: ChunkStore, path: string) {
  const record = await store.storedFile('tiny', path);
  expect(record?.complete, `${path} complete`).toBe(true);
  const blob = await store.readFileAsBlob('tiny', path);
  expect(new Uint8Array(await blob.arrayBuffer())).toEqual(FILES[path]);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('downloadModel', () => {
  it('stores every file in chunks, a few files at a time, and reports progress to the end', async () => {
    const store = newStore();
    const env = new FakeEnv(1e9);
    const { opts, progress } = options(store, { env, concurrency: 2 });
    const result = await downloadModel(manifest(), opts).done;
    for (const path of Object.keys(FILES)) await expectStored(store, path);
    expect(result.persisted).toBe(true);
    expect(env.persistCalls).toBe(1);
    expect(result.fetchedFiles.sort()).toEqual(Object.keys(FILES).sort());
    expect(server.maxConcurrent).toBeLessThanOrEqual(2);
    const last = progress[progress.length - 1]!;
    const total = Object.values(FILES).reduce((s, b) => s + b.byteLength, 0);
    expect(last.total).toMatchObject({ loadedBytes: total, totalBytes: total, secondsLeft: 0 });
    expect(last.files[DATA]).toMatchObject({ loadedBytes: FILES[DATA]!.byteLength });
    expect(await store.storedManifest('tiny')).toMatchObject({
      id: 'tiny',
      files: expect.any(Array),
    });
    // Each file was fetched once, whole, with credentials omitted (nothing to check server-side
    // for credentials; the request count and the absence of Range say "streamed once").
    expect(server.requests.filter((r) => r.path === `m/${DATA}`)).toEqual([
      expect.objectContaining({
        method: 'GET',
        range: null,
        status: 200,
        bytes: FILES[DATA]!.byteLength,
      }),
    ]);
    // A second run finds everything stored and fetches nothing.
    server.requests.length = 0;
    const again = await downloadModel(manifest(), options(store).opts).done;
    expect(again.fetchedFiles).toEqual([]);
    expect(server.requests).toEqual([]);
  });

  it('sends no credentials with any request, HEAD and Range included', async () => {
    // A custom model URL can point at any host: the visitor's cookies must never go with it.
    const store = newStore();
    const seen: Array<{ method: string; credentials: RequestCredentials | undefined }> = [];
    const recording = (url: string, init?: RequestInit) => {
      seen.push({ method: init?.method ?? 'GET', credentials: init?.credentials });
      return fetch(url, init);
    };
    // Sizes only estimated: the host is asked (HEAD) before downloading.
    const estimated = manifest((f) => ({ ...f, bytesApproximate: true }));
    server.misbehave(`m/${DATA}`, { dropAfter: CHUNK * 2 + 10, times: 1 });
    await downloadModel(estimated, options(store, { fetch: recording }).opts).done;
    expect(seen.some((r) => r.method === 'HEAD')).toBe(true);
    expect(server.requests.some((r) => r.range !== null && r.path === `m/${DATA}`)).toBe(true);
    expect(seen.filter((r) => r.credentials !== 'omit')).toEqual([]);
  });

  it('resumes a cut download from the first missing chunk, fetching only what is missing', async () => {
    const store = newStore();
    // First run: the connection drops after 5.5 chunks; one attempt only, so it fails.
    server.misbehave(`m/${DATA}`, { dropAfter: Math.floor(5.5 * CHUNK) });
    const first = options(store, { maxAttempts: 1, concurrency: 1 });
    await expect(downloadModel(manifest(), first.opts).done).rejects.toThrow(
      /unet\/model\.onnx_data: the connection to .* broke .*gave up after 1 attempt/,
    );
    expect((await store.storedChunkIndices('tiny', DATA)).size).toBe(5);
    expect((await store.storedFile('tiny', DATA))?.complete).toBe(false);

    server.misbehave(`m/${DATA}`, null);
    server.requests.length = 0;
    await downloadModel(manifest(), options(store).opts).done;
    await expectStored(store, DATA);
    const requests = server.requests.filter((r) => r.path === `m/${DATA}`);
    expect(requests).toEqual([
      expect.objectContaining({
        range: `bytes=${5 * CHUNK}-${FILES[DATA]!.byteLength - 1}`,
        status: 206,
      }),
    ]);
    expect(server.bytesSent(`m/${DATA}`)).toBe(FILES[DATA]!.byteLength - 5 * CHUNK);
  });

  it('retries a dropped connection with a range request and backs off', async () => {
    const store = newStore();
    server.misbehave(`m/${DATA}`, { dropAfter: 2 * CHUNK + 10 });
    const { opts, delays } = options(store);
    const download = downloadModel(manifest(), opts);
    // The second request (a range) must not be cut: lift the fault after the first one.
    const lift = setInterval(() => {
      if (server.requests.some((r) => r.path === `m/${DATA}`)) {
        server.misbehave(`m/${DATA}`, null);
        clearInterval(lift);
      }
    }, 1);
    await download.done;
    clearInterval(lift);
    await expectStored(store, DATA);
    expect(delays).toEqual([1000]);
    const ranges = server.requests.filter((r) => r.path === `m/${DATA}`).map((r) => r.range);
    expect(ranges[0]).toBeNull();
    expect(ranges.slice(1)).toEqual([`bytes=${2 * CHUNK}-${FILES[DATA]!.byteLength - 1}`]);
  });

  it('retries server errors with exponential backoff, then succeeds', async () => {
    const store = newStore();
    server.misbehave('m/vae_decoder/model.onnx', { status: 503, times: 3 });
    const { opts, delays } = options(store);
    await downloadModel(manifest(), opts).done;
    await expectStored(store, 'vae_decoder/model.onnx');
    expect(delays).toEqual([1000, 2000, 4000]);
  });

  it('gives up on a server error after the bounded attempts, naming the file and status', async () => {
    const store = newStore();
    server.misbehave('m/vae_decoder/model.onnx', { status: 500 });
    const { opts, delays } = options(store, { maxAttempts: 4 });
    const error = await downloadModel(manifest(), opts).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightDownloadError);
    expect((error as Error).message).toMatch(
      /vae_decoder\/model\.onnx: .* answered HTTP 500 .*gave up after 4 attempts/,
    );
    expect(delays).toEqual([1000, 2000, 4000]);
    expect(server.requests.filter((r) => r.path === 'm/vae_decoder/model.onnx')).toHaveLength(4);
  });

  it('fails at once on a 404, naming the file; an optional file that is missing is skipped', async () => {
    const store = newStore();
    server.misbehave('m/unet/model.onnx', { status: 404 });
    const { opts, delays } = options(store);
    await expect(downloadModel(manifest(), opts).done).rejects.toThrow(
      /unet\/model\.onnx: .* answered HTTP 404 .*no such file/,
    );
    expect(delays).toEqual([]);

    const optional = manifest((f) => (f.path === 'unet/model.onnx' ? { ...f, optional: true } : f));
    const result = await downloadModel(optional, options(store).opts).done;
    expect(result.manifest.files.map((f) => f.path)).not.toContain('unet/model.onnx');
    expect(await store.storedFile('tiny', 'unet/model.onnx')).toBeUndefined();
  });

  it('rejects an HTML page instead of the file, by its type or by its bytes', async () => {
    const store = newStore();
    server.misbehave(`m/${DATA}`, { htmlPage: true });
    await expect(downloadModel(manifest(), options(store).opts).done).rejects.toThrow(
      /unet\/model\.onnx_data: .* answered with an HTML page, not the file/,
    );
    server.misbehave(`m/${DATA}`, { disguisedHtml: true });
    const sized = manifest((f) => (f.path === DATA ? { ...f, bytes: 84 } : f));
    const error = await downloadModel(sized, options(store).opts).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightFileError);
    expect((error as Error).message).toMatch(/unet\/model\.onnx_data: .*HTML page/);
    expect((await store.storedFile('tiny', DATA))?.complete).toBe(false);
  });

  it('rejects a body shorter or longer than the manifest says', async () => {
    const store = newStore();
    server.misbehave(`m/${DATA}`, { endAfter: CHUNK / 2 });
    const { opts, delays } = options(store, { maxAttempts: 2 });
    await expect(downloadModel(manifest(), opts).done).rejects.toThrow(
      /unet\/model\.onnx_data: the download from .* ended after \d+ of 41083 bytes .*gave up after 2 attempts/,
    );
    expect(delays).toEqual([1000]);

    server.misbehave(`m/${DATA}`, { extraBytes: 5 });
    await expect(downloadModel(manifest(), options(newStore()).opts).done).rejects.toThrow(
      /unet\/model\.onnx_data: .* sent more than the 41083 bytes expected/,
    );

    server.misbehave(`m/${DATA}`, { declaredLength: 41083 + 1 });
    // (a wrong Content-Length: the server's file is not the manifest's)
    const error = await downloadModel(manifest(), options(newStore()).opts).done.catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WeightFileError);
    expect((error as Error).message).toMatch(
      /unet\/model\.onnx_data: .* is 41084 bytes, the manifest says 41083/,
    );
  });

  it('verifies the SHA-256: a wrong one leaves the file incomplete and names it', async () => {
    const store = newStore();
    const wrong = manifest((f) => (f.path === DATA ? { ...f, sha256: '0'.repeat(64) } : f));
    const error = await downloadModel(wrong, options(store).opts).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightFileError);
    expect((error as Error).message).toMatch(
      /unet\/model\.onnx_data: the downloaded file's SHA-256 is [0-9a-f]{64}, the manifest expects 0{64}/,
    );
    expect(await store.storedFile('tiny', DATA)).toMatchObject({
      complete: false,
      chunksStored: 0,
    });

    const right = manifest((f) => (f.path === DATA ? { ...f, sha256: sha256(FILES[DATA]!) } : f));
    await downloadModel(right, options(store).opts).done;
    await expectStored(store, DATA);
  });

  it('hashes across a resume (stored chunks are re-read into the hash)', async () => {
    const store = newStore();
    const right = manifest((f) => (f.path === DATA ? { ...f, sha256: sha256(FILES[DATA]!) } : f));
    server.misbehave(`m/${DATA}`, { dropAfter: 7 * CHUNK + 1 });
    await expect(
      downloadModel(right, options(store, { maxAttempts: 1 }).opts).done,
    ).rejects.toThrow();
    expect((await store.storedChunkIndices('tiny', DATA)).size).toBe(7);
    server.misbehave(`m/${DATA}`, null);
    await downloadModel(right, options(store).opts).done;
    await expectStored(store, DATA);
    expect((await store.storedFile('tiny', DATA))?.sha256).toBe(sha256(FILES[DATA]!));
  });

  it('detects a damaged stored chunk and fetches only that chunk again', async () => {
    const store = newStore();
    await downloadModel(manifest(), options(store).opts).done;
    // Damage chunk 4 behind the store's back.
    const db = await promisifyRequest(indexedDB.open(store.dbName));
    const tx = db.transaction('chunks', 'readwrite');
    const chunks = tx.objectStore('chunks');
    const key = chunkKey('tiny', DATA, 4);
    const chunk = (await promisifyRequest(chunks.get(key))) as StoredChunk;
    chunks.put({ ...chunk, data: new Blob([testBytes(CHUNK, 77)]) }, key);
    await promisifyRequest(tx);
    db.close();

    server.requests.length = 0;
    const result = await downloadModel(manifest(), options(store, { verifyComplete: true }).opts)
      .done;
    await expectStored(store, DATA);
    expect(result.fetchedFiles).toEqual([DATA]);
    expect(server.requests).toEqual([
      expect.objectContaining({
        path: `m/${DATA}`,
        range: `bytes=${4 * CHUNK}-${5 * CHUNK - 1}`,
        status: 206,
      }),
    ]);
  });

  it('starts a file over cleanly when the server ignores Range', async () => {
    const store = newStore();
    server.misbehave(`m/${DATA}`, { dropAfter: 3 * CHUNK + 5 });
    await expect(
      downloadModel(manifest(), options(store, { maxAttempts: 1 }).opts).done,
    ).rejects.toThrow();
    server.misbehave(`m/${DATA}`, { ignoreRange: true });
    server.requests.length = 0;
    await downloadModel(manifest(), options(store).opts).done;
    await expectStored(store, DATA);
    expect(server.requests.filter((r) => r.path === `m/${DATA}`)).toEqual([
      expect.objectContaining({ range: `bytes=${3 * CHUNK}-41082`, status: 200 }),
    ]);
  });

  it('rejects a range answer for other bytes than asked', async () => {
    const store = newStore();
    server.misbehave(`m/${DATA}`, { dropAfter: CHUNK + 5 });
    await expect(
      downloadModel(manifest(), options(store, { maxAttempts: 1 }).opts).done,
    ).rejects.toThrow();
    server.misbehave(`m/${DATA}`, { wrongContentRange: true });
    await expect(downloadModel(manifest(), options(store).opts).done).rejects.toThrow(
      /unet\/model\.onnx_data: asked .* for bytes 4096-41082 of 41083, got "bytes 4097-41082\/41083"/,
    );
  });

  it('checks free space before downloading and names what is needed and free', async () => {
    const store = newStore();
    const { opts } = options(store, { env: new FakeEnv(50_000, 20_000) });
    const error = await downloadModel(manifest(), opts).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageQuotaError);
    expect((error as Error).message).toMatch(
      /Tiny test model: it needs 58\.4 kB more, and 30\.0 kB is free/,
    );
    expect(server.requests).toEqual([]);
  });

  it('stops cleanly when storage fills up, keeping what was stored, with needed and free', async () => {
    const inner = newStore();
    let puts = 0;
    // A store whose disk fills after 6 chunks, as IndexedDB reports it.
    const full: WeightStore = Object.assign(Object.create(inner) as ChunkStore, {
      putChunk: async (modelId: string, path: string, index: number, bytes: Uint8Array) => {
        if (++puts > 6)
          throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        return inner.putChunk(modelId, path, index, bytes);
      },
    });
    // Plenty of room by the estimate at the start; 1 kB left by the time the disk is full.
    const env = new FakeEnv(1_000_000, 0);
    const { opts, delays } = options(full, {
      env,
      concurrency: 1,
      onProgress: () => (env.usage = 999_000),
    });
    const error = await downloadModel(manifest(), opts).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageQuotaError);
    expect((error as Error).message).toMatch(
      /storage is full: storing unet\/model\.onnx_data failed with [\d.]+ kB still to download and 1\.0 kB free\. The [\d.]+ kB already stored are kept/,
    );
    expect(delays).toEqual([]); // not retried
    expect((await inner.storedChunkIndices('tiny', DATA)).size).toBe(6);
    expect((error as StorageQuotaError).freeBytes).toBe(1000);
  });

  it('cancels through its AbortSignal, keeping the stored chunks', async () => {
    const store = newStore();
    server.misbehave(`m/${DATA}`, { pieceBytes: 1024, pieceDelayMs: 5 });
    const controller = new AbortController();
    const { opts } = options(store, {
      signal: controller.signal,
      onProgress: (p) => {
        if ((p.files[DATA]?.loadedBytes ?? 0) >= 3 * CHUNK) controller.abort();
      },
    });
    const error = await downloadModel(manifest(), opts).done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadCancelledError);
    expect((error as Error).name).toBe('AbortError');
    const kept = (await store.storedChunkIndices('tiny', DATA)).size;
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThan(10);
  });

  it('pauses (no requests while paused) and resumes with a range request', async () => {
    const store = newStore();
    server.misbehave(`m/${DATA}`, { pieceBytes: 1024, pieceDelayMs: 5 });
    let paused = false;
    const { opts } = options(store, {
      onProgress: (p) => {
        if (!paused && (p.files[DATA]?.loadedBytes ?? 0) >= 3 * CHUNK) {
          paused = true;
          download.pause();
        }
      },
    });
    const download = downloadModel(manifest(), opts);
    while (!paused) await new Promise((r) => setTimeout(r, 5));
    expect(download.paused).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    const count = server.requests.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(server.requests.length).toBe(count);
    server.misbehave(`m/${DATA}`, null);
    download.resume();
    await download.done;
    await expectStored(store, DATA);
    const ranges = server.requests.filter((r) => r.path === `m/${DATA}`).map((r) => r.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[1]).toMatch(/^bytes=\d+-41082$/);
  });

  it('asks the host for exact sizes of files the manifest only estimates', async () => {
    const store = newStore();
    server.misbehave('m/vae_decoder/model.onnx', { noHead: true });
    const estimated = manifest((f) => ({ ...f, bytes: f.bytes + 1000, bytesApproximate: true }));
    const result = await downloadModel(estimated, options(store).opts).done;
    for (const file of result.manifest.files) {
      expect(file.bytes).toBe(FILES[file.path]!.byteLength);
      expect(file.bytesApproximate).toBeUndefined();
    }
    for (const path of Object.keys(FILES)) await expectStored(store, path);
    expect(server.requests.filter((r) => r.method === 'HEAD')).toHaveLength(4);
  });
});
