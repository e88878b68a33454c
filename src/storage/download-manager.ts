/**
 * Downloads a model manifest into the chunk store: sizes settled first, free space checked,
 * persistence asked for, then a few files at a time, each streamed in chunks and resumable.
 * The download can be paused, resumed and cancelled; whatever is stored stays stored.
 */
import { formatBytes } from './byte-units.ts';
import {
  DownloadCancelledError,
  StorageQuotaError,
  WeightDownloadError,
  WeightFileError,
  isQuotaExceeded,
} from './errors.ts';
import { downloadFile, type FileDownloadContext } from './file-download.ts';
import type { WeightStoreWriter } from './weight-store.ts';
import { remoteFileSize, type FetchFn } from './http-file.ts';
import {
  manifestKeptBytes,
  storedSizeMatches,
  type Manifest,
  type ManifestFile,
} from './manifest.ts';
import { ProgressTracker, type DownloadProgress } from './download-progress.ts';
import { browserStorageEnv, freeBytes, type StorageEnv } from './storage-env.ts';

export type { DownloadProgress, TransferProgress } from './download-progress.ts';

export interface DownloadOptions {
  store: WeightStoreWriter;
  /** Default: globalThis.fetch. */
  fetch?: FetchFn;
  /** Default: navigator.storage. */
  env?: StorageEnv;
  /** Files downloaded at once; default 3. */
  concurrency?: number;
  /** Attempts per request before giving up on a retryable failure; default 6. */
  maxAttempts?: number;
  /** Wait before retry `attempt` (0-based); default 1 s doubling to at most 30 s. */
  retryDelayMs?: (attempt: number) => number;
  /** How to wait (tests pass one that does not); must reject when `signal` aborts. */
  delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Re-read and check every chunk of files already complete; default false. */
  verifyComplete?: boolean;
  /** Default: performance.now. */
  now?: () => number;
  /** Least time between progress events; default 200 ms. */
  progressIntervalMs?: number;
}

export interface DownloadResult {
  /** The manifest as stored: exact sizes, without optional files the host does not have. */
  manifest: Manifest;
  /** Whether the browser agreed to keep the storage under pressure. */
  persisted: boolean;
  /** Files fetched in this run (the others were already stored). */
  fetchedFiles: string[];
}

export interface ModelDownload {
  /** Resolves when every file is stored and checked; rejects with the first failure. */
  readonly done: Promise<DownloadResult>;
  /** Stops fetching (the open requests are dropped; at most a partial chunk per file is lost). */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
}

export const DEFAULT_CONCURRENCY = 3;
export const DEFAULT_MAX_ATTEMPTS = 6;

export function defaultRetryDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** attempt);
}

export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Starts downloading `manifest` into `options.store`. */
export function downloadModel(manifest: Manifest, options: DownloadOptions): ModelDownload {
  const control = new RunControl(options.signal);
  const done = run(manifest, options, control);
  done.catch(() => {}); // the caller observes `done`; no unhandled-rejection noise before then
  return {
    done,
    pause: () => control.pause(),
    resume: () => control.resume(),
    get paused() {
      return control.paused;
    },
  };
}

class PausedSignal extends Error {
  override name = 'AbortError';
  constructor() {
    super('paused');
  }
}

/**
 * Pause, resume, cancel and fail-fast for all file downloads: each attempt runs under the
 * current AbortController; pausing or failing aborts it.
 */
class RunControl {
  paused = false;
  private failure: unknown = null;
  private attempt = new AbortController();
  private waiters: Array<() => void> = [];
  onResume: () => void = () => {};

  constructor(private readonly external?: AbortSignal) {
    if (external?.aborted) this.fail(new DownloadCancelledError());
    external?.addEventListener('abort', () => this.fail(new DownloadCancelledError()), {
      once: true,
    });
  }

  get failed(): unknown {
    return this.failure;
  }

  /** The signal for the next attempt, once the download is not paused. */
  async runnable(): Promise<AbortSignal> {
    while (this.paused && !this.failure) {
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
    if (this.failure) throw this.failure;
    return this.attempt.signal;
  }

  pause(): void {
    if (this.paused || this.failure) return;
    this.paused = true;
    this.attempt.abort(new PausedSignal());
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.attempt = new AbortController();
    this.onResume();
    this.wake();
  }

  /** The first failure wins; it stops every file download. */
  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error;
    this.attempt.abort(error);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

async function run(
  manifest: Manifest,
  options: DownloadOptions,
  control: RunControl,
): Promise<DownloadResult> {
  const store = options.store;
  const fetchFn: FetchFn = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const env = options.env ?? browserStorageEnv();
  const delay = options.delay ?? abortableDelay;
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const now = options.now ?? (() => performance.now());

  const resolved = await resolveSizes(manifest, fetchFn, control, maxAttempts, retryDelayMs, delay);
  const { id: modelId } = resolved;

  // Space check before the first byte: what is still missing against what the browser offers.
  let storedBefore = 0;
  for (const file of resolved.files) {
    const record = await store.storedFile(modelId, file.path);
    if (record && storedSizeMatches(file, record.bytes)) {
      storedBefore += record.bytesStored;
    }
  }
  // Files stored as fp16 need about half their download size.
  const needed = manifestKeptBytes(resolved) - storedBefore;
  const free = await freeBytes(env);
  if (free !== null && needed > free) {
    throw new StorageQuotaError(
      `Not enough browser storage for ${resolved.displayName}: it needs ${formatBytes(needed)} more, and ${formatBytes(free)} is free. Free some disk space (or delete another stored model) and try again.`,
      needed,
      free,
    );
  }
  const persisted = await env.persist();

  const tracker = new ProgressTracker(
    resolved.files,
    (progress) => options.onProgress?.(progress),
    now,
    options.progressIntervalMs,
  );
  control.onResume = () => tracker.resetRates();
  const ctx: FileDownloadContext = {
    modelId,
    store,
    fetch: fetchFn,
    verifyComplete: options.verifyComplete ?? false,
    maxAttempts,
    retryDelayMs,
    delay,
    runnable: () => control.runnable(),
    setLoaded: (path, bytes) => tracker.setLoaded(path, bytes),
    received: (path, bytes) => tracker.received(path, bytes),
    files: resolved.files,
  };

  // Largest first: the long files start early, the small ones fill the gaps.
  const queue = [...resolved.files].sort((a, b) => b.bytes - a.bytes);
  const absent = new Set<string>();
  const fetchedFiles: string[] = [];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const current = file;
      try {
        const outcome = await downloadFile(current, ctx);
        if (outcome === 'absent') {
          absent.add(current.path);
          tracker.remove(current.path);
        } else if (outcome === 'stored') {
          fetchedFiles.push(current.path);
        }
        tracker.maybeEmit(true);
      } catch (error) {
        control.fail(await explain(error, current, tracker, env));
        return;
      }
    }
  };
  const workers = Array.from(
    { length: Math.max(1, Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, queue.length)) },
    worker,
  );
  // Wait for every file download to stop (and its last chunk write to finish) before answering.
  await Promise.allSettled(workers);
  tracker.maybeEmit(true);
  if (control.failed) throw control.failed;

  const stored: Manifest = {
    ...resolved,
    files: resolved.files.filter((file) => !absent.has(file.path)),
  };
  await store.saveManifest(stored);
  return { manifest: stored, persisted, fetchedFiles };
}

/** Exact sizes for files the manifest only estimates, asked of the host (HEAD). */
async function resolveSizes(
  manifest: Manifest,
  fetchFn: FetchFn,
  control: RunControl,
  maxAttempts: number,
  retryDelayMs: (attempt: number) => number,
  delay: (ms: number, signal: AbortSignal) => Promise<void>,
): Promise<Manifest> {
  const files: ManifestFile[] = [];
  for (const file of manifest.files) {
    if (!file.bytesApproximate) {
      files.push(file);
      continue;
    }
    let bytes: number | null = null;
    for (let attempt = 0; ; attempt++) {
      const signal = await control.runnable();
      try {
        bytes = await remoteFileSize(file.path, file.url, fetchFn, signal);
        break;
      } catch (error) {
        if (signal.aborted) continue;
        const retryable = error instanceof WeightDownloadError && error.retryable;
        if (!retryable || attempt + 1 >= maxAttempts) throw error;
        await delay(retryDelayMs(attempt), signal).catch(() => {});
      }
    }
    if (bytes === null) {
      if (file.optional) continue;
      throw new WeightFileError(`${file.path}: ${file.url} does not exist (HTTP 404)`);
    }
    const exact: ManifestFile = { ...file, bytes };
    delete exact.bytesApproximate;
    files.push(exact);
  }
  return { ...manifest, files };
}

/** Turns a full disk into a message with the numbers; other errors pass through. */
async function explain(
  error: unknown,
  file: ManifestFile,
  tracker: ProgressTracker,
  env: StorageEnv,
): Promise<unknown> {
  if (!isQuotaExceeded(error)) return error;
  const needed = Math.max(0, tracker.totalBytes() - tracker.loadedBytes());
  const free = await freeBytes(env);
  return new StorageQuotaError(
    `The browser's storage is full: storing ${file.path} failed with ${formatBytes(needed)} still to download and ${free === null ? 'an unknown amount' : formatBytes(free)} free. The ${formatBytes(tracker.loadedBytes())} already stored are kept: free some disk space and resume.`,
    needed,
    free,
  );
}
