/**
 * Progress of a model download, per file and in total, with speed and time left. Loaded bytes
 * include what was already stored before this run; speed counts only bytes from the network.
 */
import { TransferRate } from './transfer-rate.ts';

export interface TransferProgress {
  loadedBytes: number;
  totalBytes: number;
  bytesPerSecond: number;
  /** null while the speed is unknown (nothing received yet, or paused). */
  secondsLeft: number | null;
}

export interface DownloadProgress {
  total: TransferProgress;
  files: Record<string, TransferProgress>;
}

interface FileState {
  loaded: number;
  total: number;
  rate: TransferRate;
}

export class ProgressTracker {
  private readonly files = new Map<string, FileState>();
  private readonly rate: TransferRate;
  private lastEmit = -Infinity;

  constructor(
    files: ReadonlyArray<{ path: string; bytes: number }>,
    private readonly emit: (progress: DownloadProgress) => void,
    private readonly now: () => number,
    private readonly intervalMs = 200,
  ) {
    this.rate = new TransferRate(now);
    for (const file of files) {
      this.files.set(file.path, { loaded: 0, total: file.bytes, rate: new TransferRate(now) });
    }
  }

  /** Sets how much of a file is stored or on its way (it can go down after a failed attempt). */
  setLoaded(path: string, bytes: number): void {
    const file = this.files.get(path);
    if (file) file.loaded = bytes;
    this.maybeEmit();
  }

  /** Counts bytes that came from the network, for the speed. */
  received(path: string, bytes: number): void {
    this.files.get(path)?.rate.add(bytes);
    this.rate.add(bytes);
  }

  /** A file the host does not have (optional): it no longer counts. */
  remove(path: string): void {
    this.files.delete(path);
    this.maybeEmit(true);
  }

  /** After a pause the idle time must not read as a slow connection. */
  resetRates(): void {
    this.rate.reset();
    for (const file of this.files.values()) file.rate.reset();
  }

  loadedBytes(): number {
    let sum = 0;
    for (const file of this.files.values()) sum += file.loaded;
    return sum;
  }

  totalBytes(): number {
    let sum = 0;
    for (const file of this.files.values()) sum += file.total;
    return sum;
  }

  snapshot(): DownloadProgress {
    const files: Record<string, TransferProgress> = {};
    for (const [path, file] of this.files) {
      files[path] = transfer(file.loaded, file.total, file.rate.bytesPerSecond());
    }
    return {
      total: transfer(this.loadedBytes(), this.totalBytes(), this.rate.bytesPerSecond()),
      files,
    };
  }

  /** Emits now, or when the last emit is at least `intervalMs` old (progress events are cheap,
   * but not at one per network read). */
  maybeEmit(force = false): void {
    const at = this.now();
    if (!force && at - this.lastEmit < this.intervalMs) return;
    this.lastEmit = at;
    this.emit(this.snapshot());
  }
}

function transfer(loaded: number, total: number, bytesPerSecond: number): TransferProgress {
  const left = Math.max(0, total - loaded);
  return {
    loadedBytes: loaded,
    totalBytes: total,
    bytesPerSecond,
    secondsLeft: left === 0 ? 0 : bytesPerSecond > 0 ? left / bytesPerSecond : null,
  };
}
