/**
 * What can go wrong while downloading and storing model weights. Each class maps onto one of
 * the worker's error codes, so the UI can explain it; every message names the file.
 */

/** The network or the server failed (after retries, where a retry could help). */
export class WeightDownloadError extends Error {
  override name = 'WeightDownloadError';
  constructor(
    message: string,
    /** True for failures another attempt may fix: a dropped connection, a 5xx, a cut body. */
    readonly retryable = false,
  ) {
    super(message);
  }
}

/** The server sent something that is not the file: an HTML page, the wrong size, a bad hash. */
export class WeightFileError extends Error {
  override name = 'WeightFileError';
}

/** The browser's storage is too small or full; the message says how much is needed and free. */
export class StorageQuotaError extends Error {
  override name = 'StorageQuotaError';
  constructor(
    message: string,
    readonly neededBytes: number,
    readonly freeBytes: number | null,
  ) {
    super(message);
  }
}

/**
 * The browser has no usable IndexedDB (none at all, or it refuses to open the database, as some
 * private windows do). Models can still stream from their host for one visit.
 */
export class WeightStoreUnavailableError extends Error {
  override name = 'WeightStoreUnavailableError';
}

/**
 * A stored file is damaged or incomplete (a chunk missing, cut short or failing its checksum).
 * The damaged chunk has been dropped and the file marked incomplete, so the next download of
 * the model fetches exactly that part again.
 */
export class StoredChunkDamagedError extends Error {
  override name = 'StoredChunkDamagedError';
}

/** The download was cancelled through its AbortSignal. Stored chunks are kept. */
export class DownloadCancelledError extends Error {
  override name = 'AbortError';
  constructor(message = 'The model download was cancelled.') {
    super(message);
  }
}

/**
 * A chunk was stored but the browser cannot read it back. Chromium's off-the-record profiles
 * (private windows) hold IndexedDB's Blobs in memory, up to a limit; each one stored past it
 * reads as NotReadableError at once. The chunk has been dropped.
 */
export class StoredChunkUnreadableError extends Error {
  override name = 'StoredChunkUnreadableError';
}

/** IndexedDB (or a fake of it) reports a full disk or quota as a DOMException with this name. */
export function isQuotaExceeded(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'QuotaExceededError'
  );
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
