/**
 * The page's end of the worker channel: starts the engine worker, posts typed requests, hands
 * every event to the store, and keeps the engine alive. The store checks the protocol version
 * of 'ready', so all interpretation of events stays in one place; this file only checks that a
 * message looks like an event at all, and watches the worker's health:
 *
 * - a worker that stops answering pings (crashed, closed, stuck in a loop) is replaced;
 * - an uncaught error after start-up replaces it too (a request in flight would never end);
 * - a lost GPU device replaces it: onnxruntime-web binds to one GPUDevice for the lifetime of
 *   its wasm module (`env.webgpu.device` can only be set before the first session), so a fresh
 *   worker is the way to a fresh device. The store then reloads the model (from this browser's
 *   storage when it is stored there).
 *
 * It never imports onnxruntime-web: that lives in the worker only.
 */
import type { WorkerEvent, WorkerRequest } from '../protocol/messages';
import type { EngineActivity, RestartReason, WorkerPort } from '../state/store';

/** Where events go (the store's state satisfies this). */
export interface WorkerEventSink {
  handleWorkerEvent(ev: WorkerEvent): void;
  /** The worker failed; `fatal` when it cannot be used at all any more. */
  workerFailed(message: string, fatal?: boolean): void;
  /** The worker was replaced by a fresh one; whatever was in flight is lost. */
  engineRestarted(reason: RestartReason, detail: string): void;
  engineActivity(): EngineActivity;
}

/** The part of `Worker` the client uses, so tests can pass a fake. */
export interface WorkerLike {
  postMessage(message: WorkerRequest): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent<unknown>) => void): void;
  addEventListener(type: 'messageerror', listener: (ev: MessageEvent<unknown>) => void): void;
  addEventListener(type: 'error', listener: (ev: Event) => void): void;
  terminate(): void;
}

export interface Clock {
  now(): number;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const browserClock: Clock = {
  now: () => performance.now(),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export const PING_INTERVAL_MS = 2_000;
/**
 * How long the worker may stay silent before it counts as hung. Idle, it answers a ping within
 * milliseconds. A WebGPU generation awaits the GPU, so the worker thread stays free; but model
 * loading parses graphs on that thread, and a wasm-backend run blocks it for a whole
 * session.run (minutes for the full-size UNet on a CPU).
 */
export const SILENCE_LIMIT_MS: Record<EngineActivity, number> = {
  idle: 10_000,
  busy: 180_000,
  'busy-wasm': 15 * 60_000,
};
/** More restarts than this within the window means restarting does not help. */
export const MAX_RESTARTS = 3;
export const RESTART_WINDOW_MS = 5 * 60_000;

/** Starts the engine. Vite bundles the worker from this exact `new URL(..., import.meta.url)` form. */
export function createEngineWorker(): Worker {
  return new Worker(new URL('../worker/worker.ts', import.meta.url), {
    type: 'module',
    name: 'sdxl-turbo-engine',
  });
}

function looksLikeEvent(data: unknown): data is WorkerEvent {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { type?: unknown }).type === 'string'
  );
}

/**
 * Starts a worker with `createWorker`, wires it to `sink` and supervises it; returns the port
 * the store posts through (always to the current worker). `sink` is read on every event, so
 * it may refer to a store created after this call (events arrive later).
 */
export function superviseEngine(
  createWorker: () => WorkerLike,
  sink: () => WorkerEventSink,
  clock: Clock = browserClock,
): WorkerPort & { stop(): void } {
  let worker: WorkerLike;
  /** This worker said 'ready'; before that, a failure means it cannot start at all. */
  let ready = false;
  let everReady = false;
  /**
   * When the oldest unanswered ping was sent (null: everything answered). Counting from the
   * ping rather than from the last message means a page frozen in a background tab does not
   * mistake its own sleep for the worker's silence.
   */
  let awaitingSince: number | null = null;
  let nextPing = 1;
  let restarts: number[] = [];
  let stopped = false;

  const start = () => {
    const current = createWorker();
    worker = current;
    ready = false;
    awaitingSince = null;
    // Events of a replaced worker (still draining) are not this engine's any more.
    const live = () => current === worker && !stopped;
    current.addEventListener('message', (ev) => {
      if (!live()) return;
      awaitingSince = null;
      if (!looksLikeEvent(ev.data)) {
        sink().workerFailed('The engine sent a message this page cannot read.');
        return;
      }
      const event = ev.data;
      if (event.type === 'pong') return;
      if (event.type === 'error' && event.id === null && event.error.code === 'device-lost') {
        // Not an error to show: the restart notice says what happened and what comes next.
        restart('device-lost', event.error.message);
        return;
      }
      if (event.type === 'ready') ready = everReady = true;
      sink().handleWorkerEvent(event);
      if (event.type === 'error' && event.error.code === 'load-stalled') {
        // The runtime in that worker still waits on the lost read: a fresh worker is the only
        // clean state to retry in. The error stays on screen, with Retry.
        current.terminate();
        start();
      }
    });
    current.addEventListener('messageerror', () => {
      if (live()) sink().workerFailed('A message from the engine could not be deserialized.');
    });
    current.addEventListener('error', (ev) => {
      if (!live()) return;
      // A module worker that fails to load fires a bare Event; an uncaught exception an ErrorEvent.
      const message = (ev as Partial<ErrorEvent>).message;
      const detail =
        typeof message === 'string' && message !== ''
          ? message
          : 'The engine worker failed to start.';
      // Never started: restarting the same script would fail the same way.
      if (!everReady) sink().workerFailed(detail, true);
      else restart('crashed', `The engine stopped with an uncaught error: ${detail}`);
    });
  };

  const restart = (reason: RestartReason, detail: string) => {
    const now = clock.now();
    restarts = [...restarts.filter((t) => now - t < RESTART_WINDOW_MS), now];
    worker.terminate();
    if (restarts.length > MAX_RESTARTS) {
      stopped = true;
      clock.clearInterval(timer);
      sink().workerFailed(
        `The engine failed ${restarts.length} times within ${RESTART_WINDOW_MS / 60_000} minutes ` +
          `(last: ${detail}). Reload the page to try again.`,
        true,
      );
      return;
    }
    start();
    sink().engineRestarted(reason, detail);
  };

  const heartbeat = () => {
    if (stopped || !ready) return;
    const now = clock.now();
    const silentFor = awaitingSince === null ? 0 : now - awaitingSince;
    if (silentFor > SILENCE_LIMIT_MS[sink().engineActivity()]) {
      restart('hung', `The engine did not answer for ${Math.round(silentFor / 1000)} s.`);
      return;
    }
    awaitingSince ??= now;
    worker.postMessage({ type: 'ping', id: nextPing++ });
  };

  start();
  const timer = clock.setInterval(heartbeat, PING_INTERVAL_MS);
  return {
    post: (req) => {
      if (!stopped) worker.postMessage(req);
    },
    stop: () => {
      stopped = true;
      clock.clearInterval(timer);
      worker.terminate();
    },
  };
}
