/**
 * The one app store: the user's settings, what the worker reported, and the actions that talk
 * to it. It is a vanilla zustand store so tests can drive it without React, and it reaches the
 * worker only through the injected `WorkerPort`. Its state and actions come from slices, one
 * concern each (./slices): the engine worker's life and errors, the model and its downloads,
 * the image parameters, the input image, and generation with live mode. The gallery is its own
 * store (./history.ts). This file only composes the slices; the types are in ./app-state.ts.
 */
import { createStore } from 'zustand/vanilla';
import type { WorkerEvent } from '../protocol/messages';
import { randomSeed as cryptoRandomSeed } from './seed';
import {
  deriveStatus,
  type AppData,
  type AppState,
  type AppStore,
  type StoreDeps,
} from './app-state';
import type { EventHandlers, SharedOps, SliceContext } from './slices/context';
import { createEngineSlice } from './slices/engine';
import { createModelSlice } from './slices/model';
import { createParametersSlice } from './slices/parameters';
import { createImageInputSlice } from './slices/image-input';
import { createGenerationSlice } from './slices/generation';

export * from './app-state';
export { PREVIEW_IDLE_MS } from './slices/generation';

export function createAppStore(deps: StoreDeps): AppStore {
  const nextSeed = deps.randomSeed ?? cryptoRandomSeed;
  const pageHref = deps.pageHref ?? (() => globalThis.location?.href ?? 'http://localhost/');
  let nextRequestId = 1;

  return createStore<AppState>()((setRaw, get) => {
    const set = (patch: Partial<AppData>) =>
      setRaw((s) => ({ ...patch, status: deriveStatus({ ...s, ...patch }) }));
    // Filled below from the slices that own each operation; called only after creation.
    const shared = {} as SharedOps;
    const ctx: SliceContext = {
      deps,
      get,
      set,
      edit: (patch) => {
        set(patch);
        shared.requestLive();
      },
      fail: (code, message, requestId, fatal = false) =>
        set({ error: { code, message, requestId }, ...(fatal ? { fatal: true } : {}) }),
      newRequestId: () => nextRequestId++,
      now: deps.now ?? (() => performance.now()),
      shared,
    };

    const engine = createEngineSlice(ctx);
    const model = createModelSlice(ctx, pageHref);
    const parameters = createParametersSlice(ctx, nextSeed);
    const imageInput = createImageInputSlice(ctx);
    const generation = createGenerationSlice(ctx, nextSeed);
    // Typed as SharedOps: the compiler checks that some slice provides each one.
    const provided: SharedOps = { ...model.shared, ...generation.shared };
    Object.assign(shared, provided);

    // Typed as all of them: the compiler checks that every worker event has a handler
    // (and the slices' `Handled` types check that each one names real events).
    const handlers: EventHandlers = {
      ...engine.on,
      ...model.on,
      ...parameters.on,
      ...imageInput.on,
      ...generation.on,
    };

    const onEvent = (ev: WorkerEvent): void => {
      const handler = handlers[ev.type] as ((ev: WorkerEvent) => void) | undefined;
      if (handler) handler(ev);
      else console.warn('Unknown worker event', ev);
    };

    return {
      ...engine.state,
      ...model.state,
      ...parameters.state,
      ...imageInput.state,
      ...generation.state,
      // Derived by `set` after every change; the worker has not said 'ready' yet.
      status: 'starting',
      handleWorkerEvent: (ev) => {
        if (get().fatal) return; // an incompatible or dead worker: ignore whatever it says
        onEvent(ev);
      },
    };
  });
}
