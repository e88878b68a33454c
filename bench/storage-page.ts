/**
 * The browser side of the storage benchmark (bench/run.ts bundles it with esbuild): three
 * timed phases over the same bytes from the local server, called one at a time by the runner.
 *   fetch  - a plain fetch, read to the end and dropped (the baseline)
 *   raw-idb - the same bytes put as Blob chunks into a bare IndexedDB store (the ceiling)
 *   store  - the download manager streaming the file into the chunk store (IndexedDB)
 *   reload - the stored file assembled as one Blob and streamed through to the end
 */
import { ChunkStore } from '../src/storage/chunk-store.ts';
import { downloadModel } from '../src/storage/download-manager.ts';
import type { Manifest } from '../src/storage/manifest.ts';
import { browserStorageEnv } from '../src/storage/storage-env.ts';

const MODEL_ID = 'bench';
const PATH = 'unet/model.onnx_data';

export interface PhaseResult {
  bytes: number;
  ms: number;
}

async function drain(
  stream: ReadableStream<Uint8Array>,
  check?: (piece: Uint8Array, at: number) => void,
) {
  const reader = stream.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    check?.(value, bytes);
    bytes += value.byteLength;
  }
}

async function benchFetch(url: string): Promise<PhaseResult> {
  const started = performance.now();
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
  const bytes = await drain(response.body);
  return { bytes, ms: performance.now() - started };
}

async function benchStore(url: string, size: number, chunkSize: number): Promise<PhaseResult> {
  const store = new ChunkStore({ dbName: 'storage-bench', chunkSize });
  await store.deleteModel(MODEL_ID);
  const manifest: Manifest = {
    id: MODEL_ID,
    revision: '1',
    displayName: 'Storage benchmark',
    baseUrl: new URL('./', url).href,
    files: [{ path: PATH, url, bytes: size, role: 'external-data', graph: 'unet' }],
  };
  const started = performance.now();
  await downloadModel(manifest, { store, env: browserStorageEnv() }).done;
  const ms = performance.now() - started;
  await store.close();
  return { bytes: size, ms };
}

/** Reads the stored file back; every MiB block starts with its own index (see run.ts). */
async function benchReload(): Promise<PhaseResult & { verifiedBlocks: number }> {
  const store = new ChunkStore({ dbName: 'storage-bench' });
  const started = performance.now();
  const blob = await store.readFileAsBlob(MODEL_ID, PATH);
  let verifiedBlocks = 0;
  const bytes = await drain(blob.stream(), (piece, at) => {
    // Check the block index wherever a block starts inside this piece.
    for (
      let offset = (1048576 - (at % 1048576)) % 1048576;
      offset + 4 <= piece.byteLength;
      offset += 1048576
    ) {
      const block = (at + offset) / 1048576;
      const seen =
        piece[offset]! |
        (piece[offset + 1]! << 8) |
        (piece[offset + 2]! << 16) |
        (piece[offset + 3]! << 24);
      if (seen !== block) throw new Error(`reload: block ${block} holds ${seen}`);
      verifiedBlocks += 1;
    }
  });
  const ms = performance.now() - started;
  await store.deleteModel(MODEL_ID);
  await store.close();
  return { bytes, ms, verifiedBlocks };
}

/**
 * The ceiling for `store`: the same bytes (one fetch) put as Blob chunks into a bare object
 * store, one transaction per chunk, no checksum, no file record.
 */
async function benchRawIdb(url: string, chunkSize: number): Promise<PhaseResult> {
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase('raw-idb-bench');
    request.onsuccess = request.onerror = request.onblocked = resolve;
  });
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open('raw-idb-bench', 1);
    request.onupgradeneeded = () => request.result.createObjectStore('chunks');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const put = (key: number, bytes: Uint8Array<ArrayBuffer>) =>
    new Promise<void>((resolve, reject) => {
      const tx = db.transaction('chunks', 'readwrite');
      tx.objectStore('chunks').put(new Blob([bytes]), key);
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  const started = performance.now();
  const response = await fetch(url, { cache: 'no-store' });
  const reader = response.body!.getReader();
  let buffer = new Uint8Array(chunkSize);
  let filled = 0;
  let index = 0;
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    for (let offset = 0; offset < value.byteLength;) {
      const take = Math.min(chunkSize - filled, value.byteLength - offset);
      buffer.set(value.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === chunkSize) {
        await put(index++, buffer);
        buffer = new Uint8Array(chunkSize);
        filled = 0;
      }
    }
  }
  if (filled > 0) await put(index, buffer.slice(0, filled));
  const ms = performance.now() - started;
  db.close();
  indexedDB.deleteDatabase('raw-idb-bench');
  return { bytes, ms };
}

async function storageEstimate() {
  return navigator.storage.estimate();
}

Object.assign(globalThis, { benchFetch, benchRawIdb, benchStore, benchReload, storageEstimate });
(globalThis as { benchReady?: boolean }).benchReady = true;
