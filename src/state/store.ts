/**
 * The one app store: the user's settings, what the worker reported, and the two actions that
 * talk to it (loadModel, generate). It is a vanilla zustand store so tests can drive it
 * without React, and it reaches the worker only through the injected `WorkerPort`.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  PROTOCOL_VERSION,
  type Backend,
  type BackendChoice,
  type Capabilities,
  type ErrorCode,
  type GenerateParams,
  type ModelDtype,
  type DownloadPlan,
  type HostedModelInfo,
  type StoredModelInfo,
  type TransferFigures,
  type WorkerEvent,
  type WorkerRequest,
} from '../protocol/messages';
import { parseSeed, randomSeed as cryptoRandomSeed } from './seed';
import {
  DEFAULT_NOISE_GENERATOR,
  UNNAMED_NOISE_GENERATOR,
  isNoiseGeneratorName,
  type NoiseGeneratorName,
} from '../pipeline/noise/noise-generators';
import { estimateSecondsLeft, type TransferStart } from './transfer-estimate';
import type { RgbaImage } from '../pipeline/image-input';
import {
  DEFAULT_STRENGTH,
  fitInputImage,
  imageToImageBlocker,
  normalizeStrength,
  refitInputImage,
  wireImage,
  type InputImageState,
} from './input-image';
import {
  DEFAULT_SIZE,
  DEFAULT_STEPS,
  SIZE_CHOICES,
  cleanPrompt,
  isBackendChoice,
  isSizeKey,
  resolveModelBaseUrl,
  sizeKeyOf,
  type InitialSettings,
  type SizeKey,
} from './settings';

/** The only thing the store needs from the worker: a way to send it a request. */
export interface WorkerPort {
  post(req: WorkerRequest): void;
}

/** Why the page replaced its engine worker with a fresh one. */
export type RestartReason = 'crashed' | 'hung' | 'device-lost';

/** What the worker is doing, as far as the page knows: it sets how long silence is allowed. */
export type EngineActivity = 'idle' | 'busy' | 'busy-wasm';

export type AppStatus = 'starting' | 'idle' | 'loading' | 'ready' | 'generating' | 'error';

/** The worker's error codes plus the failures only the page can see. */
export type UiErrorCode =
  | ErrorCode
  | 'protocol-mismatch' // the worker speaks another protocol version (stale cache)
  | 'worker-failed' // the worker script failed to start or threw outside a request
  | 'bad-url'; // the model URL is not an http(s) URL

export interface UiError {
  code: UiErrorCode;
  /** Technical detail (from the worker or the page): shown as plain text under the explanation. */
  message: string;
  /** The request it belongs to; null for errors not tied to one. */
  requestId: number | null;
}

export interface FileProgress {
  file: string;
  loadedBytes: number;
  /** 0 when the server did not say (no Content-Length). */
  totalBytes: number;
}

export type LoadStageReport = Omit<Extract<WorkerEvent, { type: 'load-stage' }>, 'type' | 'id'>;

export interface LoadInProgress {
  id: number;
  baseUrl: string;
  backend: BackendChoice;
  /** One entry per file, in the order the worker first reported them. */
  files: FileProgress[];
  /** When the first bytes arrived: the rate, and so the time left, is measured from there. */
  firstBytes?: TransferStart;
  /** Seconds left at that rate, once every file's size is known; null while unknown. */
  secondsLeft?: number | null;
  /** The stage the worker reported last (absent before the first). */
  stage?: LoadStageReport;
}

export type { DownloadPlan };

export interface LoadedModel {
  id: number;
  baseUrl: string;
  backend: Backend;
  dtype: ModelDtype;
  loadMs: number;
  /** It has a VAE encoder; when not, `imageToImageMissing` may say why. */
  imageToImage: boolean;
  imageToImageMissing: string | null;
  /** The largest width × height this GPU's buffer limits allow; null where none is known. */
  maxImagePixels: number | null;
  /** It has TAESDXL weights: live frames and per-step previews can be decoded with them. */
  previews?: boolean;
  /** Bytes its files added up to while loading (0 when the worker reported none). */
  bytes: number;
}

/**
 * After a TAESDXL-decoded live frame, this long without a new edit and the full VAE decodes
 * the same latents (the worker kept them; the UNet does not run again).
 */
export const PREVIEW_IDLE_MS = 600;

/** The newest frame received. `pixels` is the RGBA8 buffer the worker transferred to us. */
export type Frame = Omit<Extract<WorkerEvent, { type: 'frame' }>, 'type' | 'timings'> & {
  /** null for a per-step preview (the request is still running). */
  timings: Extract<WorkerEvent, { type: 'frame' }>['timings'] | null;
  /** A per-step TAESDXL preview: which step of how many. */
  preview?: { step: number; steps: number };
  /** From the edit (or click) that asked for this image to its arrival, in ms. */
  latencyMs: number | null;
};

/** A download into this browser's storage, as the worker last reported it. */
export interface DownloadState {
  id: number;
  baseUrl: string;
  modelId: string | null;
  paused: boolean;
  total: TransferFigures | null;
  files: Record<string, TransferFigures>;
  /** Some files are converted to fp16 as they arrive (the plan said what is kept). */
  converting?: boolean;
}

/** How live mode paced the work: requests asked, generations run, frames, and skipped ones. */
export interface GenerationStats {
  requested: number;
  started: number;
  finished: number;
  superseded: number;
}

/** Everything the UI renders. */
export interface AppData {
  prompt: string;
  steps: number;
  seed: number;
  /** The generator the seed feeds: torch-cpu (as diffusers) unless restored from an older image. */
  noise: NoiseGeneratorName;
  size: SizeKey;
  modelUrl: string;
  backendChoice: BackendChoice;
  /** Live mode: every edit of prompt, steps, seed or size asks for a new image. */
  live: boolean;
  /**
   * Previews with TAESDXL (where the model has it): live frames while typing (the full VAE
   * after a pause), and a picture after each step with 2-4 steps. Off: always the full VAE.
   */
  previews: boolean;
  /** Unlocked: every Generate click first picks a new random seed. Live edits never do. */
  seedLocked: boolean;
  /** Image-to-image: the input image (null: text-to-image) and how much of it is redone. */
  inputImage: InputImageState | null;
  strength: number;

  /** Set by 'ready'; null until then. */
  capabilities: Capabilities | null;
  workerReady: boolean;
  /** The worker is unusable (failed to start, wrong protocol): nothing can be sent to it. */
  fatal: boolean;
  load: LoadInProgress | null;
  /** A plan-download request in flight (the worker is reading the model's file list). */
  planning: { id: number; baseUrl: string } | null;
  /** Waiting for the user: download and keep, or load without storing. */
  downloadPlan: DownloadPlan | null;
  download: DownloadState | null;
  storedModels: StoredModelInfo[];
  hostedModels: HostedModelInfo[];
  storageUsedBytes: number;
  storageFreeBytes: number | null;
  /**
   * The worker cannot keep models (no usable IndexedDB, as in some private windows): models
   * stream from their host on every visit instead of failing to download.
   */
  storageUnavailable: boolean;
  model: LoadedModel | null;
  /** Id of the newest generate request that has not produced its frame yet. */
  generatingId: number | null;
  /**
   * The newest frame is a TAESDXL preview whose full-VAE decode follows after a pause: the
   * picture is not final yet (status stays 'generating').
   */
  fullDecodePending?: boolean;
  frame: Frame | null;
  stats: GenerationStats;
  error: UiError | null;
  /** The engine was restarted after a failure (shown until dismissed; not an error now). */
  restartNotice: { reason: RestartReason; message: string; reloading: boolean } | null;
  /** Derived from the fields above after every change; mirrored in the UI's data-state. */
  status: AppStatus;
}

export interface AppActions {
  setPrompt(prompt: string): void;
  /** Integer 1..4; anything else is clamped, non-numbers are ignored. */
  setSteps(steps: number): void;
  /** Returns false (and keeps the old seed) when the input is not a number. */
  setSeed(input: string | number): boolean;
  rerollSeed(): void;
  setSeedLocked(locked: boolean): void;
  /** One of NOISE_GENERATORS; anything else is ignored. */
  setNoise(name: string): void;
  /**
   * Puts a past image's settings back into the controls as one edit (live mode asks for one
   * image, not one per field). A size without a preset keeps the current size.
   */
  restoreSettings(settings: RestorableSettings): void;
  setSize(size: string): void;
  setModelUrl(url: string): void;
  setBackendChoice(choice: string): void;
  setLive(live: boolean): void;
  setPreviews(previews: boolean): void;
  /** Image-to-image from this (decoded, full-size) image; `name` is shown under it. */
  setInputImage(image: RgbaImage, name: string): void;
  /** The newest generated image becomes the input image. */
  takeFrameAsInput(): boolean;
  clearInputImage(): void;
  /** 0.05..1 on a 0.05 grid; anything else is clamped, non-numbers are ignored. */
  setStrength(strength: number): void;
  clearError(): void;
  /** An error the page itself ran into (e.g. a frame it could not paint). */
  reportError(error: UiError): void;
  /**
   * Loads the model at the current URL: straight from this browser's storage when it is stored,
   * else first shows what a download would store. False when it cannot now.
   */
  loadModel(): boolean;
  /** Downloads the planned model into this browser's storage, then loads it from there. */
  confirmDownload(): void;
  /** Plans the same custom URL again, kept as fp16 (converted while downloading) or not. */
  planStoreAsFp16(storeAsFp16: boolean): void;
  /** Loads the planned model over the network without keeping it. */
  loadWithoutStoring(): void;
  dismissPlan(): void;
  controlDownload(action: 'pause' | 'resume' | 'cancel'): void;
  deleteStoredModel(modelId: string): void;
  /** Posts 'generate' with the current parameters. False when no model is ready. */
  generate(): boolean;
  /** Stops the running generation and drops the waiting one. */
  cancel(): void;
  handleWorkerEvent(ev: WorkerEvent): void;
  /** The worker itself failed (script error, unreadable message); `fatal`: it is unusable. */
  workerFailed(message: string, fatal?: boolean): void;
  /**
   * The worker was replaced by a fresh one after it crashed, hung or lost its GPU device:
   * everything in flight is gone; the model that was loaded (or loading) loads again.
   */
  engineRestarted(reason: RestartReason, message: string): void;
  /** What the worker is busy with, for the page's watchdog (a wasm run blocks its thread). */
  engineActivity(): EngineActivity;
  dismissRestartNotice(): void;
}

/** What the gallery can put back into the controls: the parameters an image was made with. */
export type RestorableSettings = GenerateParams;

export type AppState = AppData & AppActions;
export type AppStore = StoreApi<AppState>;

export interface StoreDeps {
  port: WorkerPort;
  initial?: Partial<InitialSettings> & { prompt?: string; seed?: number };
  /** Address the model URL is resolved against; defaults to the page's location. */
  pageHref?: () => string;
  /** Called when a load is requested: remember the URL (localStorage) and share it (?model=). */
  onModelRequested?: (modelUrl: string, backend: BackendChoice) => void;
  randomSeed?: () => number;
  /** Clock for latency figures; defaults to performance.now. */
  now?: () => number;
  /** Timer for the full-VAE decode after a pause (tests); defaults to setTimeout. */
  setTimer?: (run: () => void, ms: number) => () => void;
}

export function deriveStatus(s: Omit<AppData, 'status'>): AppStatus {
  if (s.fatal) return 'error';
  if (!s.workerReady) return 'starting';
  if (s.load || s.planning || s.download) return 'loading';
  if (s.generatingId !== null || s.fullDecodePending) return 'generating';
  if (s.error) return 'error';
  return s.model ? 'ready' : 'idle';
}

/** Generate is possible: a model is loaded and no load is running (a running generation is fine: newest wins). */
export function canGenerate(s: AppData): boolean {
  return !s.fatal && s.workerReady && s.load === null && s.model !== null;
}

/** Load is possible: the worker is up, no load is running, and there is a URL. */
export function canLoad(s: AppData): boolean {
  return (
    !s.fatal &&
    s.workerReady &&
    s.load === null &&
    s.planning === null &&
    s.download === null &&
    s.modelUrl.trim() !== ''
  );
}

export function sizeOf(size: SizeKey): { width: number; height: number } {
  const { width, height } = SIZE_CHOICES[size];
  return { width, height };
}

export function createAppStore(deps: StoreDeps): AppStore {
  const initial = deps.initial ?? {};
  const nextSeed = deps.randomSeed ?? cryptoRandomSeed;
  const pageHref = deps.pageHref ?? (() => globalThis.location?.href ?? 'http://localhost/');
  let nextRequestId = 1;
  let autoLoad = initial.autoLoad ?? false;
  const now = deps.now ?? (() => performance.now());
  /** When each generate request was asked for, until its frame (or end) arrives. */
  const requestedAt = new Map<number, number>();
  const setTimer =
    deps.setTimer ??
    ((run: () => void, ms: number) => {
      const timer = setTimeout(run, ms);
      return () => clearTimeout(timer);
    });
  /** Cancels the pending full-VAE decode of the last preview frame, if any. */
  let cancelFullDecode: (() => void) | null = null;
  let inputImageVersion = 0;
  /** The model to load again once a restarted worker is ready. */
  let reloadAfterRestart: string | null = null;

  return createStore<AppState>()((setRaw, get) => {
    /** Every change goes through here so `status` never disagrees with the other fields. */
    const set = (patch: Partial<AppData>) =>
      setRaw((s) => ({ ...patch, status: deriveStatus({ ...s, ...patch }) }));

    const fail = (code: UiErrorCode, message: string, requestId: number | null, fatal = false) =>
      set({ error: { code, message, requestId }, ...(fatal ? { fatal: true } : {}) });

    const onEvent = (ev: WorkerEvent): void => {
      const s = get();
      switch (ev.type) {
        case 'ready': {
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
            startLoad(baseUrl);
          } else if (autoLoad) {
            autoLoad = false;
            if (get().modelUrl.trim() !== '') get().loadModel();
          }
          return;
        }
        case 'load-progress': {
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
          return;
        }
        case 'load-stage': {
          if (s.load?.id !== ev.id) return;
          const { graph, stage, loadedBytes, totalBytes } = ev;
          set({ load: { ...s.load, stage: { graph, stage, loadedBytes, totalBytes } } });
          return;
        }
        case 'model-loaded': {
          if (s.load?.id !== ev.id) return;
          const liveAfterLoad = s.live && s.prompt.trim() !== '';
          set({
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
            },
          });
          // Live mode: the picture for the prompt already typed appears without a click.
          if (liveAfterLoad) requestGeneration(true);
          return;
        }
        case 'generation-started':
          // 'generating' already shows from the moment the request was posted.
          set({ stats: { ...s.stats, started: s.stats.started + 1 } });
          return;
        case 'superseded': {
          requestedAt.delete(ev.id);
          const patch: Partial<AppData> = {
            stats: { ...s.stats, superseded: s.stats.superseded + 1 },
          };
          if (s.generatingId === ev.id) patch.generatingId = null;
          set(patch);
          return;
        }
        case 'frame': {
          const askedAt = requestedAt.get(ev.id);
          requestedAt.delete(ev.id);
          const stats = { ...s.stats, finished: s.stats.finished + 1 };
          // Newest wins: a late frame of an older request never replaces a newer picture.
          if (s.frame && ev.id < s.frame.id) {
            set({ stats });
            return;
          }
          const done = s.generatingId !== null && ev.id >= s.generatingId;
          const finished: Partial<AppData> = done ? { generatingId: null } : {};
          if (ev.pixels.byteLength !== ev.width * ev.height * 4) {
            const detail = `Frame ${ev.id} has ${ev.pixels.byteLength} bytes, expected ${ev.width}×${ev.height}×4.`;
            set({
              ...finished,
              stats,
              error: { code: 'internal', message: detail, requestId: ev.id },
            });
            return;
          }
          set({
            frame: {
              id: ev.id,
              width: ev.width,
              height: ev.height,
              pixels: ev.pixels,
              backend: ev.backend,
              params: ev.params,
              timings: ev.timings,
              ...(ev.decoder ? { decoder: ev.decoder } : {}),
              latencyMs: askedAt === undefined ? null : now() - askedAt,
            },
            stats,
            ...finished,
          });
          if (ev.decoder === 'taesd' && done) scheduleFullDecode(ev.id, ev.params);
          return;
        }
        case 'preview': {
          // Only the running request's steps; never over a newer picture.
          if (ev.id !== s.generatingId || (s.frame && ev.id < s.frame.id)) return;
          if (ev.pixels.byteLength !== ev.width * ev.height * 4) return;
          set({
            frame: {
              id: ev.id,
              width: ev.width,
              height: ev.height,
              pixels: ev.pixels,
              backend: ev.backend,
              params: ev.params,
              timings: null,
              decoder: 'taesd',
              preview: { step: ev.step, steps: ev.steps },
              latencyMs: null,
            },
          });
          return;
        }
        case 'download-plan': {
          if (s.planning?.id !== ev.id) return;
          const { type: _event, ...plan } = ev;
          set({ planning: null });
          // Stored already: load from this browser's storage, nothing to ask.
          // (The plan's id is done with, so the load reuses it.)
          if (plan.storedBytes >= plan.totalBytes) startLoad(plan.baseUrl, plan.id);
          else set({ downloadPlan: plan });
          return;
        }
        case 'download-progress': {
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
          return;
        }
        case 'download-complete': {
          if (s.download?.id !== ev.id) return;
          set({ download: null });
          startLoad(ev.baseUrl); // now from storage
          return;
        }
        case 'download-cancelled':
          if (s.download?.id === ev.id) set({ download: null });
          return;
        case 'stored-models':
          set({
            storedModels: ev.models,
            storageUsedBytes: ev.usedBytes,
            storageFreeBytes: ev.freeBytes,
          });
          return;
        case 'error': {
          if (ev.error.code === 'storage-unavailable' && s.download?.id !== ev.id) {
            // Not a failure to show: the model is loaded for this visit instead of stored,
            // and the storage panel says that models stream each visit.
            set({ storageUnavailable: true });
            if (ev.id !== null && s.planning?.id === ev.id) {
              set({ planning: null });
              startLoad(s.planning.baseUrl);
            }
            return;
          }
          if (ev.id !== null) requestedAt.delete(ev.id);
          else stopFullDecode(); // the device went away: nothing more to decode
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
          return;
        }
        case 'pong':
          return; // the worker client's heartbeat; nothing to show
        default: {
          const unknown: never = ev;
          console.warn('Unknown worker event', unknown);
        }
      }
    };

    /** Posts 'load-model': the worker reads the model from storage when it is stored there. */
    const startLoad = (baseUrl: string, id = nextRequestId++) => {
      const { backendChoice: backend, size, steps } = get();
      deps.port.post({
        type: 'load-model',
        id,
        baseUrl,
        backend,
        warmUp: { ...sizeOf(size), steps },
      });
      set({ load: { id, baseUrl, backend, files: [] }, model: null, error: null });
    };

    /**
     * Posts 'generate' with the current parameters. Live requests let the worker finish what
     * it is running (frames keep coming while typing); the worker keeps only the newest
     * waiting request, so pacing follows the real generation time, not a fixed debounce.
     */
    const requestGeneration = (live: boolean): boolean => {
      const s = get();
      if (!canGenerate(s)) return false;
      stopFullDecode();
      if (imageToImageBlocker(s) !== null) return false; // the input panel says why
      const id = nextRequestId++;
      const params: GenerateParams = {
        prompt: cleanPrompt(s.prompt),
        seed: s.seed,
        noise: s.noise,
        steps: s.steps,
        ...sizeOf(s.size),
        ...(s.inputImage ? { strength: s.strength } : {}),
      };
      requestedAt.set(id, now());
      const image = s.inputImage ? { image: wireImage(s.inputImage) } : {};
      const previews = s.previews && s.model?.previews === true;
      // Live text-to-image frames are TAESDXL previews; the full VAE follows after a pause.
      const decoder = previews && live && !s.inputImage ? 'taesd' : 'vae';
      deps.port.post({
        type: 'generate',
        id,
        params,
        live,
        ...image,
        ...(previews ? { decoder, stepPreviews: true } : {}),
      });
      set({
        generatingId: id,
        error: null,
        stats: { ...s.stats, requested: s.stats.requested + 1 },
      });
      return true;
    };

    /**
     * After PREVIEW_IDLE_MS without a new request, the full VAE decodes the preview's latents:
     * the same parameters with decoder 'vae', which the worker answers from its kept latents.
     */
    const scheduleFullDecode = (frameId: number, params: GenerateParams) => {
      cancelFullDecode?.();
      set({ fullDecodePending: true });
      cancelFullDecode = setTimer(() => {
        cancelFullDecode = null;
        const s = get();
        if (s.frame?.id !== frameId || s.generatingId !== null || !canGenerate(s)) {
          set({ fullDecodePending: false });
          return;
        }
        const id = nextRequestId++;
        requestedAt.set(id, now());
        deps.port.post({ type: 'generate', id, params, live: false, decoder: 'vae' });
        set({
          generatingId: id,
          fullDecodePending: false,
          stats: { ...s.stats, requested: s.stats.requested + 1 },
        });
      }, PREVIEW_IDLE_MS);
    };

    const stopFullDecode = () => {
      cancelFullDecode?.();
      cancelFullDecode = null;
      if (get().fullDecodePending) set({ fullDecodePending: false });
    };

    /** In live mode, an edit asks for its image (an empty prompt asks for nothing yet). */
    const requestLive = () => {
      const s = get();
      if (s.live && s.prompt.trim() !== '') requestGeneration(true);
    };

    const edit = (patch: Partial<AppData>) => {
      set(patch);
      requestLive();
    };

    return {
      prompt: initial.prompt ?? '',
      steps: DEFAULT_STEPS,
      seed: parseSeed(initial.seed ?? Number.NaN) ?? nextSeed(),
      noise: DEFAULT_NOISE_GENERATOR,
      size: DEFAULT_SIZE,
      modelUrl: initial.modelUrl ?? '',
      backendChoice: initial.backendChoice ?? 'auto',
      live: true,
      previews: true,
      seedLocked: true,
      inputImage: null,
      strength: DEFAULT_STRENGTH,
      capabilities: null,
      workerReady: false,
      fatal: false,
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
      generatingId: null,
      frame: null,
      stats: { requested: 0, started: 0, finished: 0, superseded: 0 },
      error: null,
      restartNotice: null,
      status: 'starting',

      setPrompt: (prompt) => edit({ prompt }),
      setSteps: (steps) => {
        if (!Number.isFinite(steps)) return;
        edit({ steps: Math.min(4, Math.max(1, Math.round(steps))) });
      },
      setSeed: (input) => {
        const seed = parseSeed(input);
        if (seed === null) return false;
        edit({ seed });
        return true;
      },
      rerollSeed: () => edit({ seed: nextSeed() }),
      setSeedLocked: (seedLocked) => set({ seedLocked }),
      setNoise: (name) => {
        if (isNoiseGeneratorName(name)) edit({ noise: name });
      },
      restoreSettings: (r) => {
        const seed = parseSeed(r.seed);
        const patch: Partial<AppData> = {
          prompt: r.prompt,
          steps: Math.min(4, Math.max(1, Math.round(r.steps))),
          ...(seed !== null ? { seed } : {}),
          // Settings that name no generator are from before torch-cpu: mulberry32 made them.
          noise: isNoiseGeneratorName(r.noise) ? r.noise : UNNAMED_NOISE_GENERATOR,
        };
        const size = sizeOf(get().size);
        const key = sizeKeyOf(r.width, r.height);
        if (key !== null && (size.width !== r.width || size.height !== r.height)) {
          const { inputImage } = get();
          patch.size = key;
          patch.inputImage = inputImage && refitInputImage(inputImage, r.width, r.height);
        }
        const strength = r.strength === undefined ? null : normalizeStrength(r.strength);
        if (strength !== null) patch.strength = strength;
        edit(patch);
      },
      setSize: (size) => {
        if (!isSizeKey(size)) return;
        const { inputImage } = get();
        const { width, height } = sizeOf(size);
        edit({ size, inputImage: inputImage && refitInputImage(inputImage, width, height) });
      },
      setInputImage: (image, name) => {
        const { width, height } = sizeOf(get().size);
        edit({ inputImage: fitInputImage(image, name, ++inputImageVersion, width, height) });
      },
      takeFrameAsInput: () => {
        const { frame } = get();
        if (!frame) return false;
        const pixels = new Uint8ClampedArray(frame.pixels);
        const image = { width: frame.width, height: frame.height, data: pixels };
        get().setInputImage(image, `generated image (seed ${frame.params.seed})`);
        return true;
      },
      clearInputImage: () => edit({ inputImage: null }),
      setStrength: (value) => {
        const strength = normalizeStrength(value);
        if (strength === null) return;
        // Without an input image the strength changes nothing yet: no live request.
        if (get().inputImage) edit({ strength });
        else set({ strength });
      },
      setLive: (live) => {
        set({ live });
        if (live) requestLive();
      },
      setPreviews: (previews) => set({ previews }),
      setModelUrl: (modelUrl) => set({ modelUrl }),
      setBackendChoice: (choice) => {
        if (isBackendChoice(choice)) set({ backendChoice: choice });
      },
      clearError: () => {
        if (!get().fatal) set({ error: null });
      },
      reportError: (error) => {
        if (!get().fatal) set({ error });
      },

      loadModel: () => {
        const s = get();
        if (!canLoad(s)) return false;
        const modelUrl = s.modelUrl.trim();
        const baseUrl = resolveModelBaseUrl(modelUrl, pageHref());
        if (baseUrl === null) {
          fail('bad-url', `Not an http(s) URL: ${modelUrl}`, null);
          return false;
        }
        const id = nextRequestId++;
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
        const id = nextRequestId++;
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
        const id = nextRequestId++;
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

      generate: () => {
        // Unlocked seed: each click is a new picture (set before the request reads it).
        if (!get().seedLocked && canGenerate(get())) set({ seed: nextSeed() });
        return requestGeneration(false);
      },

      cancel: () => {
        if (get().generatingId === null) return;
        deps.port.post({ type: 'cancel', id: nextRequestId++ });
      },

      handleWorkerEvent: (ev) => {
        if (get().fatal) return; // an incompatible or dead worker: ignore whatever it says
        onEvent(ev);
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
        requestedAt.clear();
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
    };
  });
}
