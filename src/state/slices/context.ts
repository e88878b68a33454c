/**
 * What every slice of the app store is built with. The slices follow zustand's slice pattern
 * (each returns its part of the state and actions, and the parts are spread into one store),
 * with two differences that the old single store had for good reasons and that must not change:
 * every write goes through `set`, which derives `status` from the whole new state, and a few
 * operations are shared between slices (a finished download starts a load, a loaded model asks
 * for a live image), so they are reached through `shared`, wired once by store.ts.
 */
import type { WorkerEvent } from '../../protocol/messages';
import type { AppData, AppState, StoreDeps, UiErrorCode } from '../app-state';

/** The operations one slice owns and others call. */
export interface SharedOps {
  /** Posts 'load-model' (model slice); `id` reuses a finished plan's id. */
  startLoad(baseUrl: string, id?: number): void;
  /** Posts 'generate' with the current parameters (generation slice). */
  requestGeneration(live: boolean): boolean;
  /** In live mode, asks for the image of the current parameters (generation slice). */
  requestLive(): void;
  /** Cancels a pending full-VAE decode of a preview frame (generation slice). */
  stopFullDecode(): void;
  /** Forgets when a request was asked for (its latency will not be reported). */
  forgetRequest(id: number): void;
  forgetAllRequests(): void;
}

export interface SliceContext {
  deps: StoreDeps;
  get: () => AppState;
  /** Every change goes through here so `status` never disagrees with the other fields. */
  set: (patch: Partial<AppData>) => void;
  /** An edit of what the image is made from: applied, then live mode asks for its image. */
  edit: (patch: Partial<AppData>) => void;
  fail: (code: UiErrorCode, message: string, requestId: number | null, fatal?: boolean) => void;
  /** Ids for requests to the worker; one sequence for all slices (the worker orders by it). */
  newRequestId: () => number;
  /** Clock for latency figures. */
  now: () => number;
  shared: SharedOps;
}

/** Handlers for the worker's events, by type; each type is handled by exactly one slice. */
export type EventHandlers = {
  [K in WorkerEvent['type']]: (ev: Extract<WorkerEvent, { type: K }>) => void;
};

/**
 * A slice: its part of the store's state and actions, and the worker events it answers
 * (`Events`, so the store can check at compile time that every event has a handler).
 */
export interface Slice<Part extends Partial<AppState>, Events extends WorkerEvent['type'] = never> {
  state: Part;
  on: Pick<EventHandlers, Events>;
}
