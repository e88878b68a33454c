import type { ModelSource } from '../pipeline/model-loader.ts';

/** A model file could not be fetched; the message says which and why. */
export class DownloadError extends Error {
  override name = 'DownloadError';
}

/** The base URL as a directory URL (trailing slash), resolved against the app's own URL. */
export function modelBaseUrl(baseUrl: string, relativeTo: string): URL {
  const trimmed = baseUrl.trim();
  if (!trimmed) throw new DownloadError('No model URL given.');
  let url: URL;
  try {
    url = new URL(trimmed.endsWith('/') ? trimmed : `${trimmed}/`, relativeTo);
  } catch {
    throw new DownloadError(`"${trimmed}" is not a valid URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DownloadError(`Model URLs must be http(s), not ${url.protocol}`);
  }
  return url;
}

/**
 * Model files fetched over HTTP with a plain fetch. Cookies are never sent to a model host
 * (credentials: 'omit'), so a custom URL cannot ride on the user's logins.
 */
/** Just under 2 GiB: the largest ArrayBuffer some browsers allow is 2^31 - 1 bytes. */
export const MAX_BUFFER_BYTES = 2 ** 31 - 1;
/** Pieces a streamed file is gathered in before they become part of its Blob. */
export const BLOB_PIECE_BYTES = 64 * 2 ** 20;

export interface FetchSourceOptions {
  /** Largest file read into one buffer (graphs); larger ones must be read as Blobs. */
  maxBufferBytes?: number;
  /** Bytes gathered before they are handed to a Blob (the most held at once per file). */
  blobPieceBytes?: number;
}

export function fetchSource(
  base: URL,
  /** Where each file lives when it is not base + path (hosted builds with their own names). */
  urlOf: (path: string) => string | undefined = () => undefined,
  options: FetchSourceOptions = {},
): ModelSource & { readBlob: NonNullable<ModelSource['readBlob']> } {
  const maxBufferBytes = options.maxBufferBytes ?? MAX_BUFFER_BYTES;
  const blobPieceBytes = options.blobPieceBytes ?? BLOB_PIECE_BYTES;
  const locate = (path: string) => urlOf(path) ?? new URL(path, base).href;
  const get = async (path: string): Promise<Response> => {
    const url = locate(path);
    let response: Response;
    try {
      response = await fetch(url, { credentials: 'omit' });
    } catch (error) {
      throw new DownloadError(`Could not reach ${url}: ${(error as Error).message}`);
    }
    if (!response.ok)
      throw new DownloadError(
        `${url} answered HTTP ${response.status} ${response.statusText}`.trim(),
      );
    return response;
  };
  return {
    locate,
    readText: async (path) => (await get(path)).text(),
    readBytes: async (path, onProgress) => {
      const response = await get(path);
      const declared = Number(response.headers.get('Content-Length') ?? NaN);
      if (declared > maxBufferBytes) {
        throw new DownloadError(
          `${locate(path)} is ${declared} bytes, more than one buffer holds (${maxBufferBytes})`,
        );
      }
      if (!response.body) return new Uint8Array(await response.arrayBuffer());
      // Read in chunks to report progress; the pieces are joined once at the end.
      const chunks: Uint8Array[] = [];
      let loaded = 0;
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loaded += value.byteLength;
        onProgress?.(loaded, Number.isFinite(declared) ? declared : loaded);
      }
      // Fewer bytes than declared is a cut connection. More is a compressed transfer
      // (Content-Length counts the encoded bytes), which fetch has already decoded.
      if (Number.isFinite(declared) && loaded < declared) {
        throw new DownloadError(`${locate(path)} ended after ${loaded} of ${declared} bytes`);
      }
      if (loaded > maxBufferBytes) {
        throw new DownloadError(
          `${locate(path)} is ${loaded} bytes, more than one buffer holds (${maxBufferBytes})`,
        );
      }
      const bytes = new Uint8Array(loaded);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return bytes;
    },
    // External data ("Load without storing"): gathered into a Blob piece by piece, never one
    // buffer per file, so files of any size reach onnxruntime-web (which reads Blob ranges).
    readBlob: async (path, onProgress) => {
      const response = await get(path);
      const declared = Number(response.headers.get('Content-Length') ?? NaN);
      if (!response.body) return response.blob();
      const parts: Blob[] = [];
      let piece: Uint8Array<ArrayBuffer>[] = [];
      let pieceBytes = 0;
      let loaded = 0;
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        piece.push(value as Uint8Array<ArrayBuffer>);
        pieceBytes += value.byteLength;
        loaded += value.byteLength;
        if (pieceBytes >= blobPieceBytes) {
          parts.push(new Blob(piece));
          piece = [];
          pieceBytes = 0;
        }
        onProgress?.(loaded, Number.isFinite(declared) ? declared : loaded);
      }
      if (Number.isFinite(declared) && loaded < declared) {
        throw new DownloadError(`${locate(path)} ended after ${loaded} of ${declared} bytes`);
      }
      parts.push(new Blob(piece));
      return new Blob(parts);
    },
  };
}
