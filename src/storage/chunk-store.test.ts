import 'fake-indexeddb/auto';
import { promisifyRequest } from 'idb-keyval';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChunkStore, chunkKey, type StoredChunk } from './chunk-store.ts';
import { StoredChunkUnreadableError, WeightFileError } from './errors.ts';
import { testBytes } from './testing/weight-server.ts';

const CHUNK = 1000;
let stores: ChunkStore[] = [];
let dbCounter = 0;

function newStore(chunkSize = CHUNK): { store: ChunkStore; dbName: string } {
  const dbName = `chunk-store-test-${++dbCounter}`;
  const store = new ChunkStore({ dbName, chunkSize });
  stores.push(store);
  return { store, dbName };
}

afterEach(async () => {
  await Promise.all(stores.map((s) => s.close()));
  stores = [];
});

async function storeWhole(store: ChunkStore, modelId: string, path: string, bytes: Uint8Array) {
  await store.beginFile(modelId, path, { bytes: bytes.byteLength });
  for (let i = 0; i * CHUNK < bytes.byteLength; i++) {
    await store.putChunk(modelId, path, i, bytes.subarray(i * CHUNK, (i + 1) * CHUNK));
  }
}

/** Overwrites a stored chunk behind the store's back (a damaged disk, a cut write). */
async function tamper(dbName: string, key: string, change: (chunk: StoredChunk) => StoredChunk) {
  const db = await promisifyRequest(indexedDB.open(dbName));
  const tx = db.transaction('chunks', 'readwrite');
  const chunks = tx.objectStore('chunks');
  const chunk = (await promisifyRequest(chunks.get(key))) as StoredChunk;
  chunks.put(change(chunk), key);
  await promisifyRequest(tx);
  db.close();
}

describe('ChunkStore', () => {
  it('stores a file as fixed-size chunks and reads it back as one Blob', async () => {
    const { store, dbName } = newStore();
    const bytes = testBytes(3500);
    await storeWhole(store, 'm', 'unet/model.onnx_data', bytes);
    const record = await store.markComplete('m', 'unet/model.onnx_data');
    expect(record).toMatchObject({
      bytes: 3500,
      chunkSize: CHUNK,
      chunksStored: 4,
      bytesStored: 3500,
      complete: true,
    });
    expect([...(await store.storedChunkIndices('m', 'unet/model.onnx_data'))].sort()).toEqual([
      0, 1, 2, 3,
    ]);

    const blob = await store.readFileAsBlob('m', 'unet/model.onnx_data');
    expect(blob.size).toBe(3500);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(bytes);

    // The keys are `${modelId}/${path}#${index}`, and chunks are Blobs with length and CRC-32.
    const db = await promisifyRequest(indexedDB.open(dbName));
    const chunk = (await promisifyRequest(
      db
        .transaction('chunks')
        .objectStore('chunks')
        .get(chunkKey('m', 'unet/model.onnx_data', 3)),
    )) as StoredChunk;
    db.close();
    expect(chunk.data).toBeInstanceOf(Blob);
    expect(chunk.length).toBe(500);
    expect(chunk.crc32).toMatch(/^[0-9a-f]{8}$/);
  });

  it('refuses chunks of the wrong length or index, and chunks of a file never begun', async () => {
    const { store } = newStore();
    await store.beginFile('m', 'a.bin', { bytes: 1500 });
    await expect(store.putChunk('m', 'a.bin', 0, new Uint8Array(999))).rejects.toThrow(
      /chunk 0 must be 1000 bytes/,
    );
    await expect(store.putChunk('m', 'a.bin', 1, new Uint8Array(1000))).rejects.toThrow(
      /must be 500 bytes/,
    );
    await expect(store.putChunk('m', 'a.bin', 2, new Uint8Array(1))).rejects.toThrow(/no chunk 2/);
    await expect(store.putChunk('m', 'b.bin', 0, new Uint8Array(1))).rejects.toThrow(
      /before beginFile/,
    );
    expect((await store.storedFile('m', 'a.bin'))?.chunksStored).toBe(0);
  });

  it('marks a file complete only when every chunk is stored', async () => {
    const { store } = newStore();
    const bytes = testBytes(2500);
    await store.beginFile('m', 'f.bin', { bytes: 2500 });
    await store.putChunk('m', 'f.bin', 0, bytes.subarray(0, 1000));
    await store.putChunk('m', 'f.bin', 2, bytes.subarray(2000));
    await expect(store.markComplete('m', 'f.bin')).rejects.toThrow(/f\.bin: only 2 of 3 chunks/);
    await expect(store.readFileAsBlob('m', 'f.bin')).rejects.toThrow(/not completely stored/);
    // Writing the same chunk twice does not count it twice.
    await store.putChunk('m', 'f.bin', 0, bytes.subarray(0, 1000));
    expect(await store.storedFile('m', 'f.bin')).toMatchObject({
      chunksStored: 2,
      bytesStored: 1500,
    });
    await store.putChunk('m', 'f.bin', 1, bytes.subarray(1000, 2000));
    await expect(store.markComplete('m', 'f.bin')).resolves.toMatchObject({ complete: true });
  });

  it('checks the SHA-256 the record expects and names the file when it differs', async () => {
    const { store } = newStore();
    const expected = 'a'.repeat(64);
    await store.beginFile('m', 'text_encoder/model.onnx', { bytes: 10, sha256: expected });
    await store.putChunk('m', 'text_encoder/model.onnx', 0, testBytes(10));
    const error = await store
      .markComplete('m', 'text_encoder/model.onnx', 'b'.repeat(64))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightFileError);
    expect((error as Error).message).toMatch(
      /text_encoder\/model\.onnx: .*SHA-256 is b{64}.*expects a{64}/,
    );
    expect((await store.storedFile('m', 'text_encoder/model.onnx'))?.complete).toBe(false);
    await expect(store.markComplete('m', 'text_encoder/model.onnx')).rejects.toThrow(
      /not computed/,
    );
    await expect(
      store.markComplete('m', 'text_encoder/model.onnx', expected),
    ).resolves.toMatchObject({
      complete: true,
      sha256: expected,
    });
  });

  it('finds damaged, cut and missing chunks', async () => {
    const { store, dbName } = newStore();
    await storeWhole(store, 'm', 'f.bin', testBytes(4200));
    await store.markComplete('m', 'f.bin');
    expect(await store.verifyChunks('m', 'f.bin')).toEqual([]);

    await tamper(dbName, chunkKey('m', 'f.bin', 1), (chunk) => {
      return { ...chunk, data: new Blob([testBytes(1000, 99)]) }; // same length, other bytes
    });
    await tamper(dbName, chunkKey('m', 'f.bin', 3), (chunk) => ({
      ...chunk,
      data: (chunk.data as Blob).slice(0, 10), // cut short
    }));
    await store.deleteChunk('m', 'f.bin', 4);
    expect(await store.verifyChunks('m', 'f.bin')).toEqual([1, 3, 4]);
    expect(await store.readChunk('m', 'f.bin', 1)).toBeNull();
    expect(await store.readChunk('m', 'f.bin', 0)).toEqual(testBytes(4200).subarray(0, 1000));
    expect(await store.storedFile('m', 'f.bin')).toMatchObject({
      complete: false,
      chunksStored: 4,
      bytesStored: 4000,
    });
    // A cut chunk also stops the file from being served as a whole.
    await store.putChunk('m', 'f.bin', 4, testBytes(4200).subarray(4000));
    await store.markComplete('m', 'f.bin');
    await expect(store.readFileAsBlob('m', 'f.bin')).rejects.toThrow(
      /chunk 3 is missing or cut short/,
    );
  });

  it('keeps a matching file record on beginFile and starts over when the file changed', async () => {
    const { store } = newStore();
    await storeWhole(store, 'm', 'f.bin', testBytes(2000));
    expect((await store.beginFile('m', 'f.bin', { bytes: 2000 })).chunksStored).toBe(2);
    const fresh = await store.beginFile('m', 'f.bin', { bytes: 2001 });
    expect(fresh).toMatchObject({ bytes: 2001, chunksStored: 0, bytesStored: 0, complete: false });
    expect((await store.storedChunkIndices('m', 'f.bin')).size).toBe(0);
  });

  it('reports usage per model and deletes one model without touching another', async () => {
    const { store } = newStore();
    await storeWhole(store, 'one', 'a.bin', testBytes(1500));
    await storeWhole(store, 'one', 'b/c.bin', testBytes(700));
    await storeWhole(store, 'one-two', 'a.bin', testBytes(300)); // a model id that extends another
    await store.saveManifest({
      id: 'one',
      revision: 'r',
      displayName: 'One',
      baseUrl: 'https://h/',
      files: [],
    });
    expect(await store.usage()).toEqual(
      expect.arrayContaining([
        { modelId: 'one', bytes: 2200 },
        { modelId: 'one-two', bytes: 300 },
      ]),
    );
    expect(await store.storedManifest('one')).toMatchObject({ displayName: 'One' });

    await store.deleteModel('one');
    expect(await store.usage()).toEqual([{ modelId: 'one-two', bytes: 300 }]);
    expect(await store.storedFile('one', 'a.bin')).toBeUndefined();
    expect((await store.storedChunkIndices('one', 'a.bin')).size).toBe(0);
    expect(await store.storedManifest('one')).toBeUndefined();
    expect((await store.storedChunkIndices('one-two', 'a.bin')).size).toBe(1);
  });

  it('stores an empty file as no chunks and reads it back empty', async () => {
    const { store } = newStore();
    await store.beginFile('m', 'empty.json', { bytes: 0 });
    await store.markComplete('m', 'empty.json');
    expect((await store.readFileAsBlob('m', 'empty.json')).size).toBe(0);
  });
});

describe('a chunk the browser cannot read back', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is dropped at once and stops the file, which stays incomplete', async () => {
    const { store } = newStore();
    const bytes = testBytes(3500);
    await store.beginFile('m', 'unet/model.onnx_data', { bytes: 3500 });
    await store.putChunk('m', 'unet/model.onnx_data', 0, bytes.subarray(0, CHUNK));
    await store.putChunk('m', 'unet/model.onnx_data', 1, bytes.subarray(CHUNK, 2 * CHUNK));
    // From here on, stored Blobs read as an off-the-record Chromium past its Blob memory does.
    const slice = Blob.prototype.slice;
    vi.spyOn(Blob.prototype, 'slice').mockImplementation(function (this: Blob, ...args) {
      const part = slice.apply(this, args);
      part.arrayBuffer = () =>
        Promise.reject(new DOMException('could not be read', 'NotReadableError'));
      return part;
    });
    const error = await store
      .putChunk('m', 'unet/model.onnx_data', 2, bytes.subarray(2 * CHUNK, 3 * CHUNK))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoredChunkUnreadableError);
    expect((error as Error).message).toMatch(/^unet\/model\.onnx_data: chunk 2 was stored/);
    expect([...(await store.storedChunkIndices('m', 'unet/model.onnx_data'))].sort()).toEqual([
      0, 1,
    ]);
    expect(await store.storedFile('m', 'unet/model.onnx_data')).toMatchObject({
      chunksStored: 2,
      bytesStored: 2 * CHUNK,
      complete: false,
    });
  });
});

describe('adaptive chunk size', () => {
  it('gives small files small chunks and caps big files at 16 MiB', async () => {
    const { adaptiveChunkSize } = await import('./chunk-store.ts');
    expect(adaptiveChunkSize(100)).toBe(64 * 1024);
    expect(adaptiveChunkSize(786_432)).toBe(64 * 1024); // tiny UNet data: 12 chunks
    expect(adaptiveChunkSize(200e6)).toBe(4 * 1024 * 1024); // ~48 chunks
    expect(adaptiveChunkSize(5.13e9)).toBe(16 * 1024 * 1024); // the fp16 UNet: capped
  });
});
