/**
 * Downloads one file of a manifest into the chunk store, streaming: the body is cut into
 * chunks as it arrives and each chunk is stored before the next one is started, so memory
 * holds at most about two chunks per file, never the file.
 *
 * The file is walked in chunk order. Chunks already stored are read back and checked (and fed
 * to the SHA-256 when the manifest has one); each run of missing or damaged chunks is fetched
 * with one Range request. So a resumed download fetches only what is missing, a damaged chunk
 * costs one chunk of traffic, and the hash covers the whole file in order without a second pass.
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import { chunkCount, chunkLength } from './chunk-store.ts';
import type { WeightStoreWriter } from './weight-store.ts';
import { ByteChunker } from './byte-chunker.ts';
import { WeightDownloadError, WeightFileError } from './errors.ts';
import {
  bodyPieces,
  checkFileAnswer,
  checkFirstBytes,
  discardBody,
  failedAttempt,
  fetchFile,
} from './file-request.ts';
import { statusError, type FetchFn } from './http-file.ts';
import type { ManifestFile } from './manifest.ts';
import { downloadAsFloat16 } from './fp16-file-download.ts';

export interface FileDownloadContext {
  modelId: string;
  store: WeightStoreWriter;
  fetch: FetchFn;
  /** Re-read and check the chunks of files already marked complete. */
  verifyComplete: boolean;
  maxAttempts: number;
  retryDelayMs(attempt: number): number;
  delay(ms: number, signal: AbortSignal): Promise<void>;
  /**
   * Resolves with the signal for the next attempt once the download may run (waits while
   * paused); rejects when the download is cancelled or failed elsewhere. The signal aborts
   * on pause, cancel or failure.
   */
  runnable(): Promise<AbortSignal>;
  setLoaded(path: string, bytes: number): void;
  received(path: string, bytes: number): void;
  /** Every file of the manifest (a file stored as fp16 needs its graph's). */
  files?: readonly ManifestFile[];
}

export type FileOutcome = 'stored' | 'already-stored' | 'absent';

/** Where the walk through a file stands; kept across attempts, pauses and retries. */
interface Walk {
  file: ManifestFile;
  chunkSize: number;
  count: number;
  /** Chunks with a stored record (maybe unchecked). */
  present: Set<number>;
  /** Every chunk before this one is stored, checked and hashed. */
  next: number;
  /** Bytes of the chunks in `present`. */
  storedBytes: number;
  hasher: IHasher | null;
  /** Something was fetched (not everything was already stored and sound). */
  fetched: boolean;
}

export async function downloadFile(
  file: ManifestFile,
  ctx: FileDownloadContext,
): Promise<FileOutcome> {
  // Stored converted to fp16 as it arrives: its own walk (fp16-file-download.ts).
  if (file.storeAs === 'fp16') return downloadAsFloat16(file, ctx);
  const { store, modelId } = ctx;
  const expect = { bytes: file.bytes, ...(file.sha256 ? { sha256: file.sha256 } : {}) };
  const record = await store.beginFile(modelId, file.path, expect);
  if (record.complete && !ctx.verifyComplete) {
    ctx.setLoaded(file.path, file.bytes);
    return 'already-stored';
  }
  const walk: Walk = {
    file,
    chunkSize: record.chunkSize,
    count: chunkCount(file.bytes, record.chunkSize),
    present: await store.storedChunkIndices(modelId, file.path),
    next: 0,
    storedBytes: 0,
    hasher: file.sha256 ? (await createSHA256()).init() : null,
    fetched: false,
  };
  for (const index of walk.present) walk.storedBytes += lengthOf(walk, index);
  ctx.setLoaded(file.path, walk.storedBytes);

  let attempt = 0;
  while (walk.next < walk.count) {
    const signal = await ctx.runnable();
    if (walk.present.has(walk.next)) {
      const bytes = await store.readChunk(modelId, file.path, walk.next);
      if (bytes) {
        walk.hasher?.update(bytes);
        walk.next += 1;
        continue;
      }
      // Damaged or cut short: drop it and fetch it again below.
      await store.deleteChunk(modelId, file.path, walk.next);
      walk.present.delete(walk.next);
      walk.storedBytes -= lengthOf(walk, walk.next);
      ctx.setLoaded(file.path, walk.storedBytes);
    }
    let end = walk.next + 1;
    while (end < walk.count && !walk.present.has(end)) end += 1;
    const before = walk.next;
    try {
      const outcome = await fetchChunks(walk, end, signal, ctx);
      if (outcome === 'absent') return 'absent';
    } catch (error) {
      ctx.setLoaded(file.path, walk.storedBytes);
      if (walk.next > before) attempt = 0; // progress was made: count failures afresh
      attempt = await failedAttempt(error, signal, attempt, ctx);
    }
  }
  if (walk.count === 0) await checkEmptyFile(walk, ctx);

  const sha256 = walk.hasher?.digest('hex');
  try {
    await store.markComplete(modelId, file.path, sha256);
  } catch (error) {
    // A wrong hash cannot say which chunk is wrong: the next attempt starts the file over.
    if (error instanceof WeightFileError && sha256 !== undefined) {
      await store.resetFile(modelId, file.path);
      ctx.setLoaded(file.path, 0);
    }
    throw error;
  }
  ctx.setLoaded(file.path, file.bytes);
  return walk.fetched ? 'stored' : 'already-stored';
}

function lengthOf(walk: Walk, index: number): number {
  return chunkLength(walk.file.bytes, walk.chunkSize, index);
}

/**
 * Fetches chunks [walk.next, end) with one request and stores them as they fill. Advances
 * `walk.next` past every chunk stored, so a failure midway loses at most a partial chunk.
 */
async function fetchChunks(
  walk: Walk,
  end: number,
  signal: AbortSignal,
  ctx: FileDownloadContext,
): Promise<'done' | 'absent'> {
  const { file } = walk;
  walk.fetched = true;
  const start = walk.next * walk.chunkSize;
  const stop = Math.min(end * walk.chunkSize, file.bytes);
  const ranged = start > 0 || stop < file.bytes;
  const response = await fetchFile(ctx.fetch, file, signal, start, stop);
  if ((response.status === 404 || response.status === 410) && file.optional) {
    discardBody(response);
    await ctx.store.deleteFile(ctx.modelId, file.path);
    return 'absent';
  }
  checkFileAnswer(file, response, start, stop);
  if (ranged && response.status === 200) {
    // The server ignored Range and is sending the whole file: start the file over from this
    // body, cleanly (no chunk of the old attempt survives to be mixed with the new one).
    await ctx.store.resetFile(ctx.modelId, file.path);
    walk.present.clear();
    walk.next = 0;
    walk.storedBytes = 0;
    walk.hasher?.init();
    ctx.setLoaded(file.path, 0);
    return streamInto(walk, response, 0, file.bytes, walk.count, signal, ctx);
  }
  return streamInto(walk, response, start, stop, end, signal, ctx);
}

async function streamInto(
  walk: Walk,
  response: Response,
  start: number,
  stop: number,
  end: number,
  signal: AbortSignal,
  ctx: FileDownloadContext,
): Promise<'done'> {
  const { file } = walk;
  const chunker = new ByteChunker(walk.chunkSize);
  const expected = stop - start;
  let received = 0;
  let index = walk.next;
  // At most one chunk is being written while the next one fills.
  let pending: Promise<void> | null = null;
  const store = (bytes: Uint8Array) => {
    const at = index++;
    const write = ctx.store.putChunk(ctx.modelId, file.path, at, bytes).then(() => {
      walk.hasher?.update(bytes);
      if (!walk.present.has(at)) walk.storedBytes += bytes.byteLength;
      walk.present.add(at);
      walk.next = at + 1;
    });
    write.catch(() => {}); // observed when awaited; no unhandled-rejection noise meanwhile
    return write;
  };
  const settle = async () => {
    const write = pending;
    pending = null;
    if (write) await write;
  };
  try {
    for await (const value of bodyPieces(response, file, signal)) {
      if (received === 0 && start === 0) checkFirstBytes(file, value);
      received += value.byteLength;
      if (received > expected) {
        throw new WeightFileError(
          `${file.path}: ${file.url} sent more than the ${expected} bytes expected (the file on the server is not the one in the manifest)`,
        );
      }
      ctx.received(file.path, value.byteLength);
      // Stored chunks are in walk.storedBytes; add what is received but not stored yet.
      ctx.setLoaded(file.path, walk.storedBytes + received - storedFrom(walk, start, stop));
      for (const chunk of chunker.push(value)) {
        await settle();
        pending = store(chunk);
      }
    }
    if (received < expected) {
      throw new WeightDownloadError(
        `${file.path}: the download from ${file.url} ended after ${start + received} of ${file.bytes} bytes`,
        true,
      );
    }
    const rest = chunker.rest();
    await settle();
    if (rest.byteLength > 0) await store(rest);
  } catch (error) {
    // (Leaving the loop has cancelled the body.)
    await settle(); // a failed write is the better error (a full disk beats a cut connection)
    throw error;
  }
  if (walk.next !== end) {
    throw new Error(`${file.path}: stored up to chunk ${walk.next}, expected ${end}`);
  }
  return 'done';
}

/** Bytes of the response for [start, stop) already stored (and so in walk.storedBytes). */
function storedFrom(walk: Walk, start: number, stop: number): number {
  return Math.max(0, Math.min(walk.next * walk.chunkSize, stop) - start);
}

/** A zero-byte file needs no chunk, but the server must still have it. */
async function checkEmptyFile(walk: Walk, ctx: FileDownloadContext): Promise<void> {
  const signal = await ctx.runnable();
  const response = await fetchFile(ctx.fetch, walk.file, signal);
  discardBody(response);
  if (!response.ok) throw statusError(walk.file.path, walk.file.url, response);
}
