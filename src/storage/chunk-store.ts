/**
 * The weight store: model files in IndexedDB as fixed-size chunks, each with its own length and
 * CRC-32, plus one record per file that says how much of it is stored and whether it is
 * complete. Its own database, apart from anything else the app keeps.
 *
 * Why chunks: a 5 GB file can be neither downloaded into nor read back from one ArrayBuffer
 * (about 2 GB at most), a cut download must resume where it stopped, and a damaged piece must
 * be found and fetched again without starting over. Chunks are stored as Blobs: browsers keep
 * IndexedDB Blobs on disk and hand them back disk-backed, so a whole file comes back as a Blob
 * assembled from parts, without its bytes ever being in memory at once.
 *
 * Why not idb-keyval's createStore alone: it makes one object store per database, and a chunk
 * write must update the file record in the same transaction (or a crash between the two would
 * leave the record counting a chunk that is not there). So this file opens the database with
 * three stores and uses idb-keyval's helpers on them.
 */
import { crc32 } from 'hash-wasm';
import { entries, get, getMany, promisifyRequest, set, type UseStore } from 'idb-keyval';
import { MiB } from './byte-units.ts';
import {
  StoredChunkDamagedError,
  StoredChunkUnreadableError,
  WeightFileError,
  WeightStoreUnavailableError,
  errorMessage,
} from './errors.ts';
import type { Manifest } from './manifest.ts';
import type { StoredFile, WeightStore } from './weight-store.ts';

export const WEIGHT_DB_NAME = 'sdxl-turbo-weights';
export const DEFAULT_CHUNK_SIZE = 16 * MiB;

const CHUNKS = 'chunks';
const FILES = 'files';
const MANIFESTS = 'manifests';
const DB_VERSION = 1;

/** One stored piece of a file. */
export interface StoredChunk {
  data: Blob | ArrayBuffer;
  length: number;
  /** CRC-32 of the bytes (hex): cheap, and enough to notice a damaged or cut piece. */
  crc32: string;
}

export interface ChunkStoreOptions {
  /** Default 'sdxl-turbo-weights'; tests use one database each. */
  dbName?: string;
  /**
   * Bytes per chunk; default: adaptiveChunkSize of each file (64 KiB .. 16 MiB). A file keeps
   * the chunk size it was started with.
   */
  chunkSize?: number;
  /** Default: the global indexedDB. */
  indexedDB?: IDBFactory;
  /** Store chunk bytes as Blob (default; disk-backed in browsers) or ArrayBuffer. */
  chunkValue?: 'blob' | 'arraybuffer';
}

export function chunkCount(bytes: number, chunkSize: number): number {
  return Math.ceil(bytes / chunkSize);
}

/** The length chunk `index` of a file must have. */
export function chunkLength(bytes: number, chunkSize: number, index: number): number {
  return Math.max(0, Math.min(chunkSize, bytes - index * chunkSize));
}

export function chunkKey(modelId: string, path: string, index: number): string {
  return `${modelId}/${path}#${index}`;
}

function fileKey(modelId: string, path: string): string {
  return `${modelId}/${path}`;
}

/** Every key that starts with `prefix` ('\uffff' sorts after any character used in keys). */
function prefixRange(prefix: string): IDBKeyRange {
  return IDBKeyRange.bound(prefix, `${prefix}\uffff`);
}

function chunkBytesOf(data: Blob | ArrayBuffer): Promise<ArrayBuffer> | ArrayBuffer {
  return data instanceof Blob ? data.arrayBuffer() : data;
}

/** Smallest chunk of the adaptive size: small files still resume from the middle. */
const MIN_ADAPTIVE_CHUNK = 64 * 1024;
/** Adaptive chunks aim at this many per file (fewer for files over 1 GiB: capped at 16 MiB). */
const CHUNKS_PER_FILE = 64;

/**
 * Chunk size for a file of `bytes` when none is fixed: a power of two near bytes / 64, between
 * 64 KiB and 16 MiB, so a tokenizer file or a tiny test model resumes mid-file as a 5 GB UNet
 * does, without millions of records for the big ones.
 */
export function adaptiveChunkSize(bytes: number): number {
  let size = MIN_ADAPTIVE_CHUNK;
  while (size < DEFAULT_CHUNK_SIZE && size * CHUNKS_PER_FILE < bytes) size *= 2;
  return size;
}

/** The weight store in IndexedDB. */
export class ChunkStore implements WeightStore {
  /** The fixed chunk size, or null: chosen per file by adaptiveChunkSize. */
  readonly chunkSize: number | null;
  readonly dbName: string;
  private readonly factory: IDBFactory;
  private readonly asBlob: boolean;
  private opening: Promise<IDBDatabase> | null = null;

  constructor(options: ChunkStoreOptions = {}) {
    this.chunkSize = options.chunkSize ?? null;
    if (this.chunkSize !== null && (!Number.isSafeInteger(this.chunkSize) || this.chunkSize <= 0)) {
      throw new RangeError(`chunkSize must be a positive integer, not ${options.chunkSize}`);
    }
    this.dbName = options.dbName ?? WEIGHT_DB_NAME;
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!factory) {
      throw new WeightStoreUnavailableError(
        'This browser offers no IndexedDB: models cannot be stored.',
      );
    }
    this.factory = factory;
    this.asBlob = (options.chunkValue ?? 'blob') === 'blob';
  }

  /** The file's record, or undefined when nothing of it was ever stored. */
  storedFile(modelId: string, path: string): Promise<StoredFile | undefined> {
    return get<StoredFile>(fileKey(modelId, path), this.use(FILES));
  }

  /** Every file record of a model. */
  async storedFiles(modelId: string): Promise<StoredFile[]> {
    return this.use(FILES)('readonly', (store) =>
      promisifyRequest(store.getAll(prefixRange(`${modelId}/`)) as IDBRequest<StoredFile[]>),
    );
  }

  /**
   * Starts (or continues) storing a file. An existing record with the same size, chunk size
   * and expected hash is kept with its chunks, so a download resumes; anything else (a new
   * revision of the file) drops the old chunks and starts an empty record.
   */
  async beginFile(
    modelId: string,
    path: string,
    expect: { bytes: number; sha256?: string },
  ): Promise<StoredFile> {
    return this.transact('readwrite', [CHUNKS, FILES], async (tx) => {
      const files = tx.objectStore(FILES);
      const key = fileKey(modelId, path);
      const chunkSize = this.chunkSize ?? adaptiveChunkSize(expect.bytes);
      const existing = (await promisifyRequest(files.get(key))) as StoredFile | undefined;
      if (
        existing &&
        existing.bytes === expect.bytes &&
        existing.chunkSize === chunkSize &&
        existing.sha256 === expect.sha256
      ) {
        return existing;
      }
      tx.objectStore(CHUNKS).delete(prefixRange(`${key}#`));
      const record: StoredFile = {
        modelId,
        path,
        bytes: expect.bytes,
        chunkSize,
        chunksStored: 0,
        bytesStored: 0,
        complete: false,
        ...(expect.sha256 ? { sha256: expect.sha256 } : {}),
      };
      files.put(record, key);
      return record;
    });
  }

  /** The indices of the chunks that have a stored record (their bytes are not checked). */
  async storedChunkIndices(modelId: string, path: string): Promise<Set<number>> {
    const prefix = `${fileKey(modelId, path)}#`;
    const keys = await this.use(CHUNKS)('readonly', (store) =>
      promisifyRequest(store.getAllKeys(prefixRange(prefix))),
    );
    return new Set(keys.map((key) => Number(String(key).slice(prefix.length))));
  }

  /**
   * Stores chunk `index` of a file begun with {@link beginFile}. Its length must be the one
   * the file's size implies. Throws the IndexedDB error as is (QuotaExceededError included).
   */
  async putChunk(modelId: string, path: string, index: number, bytes: Uint8Array): Promise<void> {
    // Checksum and Blob first: a transaction closes when it waits on anything but its requests.
    const value: StoredChunk = {
      data: this.asBlob ? new Blob([bytes as Uint8Array<ArrayBuffer>]) : bytes.slice().buffer,
      length: bytes.byteLength,
      crc32: await crc32(bytes),
    };
    await this.transact('readwrite', [CHUNKS, FILES], async (tx) => {
      const files = tx.objectStore(FILES);
      const chunks = tx.objectStore(CHUNKS);
      const key = fileKey(modelId, path);
      const record = (await promisifyRequest(files.get(key))) as StoredFile | undefined;
      if (!record) throw new Error(`${path}: putChunk before beginFile`);
      const expected = chunkLength(record.bytes, record.chunkSize, index);
      if (
        !Number.isInteger(index) ||
        index < 0 ||
        index >= chunkCount(record.bytes, record.chunkSize)
      ) {
        throw new RangeError(`${path}: no chunk ${index} in a ${record.bytes}-byte file`);
      }
      if (bytes.byteLength !== expected) {
        throw new RangeError(
          `${path}: chunk ${index} must be ${expected} bytes, not ${bytes.byteLength}`,
        );
      }
      const had = await promisifyRequest(chunks.count(chunkKey(modelId, path, index)));
      chunks.put(value, chunkKey(modelId, path, index));
      if (had === 0) {
        record.chunksStored += 1;
        record.bytesStored += expected;
      }
      record.complete = false;
      files.put(record, key);
    });
    if (this.asBlob) await this.checkReadBack(modelId, path, index, bytes);
  }

  /**
   * Reads a stored chunk's last byte back. A browser can accept a Blob it will never hand back
   * (an off-the-record profile past its Blob memory): found here, the download stops at once,
   * not gigabytes later when the model fails to load.
   */
  private async checkReadBack(
    modelId: string,
    path: string,
    index: number,
    bytes: Uint8Array,
  ): Promise<void> {
    const chunk = await get<StoredChunk>(chunkKey(modelId, path, index), this.use(CHUNKS));
    const last = bytes.byteLength - 1;
    try {
      if (chunk?.data instanceof Blob) {
        const back = new Uint8Array(await chunk.data.slice(last).arrayBuffer());
        if (back[0] === bytes[last]) return;
      }
    } catch (error) {
      if (!(error instanceof DOMException)) throw error;
    }
    await this.deleteChunk(modelId, path, index);
    throw new StoredChunkUnreadableError(
      `${path}: chunk ${index} was stored, but this browser cannot read it back (a private window keeps stored files in memory, and only part of a large model stays readable).`,
    );
  }

  /** The chunk's bytes when they are all there and match their checksum; otherwise null. */
  async readChunk(modelId: string, path: string, index: number): Promise<Uint8Array | null> {
    const chunk = await get<StoredChunk>(chunkKey(modelId, path, index), this.use(CHUNKS));
    if (!chunk) return null;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await chunkBytesOf(chunk.data));
    } catch {
      return null; // a Blob whose backing file is gone or unreadable
    }
    if (bytes.byteLength !== chunk.length) return null;
    return (await crc32(bytes)) === chunk.crc32 ? bytes : null;
  }

  /** Indices of the file's chunks that are missing, cut short or damaged (reads every chunk). */
  async verifyChunks(modelId: string, path: string): Promise<number[]> {
    const record = await this.storedFile(modelId, path);
    if (!record) return [];
    const bad: number[] = [];
    for (let index = 0; index < chunkCount(record.bytes, record.chunkSize); index++) {
      const bytes = await this.readChunk(modelId, path, index);
      if (!bytes || bytes.byteLength !== chunkLength(record.bytes, record.chunkSize, index)) {
        bad.push(index);
      }
    }
    return bad;
  }

  /** Drops one chunk (a damaged one, before fetching it again); the file is no longer complete. */
  async deleteChunk(modelId: string, path: string, index: number): Promise<void> {
    await this.transact('readwrite', [CHUNKS, FILES], async (tx) => {
      const files = tx.objectStore(FILES);
      const chunks = tx.objectStore(CHUNKS);
      const key = fileKey(modelId, path);
      const record = (await promisifyRequest(files.get(key))) as StoredFile | undefined;
      chunks.delete(chunkKey(modelId, path, index));
      if (!record) return;
      // Counted again from the keys rather than decremented: a chunk that vanished behind the
      // store's back (found missing on load) was still counted in the record.
      const prefix = `${key}#`;
      const keys = await promisifyRequest(chunks.getAllKeys(prefixRange(prefix)));
      record.chunksStored = 0;
      record.bytesStored = 0;
      for (const stored of keys) {
        const at = Number(String(stored).slice(prefix.length));
        record.chunksStored += 1;
        record.bytesStored += chunkLength(record.bytes, record.chunkSize, at);
      }
      record.complete = false;
      files.put(record, key);
    });
  }

  /** Drops all of a file's chunks and empties its record (after a hash mismatch, or a restart). */
  async resetFile(modelId: string, path: string): Promise<void> {
    await this.transact('readwrite', [CHUNKS, FILES], async (tx) => {
      const files = tx.objectStore(FILES);
      const key = fileKey(modelId, path);
      tx.objectStore(CHUNKS).delete(prefixRange(`${key}#`));
      const record = (await promisifyRequest(files.get(key))) as StoredFile | undefined;
      if (record) {
        files.put({ ...record, chunksStored: 0, bytesStored: 0, complete: false }, key);
      }
    });
  }

  /** Forgets a file entirely (an optional file the host does not have). */
  async deleteFile(modelId: string, path: string): Promise<void> {
    await this.transact('readwrite', [CHUNKS, FILES], (tx) => {
      const key = fileKey(modelId, path);
      tx.objectStore(CHUNKS).delete(prefixRange(`${key}#`));
      tx.objectStore(FILES).delete(key);
    });
  }

  /**
   * Marks a file complete: every chunk must be stored and their lengths must add up to the
   * file's size. When the record expects a SHA-256, `sha256` (computed by the caller over the
   * bytes in order) must equal it, or this throws a WeightFileError naming the file.
   */
  async markComplete(modelId: string, path: string, sha256?: string): Promise<StoredFile> {
    return this.transact('readwrite', [FILES], async (tx) => {
      const files = tx.objectStore(FILES);
      const key = fileKey(modelId, path);
      const record = (await promisifyRequest(files.get(key))) as StoredFile | undefined;
      if (!record) throw new Error(`${path}: markComplete before beginFile`);
      const count = chunkCount(record.bytes, record.chunkSize);
      if (record.chunksStored !== count || record.bytesStored !== record.bytes) {
        throw new WeightFileError(
          `${path}: only ${record.chunksStored} of ${count} chunks (${record.bytesStored} of ${record.bytes} bytes) are stored`,
        );
      }
      if (record.sha256 && sha256 !== record.sha256) {
        throw new WeightFileError(
          `${path}: the downloaded file's SHA-256 is ${sha256 ?? '(not computed)'}, the manifest expects ${record.sha256}`,
        );
      }
      const complete: StoredFile = { ...record, complete: true };
      files.put(complete, key);
      return complete;
    });
  }

  /**
   * A complete file as one Blob, assembled from the chunk Blobs: in browsers these stay on
   * disk, so even a multi-gigabyte file costs no memory until it is read.
   */
  async readFileAsBlob(modelId: string, path: string): Promise<Blob> {
    const record = await this.storedFile(modelId, path);
    if (!record?.complete) {
      throw new Error(
        `${path} of model ${modelId} is ${record ? 'not completely' : 'not'} stored in this browser`,
      );
    }
    const count = chunkCount(record.bytes, record.chunkSize);
    const keys = Array.from({ length: count }, (_, index) => chunkKey(modelId, path, index));
    const chunks = await getMany<StoredChunk>(keys, this.use(CHUNKS));
    const parts: Array<Blob | ArrayBuffer> = [];
    for (const [index, chunk] of chunks.entries()) {
      const expected = chunkLength(record.bytes, record.chunkSize, index);
      const size = chunk
        ? chunk.data instanceof Blob
          ? chunk.data.size
          : chunk.data.byteLength
        : -1;
      if (!chunk || chunk.length !== expected || size !== expected) {
        throw await this.damaged(modelId, path, index, 'is missing or cut short');
      }
      parts.push(chunk.data);
    }
    return new Blob(parts);
  }

  /**
   * A complete file's bytes, every chunk checked against its CRC-32 (for files read whole into
   * memory anyway: graphs and tokenizer files). A chunk that is missing, cut short or damaged
   * is dropped and the file marked incomplete, so that the next download fetches it again; the
   * error names the file and the chunk.
   */
  async readFileVerified(modelId: string, path: string): Promise<Uint8Array> {
    const record = await this.storedFile(modelId, path);
    if (!record?.complete) {
      throw new Error(
        `${path} of model ${modelId} is ${record ? 'not completely' : 'not'} stored in this browser`,
      );
    }
    const out = new Uint8Array(record.bytes);
    for (let index = 0; index < chunkCount(record.bytes, record.chunkSize); index++) {
      const bytes = await this.readChunk(modelId, path, index);
      if (!bytes || bytes.byteLength !== chunkLength(record.bytes, record.chunkSize, index)) {
        throw await this.damaged(modelId, path, index, 'is missing or damaged (checksum)');
      }
      out.set(bytes, index * record.chunkSize);
    }
    return out;
  }

  /** Drops a bad chunk (the file is then incomplete) and says so, naming file and chunk. */
  private async damaged(
    modelId: string,
    path: string,
    index: number,
    what: string,
  ): Promise<StoredChunkDamagedError> {
    await this.deleteChunk(modelId, path, index);
    return new StoredChunkDamagedError(
      `${path}: stored chunk ${index} ${what}. The file is now marked incomplete: press Load model to download that part again.`,
    );
  }

  /** Deletes every chunk, file record and the manifest of a model. */
  async deleteModel(modelId: string): Promise<void> {
    await this.transact('readwrite', [CHUNKS, FILES, MANIFESTS], (tx) => {
      tx.objectStore(CHUNKS).delete(prefixRange(`${modelId}/`));
      tx.objectStore(FILES).delete(prefixRange(`${modelId}/`));
      tx.objectStore(MANIFESTS).delete(modelId);
    });
  }

  /** Bytes stored per model, from the file records (no chunk is read). */
  async usage(): Promise<Array<{ modelId: string; bytes: number }>> {
    const records = await entries<string, StoredFile>(this.use(FILES));
    const totals = new Map<string, number>();
    for (const [, record] of records) {
      totals.set(record.modelId, (totals.get(record.modelId) ?? 0) + record.bytesStored);
    }
    return [...totals].map(([modelId, bytes]) => ({ modelId, bytes }));
  }

  /** Keeps a model's manifest, so the model can be listed and loaded offline. */
  saveManifest(manifest: Manifest): Promise<void> {
    return set(manifest.id, manifest, this.use(MANIFESTS));
  }

  /** The stored manifest (as saved; parse it before trusting it across app versions). */
  storedManifest(modelId: string): Promise<unknown> {
    return get(modelId, this.use(MANIFESTS));
  }

  async storedManifests(): Promise<unknown[]> {
    const all = await entries(this.use(MANIFESTS));
    return all.map(([, manifest]) => manifest as unknown);
  }

  /** Closes the database connection (tests; deleting the database). Reopens on next use. */
  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = null;
    if (opening) (await opening).close();
  }

  private db(): Promise<IDBDatabase> {
    if (!this.opening) {
      this.opening = this.open().then((db) => {
        // Another tab upgrading or deleting the database: let it, and reopen on next use.
        db.onversionchange = () => {
          db.close();
          this.opening = null;
        };
        return db;
      });
      this.opening.catch(() => (this.opening = null));
    }
    return this.opening;
  }

  /**
   * Opens the database. A browser that has IndexedDB but will not open it (a SecurityError
   * thrown at once, or an error event, as in some private windows) is a store that is not there.
   */
  private async open(): Promise<IDBDatabase> {
    const unavailable = (error: unknown) =>
      new WeightStoreUnavailableError(
        `This browser does not let the app open its storage (IndexedDB: ${errorMessage(error)}).`,
      );
    let request: IDBOpenDBRequest;
    try {
      request = this.factory.open(this.dbName, DB_VERSION);
    } catch (error) {
      throw unavailable(error);
    }
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const name of [CHUNKS, FILES, MANIFESTS]) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name);
      }
    };
    try {
      return await promisifyRequest(request);
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** One object store as idb-keyval's UseStore, for its get/set/getMany/entries helpers. */
  private use(name: string): UseStore {
    return async (mode, callback) => {
      const db = await this.db();
      return callback(db.transaction(name, mode).objectStore(name));
    };
  }

  /**
   * Runs `body` in one transaction over `stores` and resolves with its result once the
   * transaction has committed. A throw inside `body` aborts the transaction.
   */
  private async transact<T>(
    mode: IDBTransactionMode,
    stores: string[],
    body: (tx: IDBTransaction) => T | Promise<T>,
  ): Promise<T> {
    const db = await this.db();
    const tx = db.transaction(stores, mode);
    const committed = promisifyRequest(tx);
    let result: T;
    try {
      result = await body(tx);
    } catch (error) {
      try {
        tx.abort();
      } catch {
        // already finished or aborted
      }
      await committed.catch(() => {});
      throw error;
    }
    await committed;
    return result;
  }
}
