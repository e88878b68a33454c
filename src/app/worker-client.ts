/**
 * The page's end of the worker channel: starts the engine worker, posts typed requests and
 * hands every event to the store. The store checks the protocol version of 'ready', so all
 * interpretation of events stays in one place; this file only checks that a message looks
 * like an event at all. It never imports onnxruntime-web: that lives in the worker only.
 */
import type { WorkerEvent, WorkerRequest } from '../protocol/messages';
import type { WorkerPort } from '../state/store';

/** Where events go (the store's state satisfies this). */
export interface WorkerEventSink {
  handleWorkerEvent(ev: WorkerEvent): void;
  workerFailed(message: string): void;
}

/** The part of `Worker` the client uses, so tests can pass a fake. */
export interface WorkerLike {
  postMessage(message: WorkerRequest): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent<unknown>) => void): void;
  addEventListener(type: 'messageerror', listener: (ev: MessageEvent<unknown>) => void): void;
  addEventListener(type: 'error', listener: (ev: Event) => void): void;
}

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
 * Wires a worker to a sink and returns the port the store posts through. `sink` is read on
 * every event, so it may refer to a store created after this call (events arrive later).
 */
export function connectWorker(worker: WorkerLike, sink: () => WorkerEventSink): WorkerPort {
  worker.addEventListener('message', (ev) => {
    if (looksLikeEvent(ev.data)) sink().handleWorkerEvent(ev.data);
    else sink().workerFailed('The engine sent a message this page cannot read.');
  });
  worker.addEventListener('messageerror', () => {
    sink().workerFailed('A message from the engine could not be deserialized.');
  });
  worker.addEventListener('error', (ev) => {
    // A module worker that fails to load fires a bare Event; an uncaught exception an ErrorEvent.
    const message = (ev as Partial<ErrorEvent>).message;
    const detail =
      typeof message === 'string' && message !== ''
        ? message
        : 'The engine worker failed to start.';
    sink().workerFailed(detail);
  });
  return { post: (req) => worker.postMessage(req) };
}
