/**
 * The shape of the app store: its data, its actions, what it needs from outside, and the pure
 * rules derived from its data (status, can-generate, can-load). The slices under ./slices build
 * it and ./store.ts composes them; this file has no behaviour so every slice can import it
 * without importing the others.
 */
import type { StoreApi } from 'zustand/vanilla';
import type { FamilyId } from '../pipeline/families/registry';
import type {
  Backend,
  BackendChoice,
  Capabilities,
  ErrorCode,
  GenerateParams,
  ModelDtype,
  DownloadPlan,
  HostedModelInfo,
  StoredModelInfo,
  TransferFigures,
  WorkerEvent,
  WorkerRequest,
} from '../protocol/messages';
import type { NoiseGeneratorName } from '../pipeline/noise/noise-generators';
import type { RgbaImage } from '../pipeline/image-input';
import type { TransferStart } from './transfer-estimate';
import type { InputImageState } from './input-image';
import { SIZE_CHOICES, type InitialSettings, type SizeKey } from './settings';

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
  /** Its model family (families/): steps, sizes, image-to-image. */
  family: FamilyId;
}

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
  /** The family chosen for a custom URL; 'auto': recognised from the export's config files. */
  familyChoice: FamilyId | 'auto';
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
  setFamilyChoice(choice: string): void;
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
