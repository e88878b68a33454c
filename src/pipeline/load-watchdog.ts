/**
 * Loading stages and the watchdog that turns a silent hang into an error.
 *
 * The loader reports each stage of each graph (reading its files from storage or the network,
 * creating its session while the runtime reads the weights) and the engine reports the
 * warm-up. Every byte read is progress. A stage whose promise has not settled and that made
 * no progress for the stage's limit fails with LoadStalledError, naming the graph and the
 * stage: the page shows it with Retry instead of "Loading…" forever.
 *
 * Limits: a read that is pending with no bytes for READ_STALL_MS is a stall (local disk and
 * IndexedDB deliver megabytes per second; only a lost read waits that long). Without a
 * pending read, the runtime may be computing (graph optimization, shader compilation on a
 * software GPU), so only a much longer silence, IDLE_STALL_MS, counts.
 */

export type LoadStage = 'reading' | 'creating-session' | 'warm-up';

export interface LoadStageReport {
  graph: string;
  stage: LoadStage;
  /** Bytes of this stage done so far (read from storage, or weights read by the runtime). */
  loadedBytes: number;
  /** Bytes the stage will read, 0 when unknown. */
  totalBytes: number;
}

export const READ_STALL_MS = 60_000;
export const IDLE_STALL_MS = 600_000;

export const STAGE_LABELS: Record<LoadStage, string> = {
  reading: 'reading its files',
  'creating-session': 'creating its session (uploading weights)',
  'warm-up': 'the warm-up image',
};

export class LoadStalledError extends Error {
  override name = 'LoadStalledError';
  constructor(
    readonly graph: string,
    readonly stage: LoadStage,
    readonly silentMs: number,
  ) {
    super(
      `Loading stalled: ${graph}, ${STAGE_LABELS[stage]}, made no progress for ${Math.round(silentMs / 1000)} s.`,
    );
  }
}

export interface WatchdogClock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const systemClock: WatchdogClock = {
  now: () => performance.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export interface LoadWatchdogOptions {
  onStage?: (report: LoadStageReport) => void;
  readStallMs?: number;
  idleStallMs?: number;
  clock?: WatchdogClock;
}

/** One stage being watched: progress calls keep it alive. */
export interface StageHandle {
  /** Progress: bytes done (and total), and whether a read is waiting right now. */
  progress(loadedBytes: number, totalBytes?: number, readPending?: boolean): void;
}

export class LoadWatchdog {
  private readonly clock: WatchdogClock;
  private readonly readStallMs: number;
  private readonly idleStallMs: number;

  constructor(private readonly options: LoadWatchdogOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.readStallMs = options.readStallMs ?? READ_STALL_MS;
    this.idleStallMs = options.idleStallMs ?? IDLE_STALL_MS;
  }

  /**
   * Runs `work` as `stage` of `graph`. The work gets a handle to report progress with; the
   * result rejects with LoadStalledError when the stage goes silent past its limit (the work
   * itself cannot be cancelled: the caller drops it).
   */
  async watch<T>(
    graph: string,
    stage: LoadStage,
    work: (handle: StageHandle) => Promise<T>,
  ): Promise<T> {
    let last = this.clock.now();
    // Reading files is waiting on reads from the start; a session's reads are reported.
    let pending = stage === 'reading';
    let report: LoadStageReport = { graph, stage, loadedBytes: 0, totalBytes: 0 };
    this.options.onStage?.(report);
    const handle: StageHandle = {
      progress: (loadedBytes, totalBytes = report.totalBytes, readPending = false) => {
        // Bytes arriving, or a read starting or settling, is progress; a read that stays
        // pending with no bytes is not.
        if (loadedBytes !== report.loadedBytes || readPending !== pending) last = this.clock.now();
        pending = readPending;
        report = { graph, stage, loadedBytes, totalBytes };
        this.options.onStage?.(report);
      },
    };
    let timer: unknown;
    const stalled = new Promise<never>((_, reject) => {
      timer = this.clock.setInterval(
        () => {
          const silent = this.clock.now() - last;
          if (silent > (pending ? this.readStallMs : this.idleStallMs)) {
            reject(new LoadStalledError(graph, stage, silent));
          }
        },
        Math.min(this.readStallMs, 5_000),
      );
    });
    try {
      return await Promise.race([work(handle), stalled]);
    } finally {
      this.clock.clearInterval(timer);
    }
  }
}
