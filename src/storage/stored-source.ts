/**
 * A model stored in this browser as a ModelSource for the pipeline's loader: tokenizer files
 * as text, graphs as bytes, and external data as Blobs assembled from the stored chunks (disk-
 * backed, so gigabytes of weights reach onnxruntime-web without passing through one buffer).
 */
import type { ModelSource } from '../pipeline/model-loader.ts';
import type { StoredFile, WeightStore, WeightStoreReader } from './weight-store.ts';
import { StoredChunkDamagedError } from './errors.ts';
import { parseManifest, storedSizeMatches, type Manifest } from './manifest.ts';

/** ModelSource plus the Blob read that large external data needs (see the report's proposal). */
export interface BlobModelSource extends ModelSource {
  readBlob(
    path: string,
    onProgress?: (loadedBytes: number, totalBytes: number) => void,
  ): Promise<Blob>;
}

/** A stored file the loader asked for is not there (or not complete). */
export class StoredFileMissingError extends Error {
  override name = 'StoredFileMissingError';
}

/** Reads the files of `manifest` from `store`; paths are the manifest's (standard layout). */
export function storedSource(store: WeightStoreReader, manifest: Manifest): BlobModelSource {
  const listed = new Set(manifest.files.map((file) => file.path));
  const sizes = new Map(
    // A file stored as fp16 has its own size once stored: unknown here.
    manifest.files.filter((file) => file.storeAs !== 'fp16').map((file) => [file.path, file.bytes]),
  );
  const locate = (path: string) => `${manifest.displayName} (stored in this browser): ${path}`;
  const read = async <T>(path: string, how: (id: string, path: string) => Promise<T>) => {
    // Not listed is "absent" (optional tokenizer files are read that way), not corrupt.
    if (!listed.has(path))
      throw new StoredFileMissingError(`${locate(path)} is not part of the model`);
    try {
      return await how(manifest.id, path);
    } catch (error) {
      // A damaged chunk keeps its class (the store has dropped it; the message says what next).
      if (error instanceof StoredChunkDamagedError) {
        throw new StoredChunkDamagedError(
          `${manifest.displayName} (stored in this browser): ${error.message}`,
        );
      }
      throw new StoredFileMissingError(`${locate(path)}: ${(error as Error).message}`);
    }
  };
  // Blobs are checked for every chunk's presence and length; bytes read whole (graphs, tokenizer
  // files) also for every chunk's CRC-32. Re-reading gigabytes of external data just to check
  // it would double the load time: that is the download's job (verifyComplete).
  const readBlob = (path: string) => read(path, (id, p) => store.readFileAsBlob(id, p));
  const readBytes = (path: string) => read(path, (id, p) => store.readFileVerified(id, p));
  return {
    locate,
    readText: async (path) => new TextDecoder().decode(await readBytes(path)),
    readBytes: async (path, onProgress) => {
      const bytes = await readBytes(path);
      onProgress?.(bytes.byteLength, bytes.byteLength);
      return bytes;
    },
    sizeOf: (path) => sizes.get(path),
    readBlob: async (path, onProgress) => {
      const blob = await readBlob(path);
      // Nothing is read yet; the runtime reads the Blob when it creates the session.
      onProgress?.(blob.size, blob.size);
      return blob;
    },
  };
}

export interface StoredModelStatus {
  /** Every required file is stored and complete. */
  complete: boolean;
  storedBytes: number;
  totalBytes: number;
  /** Required files not (completely) stored. */
  missing: string[];
}

/** How much of a manifest is in the store, from the file records (no chunk is read). */
export async function storedModelStatus(
  store: Pick<WeightStore, 'storedFile'>,
  manifest: Manifest,
): Promise<StoredModelStatus> {
  let storedBytes = 0;
  let totalBytes = 0;
  const missing: string[] = [];
  for (const file of manifest.files) {
    const record: StoredFile | undefined = await store.storedFile(manifest.id, file.path);
    const matches = record !== undefined && storedSizeMatches(file, record.bytes);
    totalBytes += file.bytes;
    if (matches) storedBytes += record.bytesStored;
    if (!(matches && record.complete) && !file.optional) missing.push(file.path);
  }
  return { complete: missing.length === 0, storedBytes, totalBytes, missing };
}

/**
 * The stored, complete model that was downloaded from `baseUrl` (or has that id), or null: the
 * worker loads it from the store instead of the network, which also works offline.
 */
export async function findStoredModel(
  store: WeightStoreReader,
  baseUrlOrId: string,
): Promise<Manifest | null> {
  const wanted = baseUrlOrId.endsWith('/') ? baseUrlOrId : `${baseUrlOrId}/`;
  for (const raw of await store.storedManifests()) {
    let manifest: Manifest;
    try {
      manifest = parseManifest(raw);
    } catch {
      continue; // saved by another app version, in a shape this one does not read
    }
    if (manifest.id !== baseUrlOrId && manifest.baseUrl !== wanted) continue;
    if ((await storedModelStatus(store, manifest)).complete) return manifest;
  }
  return null;
}
