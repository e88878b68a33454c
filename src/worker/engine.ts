import type { LoadStageReport } from '../pipeline/load-watchdog.ts';
import type { LoadProgress, LoadedModel } from '../pipeline/model-loader.ts';
import { SupersededError, TextToImagePipeline, validateParams } from '../pipeline/text-to-image.ts';
import type {
  Backend,
  BackendChoice,
  GenerateParams,
  WorkerEvent,
  StorageRequest,
  WarmUpSize,
  WorkerRequest,
  FamilyId,
} from '../protocol/messages.ts';
import { isStorageRequest, parseWorkerRequest } from '../protocol/validate.ts';
import type { ModelFamily } from '../pipeline/families/family.ts';
import { MODEL_FAMILIES } from '../pipeline/families/registry.ts';
import { toWorkerError } from './errors.ts';
import { checkImageFitsGpu, type ImageSizeLimit } from './gpu-fit.ts';

export interface LoadedOn {
  model: LoadedModel;
  backend: Backend;
  /** The largest image this GPU's buffer limits allow; absent or null where none is known. */
  imageSizeLimit?: ImageSizeLimit | null;
}

export interface EngineHost {
  post(event: WorkerEvent, transfer?: Transferable[]): void;
  loadModel(
    baseUrl: string,
    backend: BackendChoice,
    onProgress: LoadProgress,
    onStage?: (report: LoadStageReport) => void,
    /** The family the user chose for this URL; absent: the host finds it (manifest, config files). */
    family?: FamilyId,
  ): Promise<LoadedOn>;
  now(): number;
  log(message: string, detail?: unknown): void;
  /**
   * A throw-away image to generate right after a load, before the model is reported loaded, so
   * that the first real image does not pay for shader compilation (WebGPU); null for none.
   * `size` is what the page will generate at (the load request's, else DEFAULT_WARM_UP).
   */
  warmUp?(backend: Backend, size: WarmUpSize): GenerateParams | null;
}

/** The warm-up size when the load request names none (an older page): SDXL Turbo's native one. */
export const DEFAULT_WARM_UP: WarmUpSize = { width: 512, height: 512, steps: 1 };

/**
 * The page's size, except a size of another family that this one does not offer: the page
 * switches that to this family's default once the model is loaded (Turbo's 512² before a
 * Lightning load), so the warm-up is made at the default. A size no family offers (a
 * benchmark's 64²) is kept as asked.
 */
export function familyWarmUpSize(family: ModelFamily, size: WarmUpSize): WarmUpSize {
  const same = (s: { width: number; height: number }) =>
    s.width === size.width && s.height === size.height;
  const anotherFamilyOffers = MODEL_FAMILIES.some(
    (f) => f !== family && f.sizes.choices.some(same),
  );
  return anotherFamilyOffers && !family.sizes.choices.some(same)
    ? { ...size, ...family.sizes.default }
    : size;
}

/** What the engine itself handles; stored-weight requests go to the storage service. */
export type EngineRequest = Exclude<WorkerRequest, StorageRequest | { type: 'ping' }>;
type GenerateRequest = Extract<WorkerRequest, { type: 'generate' }>;
type QueuedRequest = Exclude<EngineRequest, { type: 'cancel' }>;

/**
 * The worker's request handler. It validates each message and runs one job at a time:
 * model loads in arrival order, and generations newest-wins: at most one generate waits, a
 * newer one replaces it, and a running generation stops at its next stage boundary when it is
 * no longer wanted. Every generate ends in exactly one of 'frame', 'error' or 'superseded', in
 * request order, so the page never sees an older frame after a newer one.
 */
export class Engine {
  private current: (LoadedOn & { pipeline: TextToImagePipeline }) | null = null;
  private readonly queue: QueuedRequest[] = [];
  private running: { request: QueuedRequest; superseded: boolean } | null = null;
  private idleWaiters: Array<() => void> = [];
  private pumpScheduled = false;

  constructor(private readonly host: EngineHost) {}

  /** Validates a raw message from the page and handles it (tests; the worker routes first). */
  receive(data: unknown): void {
    const request = parseWorkerRequest(data);
    if (!request || isStorageRequest(request) || request.type === 'ping') {
      this.host.log('ignored a malformed message', data);
      return;
    }
    this.handle(request);
  }

  handle(request: EngineRequest): void {
    switch (request.type) {
      case 'generate':
        this.dropWaitingGenerate();
        if (!request.live) this.supersedeRunningGenerate();
        this.queue.push(request);
        break;
      case 'cancel':
        this.dropWaitingGenerate();
        this.supersedeRunningGenerate();
        break;
      case 'load-model':
        // The running generation's sessions are about to be released.
        this.supersedeRunningGenerate();
        this.queue.push(request);
        break;
      default: {
        const unreachable: never = request;
        this.host.log('unhandled request', unreachable);
      }
    }
    this.schedulePump();
  }

  /** Resolves once every request received so far has been answered (for tests). */
  idle(): Promise<void> {
    if (!this.running && !this.pumpScheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private dropWaitingGenerate(): void {
    const index = this.queue.findIndex((r) => r.type === 'generate');
    if (index < 0) return;
    const [dropped] = this.queue.splice(index, 1);
    if (dropped) this.host.post({ type: 'superseded', id: dropped.id });
  }

  private supersedeRunningGenerate(): void {
    if (this.running?.request.type === 'generate') this.running.superseded = true;
  }

  private pump(): void {
    if (this.running) return;
    const next = this.queue.shift();
    if (!next) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    const job = { request: next, superseded: false };
    this.running = job;
    void this.process(job).finally(() => {
      this.running = null;
      this.schedulePump();
    });
  }

  /**
   * Starts the next job on a later task rather than now: messages that arrived while a job
   * computed (a wasm run blocks this thread) are all received first, so the newest of them is
   * the one that runs.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setTimeout(() => {
      this.pumpScheduled = false;
      this.pump();
    }, 0);
  }

  private async process(job: { request: QueuedRequest; superseded: boolean }): Promise<void> {
    const { request } = job;
    try {
      if (request.type === 'load-model') {
        await this.load(
          request.id,
          request.baseUrl,
          request.backend,
          request.family,
          request.warmUp,
        );
      } else {
        await this.generate(request, () => !job.superseded);
      }
    } catch (error) {
      if (error instanceof SupersededError) {
        this.host.post({ type: 'superseded', id: request.id });
      } else {
        this.host.post({ type: 'error', id: request.id, error: toWorkerError(error) });
      }
    }
  }

  private async load(
    id: number,
    baseUrl: string,
    backend: BackendChoice,
    family?: FamilyId,
    warmUpSize: WarmUpSize = DEFAULT_WARM_UP,
  ): Promise<void> {
    const start = this.host.now();
    if (this.current) {
      const previous = this.current;
      this.current = null;
      previous.pipeline.dispose();
      await previous.model.release();
    }
    const onStage = (report: LoadStageReport) =>
      this.host.post({ type: 'load-stage', id, ...report });
    const loaded = await this.host.loadModel(
      baseUrl,
      backend,
      (file, loadedBytes, totalBytes) =>
        this.host.post({ type: 'load-progress', id, file, loadedBytes, totalBytes }),
      onStage,
      family,
    );
    // The family decides the sampler and the VAE scale (families/).
    const pipeline = new TextToImagePipeline(loaded.model, loaded.model.family.denoise);
    this.current = { ...loaded, pipeline };
    const warmUp =
      this.host.warmUp?.(loaded.backend, familyWarmUpSize(loaded.model.family, warmUpSize)) ?? null;
    if (warmUp) {
      onStage({ graph: 'pipeline', stage: 'warm-up', loadedBytes: 0, totalBytes: 0 });
      try {
        const now = () => this.host.now();
        if (loaded.model.taesdDecoder) {
          // TAESDXL's shaders too, at the smallest size (its pipelines serve the other sizes;
          // at full size this would double the warm-up on a slow GPU).
          const small = { ...warmUp, width: 64, height: 64 };
          await this.current.pipeline.generate(small, { now, decoder: 'taesd' });
        }
        await this.current.pipeline.generate(warmUp, { now });
      } catch (error) {
        // A real generation reports whatever is wrong; the load itself succeeded.
        this.host.log('warm-up image failed', error);
      }
    }
    this.host.post({
      type: 'model-loaded',
      id,
      backend: loaded.backend,
      dtype: loaded.model.dtype,
      loadMs: this.host.now() - start,
      imageToImage: loaded.model.vaeEncoder !== undefined,
      ...(loaded.imageSizeLimit ? { maxImagePixels: loaded.imageSizeLimit.maxPixels } : {}),
      ...(loaded.model.vaeEncoderMissing
        ? { imageToImageMissing: loaded.model.vaeEncoderMissing }
        : {}),
      previews: loaded.model.taesdDecoder !== undefined,
      family: loaded.model.family.id as FamilyId,
    });
  }

  private async generate(request: GenerateRequest, stillWanted: () => boolean): Promise<void> {
    const { id, params, image: input } = request;
    const current = this.current;
    if (!current) {
      this.host.post({
        type: 'error',
        id,
        error: { code: 'no-model', message: 'Load a model before generating.' },
      });
      return;
    }
    // The family's step counts (the pipeline itself takes 1-4): a 4-step checkpoint at 2 steps
    // gives a blurred image, which is worse than a plain refusal.
    validateParams(params); // the pipeline's own ranges first, with its own words
    const { family } = current.model;
    if (!family.steps.choices.includes(params.steps)) {
      throw new RangeError(
        `${family.displayName} runs ${family.steps.choices.join(', ')} steps, not ${params.steps}`,
      );
    }
    // Refused before any GPU work: an oversized buffer would fail inside onnxruntime-web with
    // a WebGPU validation error, or lose the device.
    checkImageFitsGpu(params.width, params.height, current.imageSizeLimit ?? null);
    this.host.post({ type: 'generation-started', id });
    // Image-to-image: the page's version number keys the cache of encoded image latents.
    const init = input
      ? {
          image: { width: input.width, height: input.height, data: new Uint8Array(input.pixels) },
          id: input.version,
        }
      : undefined;
    const image = await current.pipeline.generate(
      params satisfies GenerateParams,
      {
        now: () => this.host.now(),
        stillWanted,
        decoder: request.decoder ?? 'vae',
        ...(request.stepPreviews
          ? {
              onStepPreview: (preview) => {
                const pixels = preview.pixels.buffer as ArrayBuffer;
                this.host.post(
                  {
                    type: 'preview',
                    id,
                    step: preview.step,
                    steps: preview.steps,
                    width: preview.width,
                    height: preview.height,
                    pixels,
                    backend: current.backend,
                    params,
                  },
                  [pixels],
                );
              },
            }
          : {}),
      },
      init,
    );
    const pixels = image.pixels.buffer as ArrayBuffer;
    this.host.post(
      {
        type: 'frame',
        id,
        width: image.width,
        height: image.height,
        pixels,
        backend: current.backend,
        params,
        timings: image.timings,
        decoder: image.decoder,
      },
      [pixels],
    );
  }
}
