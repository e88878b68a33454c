/**
 * The weight store's interface: what downloading, loading and the worker's storage service
 * may ask of the stored model files. ChunkStore (IndexedDB, ./chunk-store.ts) implements it.
 * It is one interface so the three users cannot drift apart; each user takes the narrow
 * `Pick` it needs, so a test can hand it a wrapper with only those methods.
 */
import type { Manifest } from './manifest.ts';

/** What the store knows about one file. */
export interface StoredFile {
  modelId: string;
  path: string;
  bytes: number;
  chunkSize: number;
  /** How many of the file's chunks are stored (not necessarily a prefix). */
  chunksStored: number;
  bytesStored: number;
  /** Every chunk stored, the total size checked, and the SHA-256 checked when one is expected. */
  complete: boolean;
  /** The expected SHA-256 (from the manifest); once complete, the file's verified hash. */
  sha256?: string;
}

export interface WeightStore {
  /** The file's record, or undefined when nothing of it was ever stored. */
  storedFile(modelId: string, path: string): Promise<StoredFile | undefined>;
  /** Every file record of a model. */
  storedFiles(modelId: string): Promise<StoredFile[]>;
  /** Starts (or resumes, when size and hash match the record) storing a file. */
  beginFile(
    modelId: string,
    path: string,
    expect: { bytes: number; sha256?: string },
  ): Promise<StoredFile>;
  /** The indices of the chunks that have a stored record (their bytes are not checked). */
  storedChunkIndices(modelId: string, path: string): Promise<Set<number>>;
  putChunk(modelId: string, path: string, index: number, bytes: Uint8Array): Promise<void>;
  /** The chunk's bytes when they are all there and match their checksum; otherwise null. */
  readChunk(modelId: string, path: string, index: number): Promise<Uint8Array | null>;
  /** Indices of the file's chunks that are missing, cut short or damaged. */
  verifyChunks(modelId: string, path: string): Promise<number[]>;
  deleteChunk(modelId: string, path: string, index: number): Promise<void>;
  /** Drops all of a file's chunks and empties its record. */
  resetFile(modelId: string, path: string): Promise<void>;
  deleteFile(modelId: string, path: string): Promise<void>;
  /** Marks a file complete (all chunks, right total size, the expected SHA-256 if any). */
  markComplete(modelId: string, path: string, sha256?: string): Promise<StoredFile>;
  /** A complete file as one Blob assembled from its chunks (disk-backed in browsers). */
  readFileAsBlob(modelId: string, path: string): Promise<Blob>;
  /** A complete file's bytes, every chunk checked; a bad chunk marks the file incomplete. */
  readFileVerified(modelId: string, path: string): Promise<Uint8Array>;
  /** Deletes every chunk, file record and the manifest of a model. */
  deleteModel(modelId: string): Promise<void>;
  /** Bytes stored per model. */
  usage(): Promise<Array<{ modelId: string; bytes: number }>>;
  saveManifest(manifest: Manifest): Promise<void>;
  /** The stored manifest as saved (parse it before trusting it across app versions). */
  storedManifest(modelId: string): Promise<unknown>;
  storedManifests(): Promise<unknown[]>;
  close(): Promise<void>;
}

/** What a download writes with (a test can wrap it to inject failures). */
export type WeightStoreWriter = Pick<
  WeightStore,
  | 'storedFile'
  | 'beginFile'
  | 'storedChunkIndices'
  | 'readChunk'
  | 'putChunk'
  | 'deleteChunk'
  | 'resetFile'
  | 'deleteFile'
  | 'markComplete'
  | 'saveManifest'
>;

/** What loading a stored model reads with. */
export type WeightStoreReader = Pick<
  WeightStore,
  'readFileAsBlob' | 'readFileVerified' | 'storedFile' | 'storedManifests'
>;
