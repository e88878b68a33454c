/**
 * The engine worker's life as the page sees it: its 'ready' (protocol check, capabilities,
 * the first listing and the automatic load), its errors (tied to a request or not), its
 * failures and restarts, and what it is busy with for the page's watchdog. Errors live here
 * because one error can end a plan, a download, a load or a generation alike.
 */
import { PROTOCOL_VERSION } from '../../protocol/messages';
import type { AppActions, AppData } from '../app-state';
import type { Slice, SliceContext } from './context';

type EngineData = Pick<
  AppData,
  'capabilities' | 'workerReady' | 'fatal' | 'error' | 'restartNotice'
>;
type EngineActions = Pick<
  AppActions,
  | 'clearError'
  | 'reportError'
  | 'workerFailed'
  | 'engineRestarted'
  | 'engineActivity'
  | 'dismissRestartNotice'
>;

/** The worker events this slice answers. */
type Handled = 'ready' | 'error' | 'pong';

export function createEngineSlice(ctx: SliceContext): Slice<EngineData & EngineActions, Handled> {
  const { deps, get, set, fail, shared } = ctx;
  let autoLoad = deps.initial?.autoLoad ?? false;
  /** The model to load again once a restarted worker is ready. */
  let reloadAfterRestart: string | null = null;

  return {
    state: {
      capabilities: null,
      workerReady: false,
      fatal: false,
      error: null,
      restartNotice: null,

      clearError: () => {
        if (!get().fatal) set({ error: null });
      },
      reportError: (error) => {
        if (!get().fatal) set({ error });
      },

      workerFailed: (message, fatal = !get().workerReady) => {
        if (get().fatal) return;
        // Before 'ready' the worker never came up; after it, the request in flight is lost.
        set({ load: null, generatingId: null });
        fail('worker-failed', message, null, fatal);
      },

      engineRestarted: (reason, message) => {
        const s = get();
        if (s.fatal) return;
        // A second failure before the fresh worker was ready keeps the reload it was waiting for.
        reloadAfterRestart = s.load?.baseUrl ?? s.model?.baseUrl ?? reloadAfterRestart;
        shared.forgetAllRequests();
        set({
          workerReady: false,
          load: null,
          planning: null,
          download: null,
          model: null,
          generatingId: null,
          // The worker's own last words (e.g. the device-lost error) are explained by the notice.
          error: null,
          restartNotice: { reason, message, reloading: reloadAfterRestart !== null },
        });
      },

      engineActivity: () => {
        const s = get();
        const busyOn = s.load?.backend ?? (s.generatingId !== null ? s.model?.backend : null);
        if (busyOn === 'wasm' || (busyOn === 'auto' && s.capabilities?.webgpu === false)) {
          return 'busy-wasm';
        }
        if (busyOn || s.planning || s.download) return 'busy';
        return 'idle';
      },

      dismissRestartNotice: () => set({ restartNotice: null }),
    },
    on: {
      ready: (ev) => {
        if (ev.protocolVersion !== PROTOCOL_VERSION) {
          fail(
            'protocol-mismatch',
            `The page speaks worker protocol ${PROTOCOL_VERSION}, the worker speaks ${String(ev.protocolVersion)}.`,
            null,
            true,
          );
          return;
        }
        set({
          workerReady: true,
          capabilities: ev.capabilities,
          hostedModels: ev.hostedModels ?? [],
        });
        // Housekeeping requests use id 0: their answers are not matched to a request.
        deps.port.post({ type: 'list-models', id: 0 });
        if (reloadAfterRestart !== null) {
          const baseUrl = reloadAfterRestart;
          reloadAfterRestart = null;
          shared.startLoad(baseUrl);
        } else if (autoLoad) {
          autoLoad = false;
          if (get().modelUrl.trim() !== '') get().loadModel();
        }
      },
      error: (ev) => {
        const s = get();
        if (ev.error.code === 'storage-unavailable' && s.download?.id !== ev.id) {
          // Not a failure to show: the model is loaded for this visit instead of stored,
          // and the storage panel says that models stream each visit.
          set({ storageUnavailable: true });
          if (ev.id !== null && s.planning?.id === ev.id) {
            set({ planning: null });
            shared.startLoad(s.planning.baseUrl);
          }
          return;
        }
        if (ev.id !== null) shared.forgetRequest(ev.id);
        else shared.stopFullDecode(); // the device went away: nothing more to decode
        if (ev.id !== null && s.planning?.id === ev.id) set({ planning: null });
        if (ev.id !== null && s.download?.id === ev.id) set({ download: null });
        const patch: Partial<AppData> = {};
        if (ev.id === null) {
          // Not tied to a request (e.g. the GPU device went away): nothing is in flight anymore.
          patch.load = null;
          patch.generatingId = null;
        } else if (s.load?.id === ev.id) {
          patch.load = null;
          // A stored model that failed to load may have been found damaged and marked
          // incomplete by the worker: show the list as it is now.
          deps.port.post({ type: 'list-models', id: 0 });
        } else if (s.generatingId === ev.id) {
          patch.generatingId = null;
        }
        // The sessions are gone (or were never there): the user has to load the model again.
        if (ev.error.code === 'device-lost' || ev.error.code === 'no-model') patch.model = null;
        set({
          ...patch,
          error: { code: ev.error.code, message: ev.error.message, requestId: ev.id },
        });
      },
      pong: () => {}, // the worker client's heartbeat; nothing to show
    },
  };
}
