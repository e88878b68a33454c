/**
 * Downloads a manifest file marked `storeAs: 'fp16'` and stores it converted to fp16
 * (src/pipeline/onnx/fp16-convert.ts), so a 14 GB fp32 export is kept in about 7 GB.
 *
 *  - A graph file is fetched whole, checked (an ONNX model; no operator that no backend has),
 *    converted and stored. Graphs are small (weights in external data) or below protobuf's
 *    2 GB, so this holds one graph in memory, as loading it later does anyway.
 *  - An external data file is converted as it streams, chunk by chunk, into the store. Its
 *    converted layout follows from the graph alone, so the (small) source graph is fetched
 *    first; a stored prefix of converted chunks maps to a source offset, and a resumed download
 *    asks the host only for the source bytes after it (one Range request).
 *
 * Source-byte checks: the host's Content-Length / Content-Range against the manifest's size,
 * no HTML page or LFS pointer, and every tensor inside the file (the converter checks that the
 * graph's tensors lie within the bytes received). Stored chunks carry their own checksums, as
 * for any file. A SHA-256 of the source cannot be checked after a mid-file resume (the earlier
 * source bytes are not kept), so manifests of converted files list none.
 */
import { convertModelToFloat16 } from '../pipeline/onnx/fp16-convert.ts';
import {
  ExternalDataConverter,
  resumePoint,
  type ExternalFileLayout,
} from '../pipeline/onnx/fp16-external-data.ts';
import { operatorRefusal } from '../pipeline/onnx/webgpu-operators.ts';
import { ByteChunker } from './byte-chunker.ts';
import { chunkCount } from './chunk-store.ts';
import { WeightDownloadError, WeightFileError, errorMessage } from './errors.ts';
import {
  bodyPieces,
  checkFileAnswer,
  checkFirstBytes,
  failedAttempt,
  fetchFile,
} from './file-request.ts';
import type { FileDownloadContext, FileOutcome } from './file-download.ts';
import type { ManifestFile } from './manifest.ts';

export async function downloadAsFloat16(
  file: ManifestFile,
  ctx: FileDownloadContext,
): Promise<FileOutcome> {
  const existing = await ctx.store.storedFile(ctx.modelId, file.path);
  // A converted file's chunks were checked as they were stored, and every read checks them
  // again; there is no source hash to re-check them against (see the module comment).
  if (existing?.complete) {
    ctx.setLoaded(file.path, file.bytes);
    return 'already-stored';
  }
  if (file.role === 'graph') {
    await storeConvertedGraph(file, ctx);
  } else {
    await storeConvertedExternalData(file, ctx);
  }
  ctx.setLoaded(file.path, file.bytes);
  return 'stored';
}

/** Runs `attempt` until it succeeds, on the download's pause/retry rules. */
async function withRetries<T>(
  ctx: FileDownloadContext,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  let failures = 0;
  for (;;) {
    const signal = await ctx.runnable();
    try {
      return await attempt(signal);
    } catch (error) {
      failures = await failedAttempt(error, signal, failures, ctx);
    }
  }
}

/** The whole source file in memory, its length checked against the manifest. */
async function fetchWhole(
  file: ManifestFile,
  signal: AbortSignal,
  ctx: FileDownloadContext,
  countProgress: boolean,
): Promise<Uint8Array> {
  const response = await request(file, signal, ctx);
  const bytes = new Uint8Array(file.bytes);
  let received = 0;
  for await (const piece of bodyPieces(response, file, signal)) {
    if (received === 0) checkFirstBytes(file, piece);
    if (received + piece.byteLength > file.bytes) {
      throw new WeightFileError(
        `${file.path}: ${file.url} sent more than the ${file.bytes} bytes expected`,
      );
    }
    bytes.set(piece, received);
    received += piece.byteLength;
    if (countProgress) {
      ctx.received(file.path, piece.byteLength);
      ctx.setLoaded(file.path, received);
    }
  }
  if (received < file.bytes) {
    throw new WeightDownloadError(
      `${file.path}: the download from ${file.url} ended after ${received} of ${file.bytes} bytes`,
      true,
    );
  }
  return bytes;
}

async function storeConvertedGraph(file: ManifestFile, ctx: FileDownloadContext): Promise<void> {
  const source = await withRetries(ctx, (signal) => fetchWhole(file, signal, ctx, true));
  const converted = convertGraph(file, source).model;
  const { store, modelId } = ctx;
  const record = await store.beginFile(modelId, file.path, { bytes: converted.byteLength });
  for (let index = 0; index < chunkCount(converted.byteLength, record.chunkSize); index++) {
    const start = index * record.chunkSize;
    await store.putChunk(
      modelId,
      file.path,
      index,
      converted.subarray(start, start + record.chunkSize),
    );
  }
  await store.markComplete(modelId, file.path);
}

function convertGraph(file: ManifestFile, source: Uint8Array) {
  try {
    const refusal = operatorRefusal(file.graph ?? file.path, source, 'any');
    if (refusal) throw new Error(refusal);
    return convertModelToFloat16(source);
  } catch (error) {
    throw new WeightFileError(`${file.path}: ${errorMessage(error)}`);
  }
}

/** The converted layout of `file`, from its (fp32) graph, fetched again if need be (small). */
async function layoutOf(file: ManifestFile, ctx: FileDownloadContext): Promise<ExternalFileLayout> {
  const graphFile = ctx.files?.find((f) => f.role === 'graph' && f.graph === file.graph);
  if (!graphFile) throw new WeightFileError(`${file.path}: the manifest lists no graph for it`);
  const source = await withRetries(ctx, (signal) => fetchWhole(graphFile, signal, ctx, false));
  const folder = graphFile.path.slice(0, graphFile.path.lastIndexOf('/') + 1);
  const layout = convertGraph(graphFile, source).externalFiles.find(
    (l) => folder + l.location === file.path,
  );
  if (!layout) throw new WeightFileError(`${file.path}: ${graphFile.path} does not name it`);
  if (layout.sourceBytes > file.bytes) {
    throw new WeightFileError(
      `${file.path}: ${graphFile.path} needs ${layout.sourceBytes} bytes of it, the file has ${file.bytes}`,
    );
  }
  return layout;
}

async function storeConvertedExternalData(
  file: ManifestFile,
  ctx: FileDownloadContext,
): Promise<void> {
  const layout = await layoutOf(file, ctx);
  const { store, modelId } = ctx;
  const record = await store.beginFile(modelId, file.path, { bytes: layout.outputBytes });
  const count = chunkCount(layout.outputBytes, record.chunkSize);
  // The stored prefix: chunks stored in order and still sound.
  const present = await store.storedChunkIndices(modelId, file.path);
  let next = 0;
  while (next < count && present.has(next)) {
    if (!(await store.readChunk(modelId, file.path, next))) {
      await store.deleteChunk(modelId, file.path, next);
      break;
    }
    next += 1;
  }
  const state = { next };
  while (state.next < count) {
    ctx.setLoaded(file.path, resumePoint(layout, state.next * record.chunkSize).sourceOffset);
    await withRetries(ctx, (signal) =>
      streamConverted(file, layout, record.chunkSize, state, signal, ctx),
    );
  }
  await store.markComplete(modelId, file.path);
}

/**
 * Fetches the source from where the stored chunks end and stores the converted chunks as they
 * fill; `state.next` advances past each chunk stored, so a break loses at most one chunk.
 */
async function streamConverted(
  file: ManifestFile,
  layout: ExternalFileLayout,
  chunkSize: number,
  state: { next: number },
  signal: AbortSignal,
  ctx: FileDownloadContext,
): Promise<void> {
  const start = resumePoint(layout, state.next * chunkSize);
  if (start.outputOffset !== state.next * chunkSize) {
    throw new Error(`${file.path}: chunk size ${chunkSize} splits a float16 value`);
  }
  const response = await request(file, signal, ctx, start.sourceOffset, layout.sourceBytes);
  // A host that ignores Range sends the file from its start: skip what is stored.
  let skip = response.status === 200 ? start.sourceOffset : 0;
  let position = start.sourceOffset;
  const converter = new ExternalDataConverter(layout, start);
  const chunker = new ByteChunker(chunkSize);
  const store = async (bytes: Uint8Array) => {
    await ctx.store.putChunk(ctx.modelId, file.path, state.next, bytes);
    state.next += 1;
    ctx.setLoaded(file.path, resumePoint(layout, state.next * chunkSize).sourceOffset);
  };
  for await (let piece of bodyPieces(response, file, signal)) {
    ctx.received(file.path, piece.byteLength);
    if (skip > 0) {
      const dropped = Math.min(skip, piece.byteLength);
      skip -= dropped;
      piece = piece.subarray(dropped);
    }
    if (position === 0 && piece.byteLength) checkFirstBytes(file, piece);
    piece = piece.subarray(0, Math.max(0, layout.sourceBytes - position)); // bytes no tensor uses
    position += piece.byteLength;
    for (const chunk of chunker.push(converter.push(piece))) await store(chunk);
    if (position >= layout.sourceBytes) break;
  }
  if (!converter.done) {
    throw new WeightDownloadError(
      `${file.path}: the download from ${file.url} ended after ${position} of ${layout.sourceBytes} bytes`,
      true,
    );
  }
  const rest = chunker.rest();
  if (rest.byteLength) await store(rest);
}

/** GET (a range of) the file, with the status, page and range checks of any download. */
async function request(
  file: ManifestFile,
  signal: AbortSignal,
  ctx: FileDownloadContext,
  start = 0,
  stop = file.bytes,
): Promise<Response> {
  const response = await fetchFile(ctx.fetch, file, signal, start, stop);
  checkFileAnswer(file, response, start, stop);
  return response;
}
