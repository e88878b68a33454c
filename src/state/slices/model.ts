/**
 * The model and its downloads: the URL and backend chosen, planning a download (what it would
 * store), downloading into this browser's storage, loading (from storage or the network) with
 * its progress, the loaded model, and the list of stored models with the storage they use.
 */
import { estimateSecondsLeft } from '../transfer-estimate';
import { isBackendChoice, resolveModelBaseUrl } from '../settings';
import { settingsForFamily } from '../family-choices';
import { familyOf, isFamilyId, type FamilyId } from '../../pipeline/families/registry';
import { canLoad, sizeOf, type AppActions, type AppData } from '../app-state';
import type { SharedOps, Slice, SliceContext } from './context';

type ModelData = Pick<
  AppData,
  | 'modelUrl'
  | 'backendChoice'
  | 'familyChoice'
  | 'load'
  | 'planning'
  | 'downloadPlan'
  | 'download'
  | 'storedModels'
  | 'hostedModels'
  | 'storageUsedBytes'
  | 'storageFreeBytes'
  | 'storageUnavailable'
  | 'model'
>;
type ModelActions = Pick<
  AppActions,
  | 'setModelUrl'
  | 'setBackendChoice'
  | 'setFamilyChoice'
  | 'loadModel'
  | 'confirmDownload'
  | 'planStoreAsFp16'
  | 'loadWithoutStoring'
  | 'dismissPlan'
  | 'controlDownload'
  | 'deleteStoredModel'
>;

/** The worker events this slice answers. */
type Handled =
  | 'load-progress'
  | 'load-stage'
  | 'model-loaded'
  | 'download-plan'
  | 'download-progress'
  | 'download-complete'
  | 'download-cancelled'
  | 'stored-models';

export function createModelSlice(
  ctx: SliceContext,
  pageHref: () => string,
): Slice<ModelData & ModelActions, Handled> & { shared: Pick<SharedOps, 'startLoad'> } {
  const { deps, get, set, now } = ctx;
  const initial = deps.initial ?? {};

  /** Posts 'load-model': the worker reads the model from storage when it is stored there. */
  const startLoad = (baseUrl: string, id = ctx.newRequestId()) => {
    const { backendChoice: backend, familyChoice, size, steps } = get();
    const family = familyChoice === 'auto' ? {} : { family: familyChoice };
    // The load's warm-up image is made at the size the page will generate at.
    const warmUp = { ...sizeOf(size), steps };
    deps.port.post({ type: 'load-model', id, baseUrl, backend, ...family, warmUp });
    set({ load: { id, baseUrl, backend, files: [] }, model: null, error: null });
  };

  return {
    shared: { startLoad },
    state: {
      modelUrl: initial.modelUrl ?? '',
      backendChoice: initial.backendChoice ?? 'auto',
      familyChoice: 'auto',
      load: null,
      planning: null,
      downloadPlan: null,
      download: null,
      storedModels: [],
      hostedModels: [],
      storageUsedBytes: 0,
      storageFreeBytes: null,
      storageUnavailable: false,
      model: null,

      setModelUrl: (modelUrl) => set({ modelUrl }),
      setBackendChoice: (choice) => {
        if (isBackendChoice(choice)) set({ backendChoice: choice });
      },
      setFamilyChoice: (choice) => {
        if (choice === 'auto' || isFamilyId(choice)) set({ familyChoice: choice });
      },

      loadModel: () => {
        const s = get();
        if (!canLoad(s)) return false;
        const modelUrl = s.modelUrl.trim();
        const baseUrl = resolveModelBaseUrl(modelUrl, pageHref());
        if (baseUrl === null) {
          ctx.fail('bad-url', `Not an http(s) URL: ${modelUrl}`, null);
          return false;
        }
        const id = ctx.newRequestId();
        deps.port.post({ type: 'plan-download', id, baseUrl });
        set({ planning: { id, baseUrl }, downloadPlan: null, error: null });
        deps.onModelRequested?.(modelUrl, s.backendChoice);
        return true;
      },

      confirmDownload: () => {
        const plan = get().downloadPlan;
        if (!plan) return;
        // Only the page can ask for persistent storage (the worker has no persist()).
        void globalThis.navigator?.storage?.persist?.().catch(() => false);
        const id = ctx.newRequestId();
        deps.port.post({
          type: 'download-model',
          id,
          baseUrl: plan.baseUrl,
          ...(plan.storeAsFp16 ? { storeAsFp16: true } : {}),
        });
        set({
          downloadPlan: null,
          download: {
            id,
            baseUrl: plan.baseUrl,
            modelId: plan.modelId,
            paused: false,
            total: null,
            files: {},
            ...(plan.keptBytes !== undefined ? { converting: true } : {}),
          },
        });
      },

      loadWithoutStoring: () => {
        const plan = get().downloadPlan;
        if (!plan) return;
        set({ downloadPlan: null });
        startLoad(plan.baseUrl);
      },

      dismissPlan: () => set({ downloadPlan: null }),

      planStoreAsFp16: (storeAsFp16) => {
        const plan = get().downloadPlan;
        if (!plan) return;
        const id = ctx.newRequestId();
        deps.port.post({ type: 'plan-download', id, baseUrl: plan.baseUrl, storeAsFp16 });
        set({ planning: { id, baseUrl: plan.baseUrl } });
      },

      controlDownload: (action) => {
        if (!get().download) return;
        deps.port.post({ type: 'download-control', id: 0, action });
        if (action !== 'cancel')
          set({ download: { ...get().download!, paused: action === 'pause' } });
      },

      deleteStoredModel: (modelId) => {
        deps.port.post({ type: 'delete-model', id: 0, modelId });
      },
    },
    on: {
      'load-progress': (ev) => {
        const s = get();
        if (s.load?.id !== ev.id) return; // progress of a load we no longer wait for
        const entry = { file: ev.file, loadedBytes: ev.loadedBytes, totalBytes: ev.totalBytes };
        const index = s.load.files.findIndex((f) => f.file === ev.file);
        const files =
          index < 0
            ? [...s.load.files, entry]
            : s.load.files.map((f, i) => (i === index ? entry : f));
        const loaded = files.reduce((n, f) => n + f.loadedBytes, 0);
        const total = files.reduce((n, f) => n + f.totalBytes, 0);
        const firstBytes =
          s.load.firstBytes ?? (loaded > 0 ? { atMs: now(), bytes: loaded } : undefined);
        const sizesKnown = files.every((f) => f.totalBytes > 0);
        const secondsLeft =
          firstBytes && sizesKnown ? estimateSecondsLeft(firstBytes, now(), loaded, total) : null;
        set({ load: { ...s.load, files, ...(firstBytes ? { firstBytes } : {}), secondsLeft } });
      },
      'load-stage': (ev) => {
        const s = get();
        if (s.load?.id !== ev.id) return;
        const { graph, stage, loadedBytes, totalBytes } = ev;
        set({ load: { ...s.load, stage: { graph, stage, loadedBytes, totalBytes } } });
      },
      'model-loaded': (ev) => {
        const s = get();
        if (s.load?.id !== ev.id) return;
        const liveAfterLoad = s.live && s.prompt.trim() !== '';
        const family = ev.family ?? familyOf(null).id;
        set({
          // Steps and size the new model's family does not offer become its defaults; a
          // family without image-to-image drops the input image (its panel is hidden).
          ...settingsForFamily(family, s.steps, s.size),
          ...(familyOf(family).imageToImage ? {} : { inputImage: null }),
          load: null,
          restartNotice: s.restartNotice && { ...s.restartNotice, reloading: false },
          model: {
            id: ev.id,
            baseUrl: s.load.baseUrl,
            backend: ev.backend,
            dtype: ev.dtype,
            loadMs: ev.loadMs,
            imageToImage: ev.imageToImage ?? false,
            imageToImageMissing: ev.imageToImageMissing ?? null,
            maxImagePixels: ev.maxImagePixels ?? null,
            previews: ev.previews ?? false,
            bytes: s.load.files.reduce((n, f) => n + Math.max(f.totalBytes, f.loadedBytes), 0),
            family: family as FamilyId,
          },
        });
        // Live mode: the picture for the prompt already typed appears without a click.
        if (liveAfterLoad) ctx.shared.requestGeneration(true);
      },
      'download-plan': (ev) => {
        const s = get();
        if (s.planning?.id !== ev.id) return;
        const { type: _event, ...plan } = ev;
        set({ planning: null });
        // Stored already: load from this browser's storage, nothing to ask.
        // (The plan's id is done with, so the load reuses it.)
        if (plan.storedBytes >= plan.totalBytes) startLoad(plan.baseUrl, plan.id);
        else set({ downloadPlan: plan });
      },
      'download-progress': (ev) => {
        const s = get();
        if (s.download?.id !== ev.id) return;
        set({
          download: {
            ...s.download,
            modelId: ev.modelId,
            paused: ev.paused,
            total: ev.total,
            files: ev.files,
          },
        });
      },
      'download-complete': (ev) => {
        if (get().download?.id !== ev.id) return;
        set({ download: null });
        startLoad(ev.baseUrl); // now from storage
      },
      'download-cancelled': (ev) => {
        if (get().download?.id === ev.id) set({ download: null });
      },
      'stored-models': (ev) => {
        set({
          storedModels: ev.models,
          storageUsedBytes: ev.usedBytes,
          storageFreeBytes: ev.freeBytes,
        });
      },
    },
  };
}
