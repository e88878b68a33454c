import type { LoadProgress, LoadedModel } from '../pipeline/model-loader.ts';
import { TextToImagePipeline } from '../pipeline/text-to-image.ts';
import type {
  Backend,
  BackendChoice,
  GenerateParams,
  WorkerEvent,
  WorkerRequest,
} from '../protocol/messages.ts';
import { parseWorkerRequest } from '../protocol/validate.ts';
import { toWorkerError } from './errors.ts';

export interface LoadedOn {
  model: LoadedModel;
  backend: Backend;
}

export interface EngineHost {
  post(event: WorkerEvent, transfer?: Transferable[]): void;
  loadModel(baseUrl: string, backend: BackendChoice, onProgress: LoadProgress): Promise<LoadedOn>;
  now(): number;
  log(message: string, detail?: unknown): void;
}

/**
 * The worker's request handler: validates each message, runs requests one at a time in
 * arrival order, and answers every request with a result or an error event.
 */
export class Engine {
  private current: (LoadedOn & { pipeline: TextToImagePipeline }) | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly host: EngineHost) {}

  /** Entry point for every message from the page. */
  receive(data: unknown): void {
    const request = parseWorkerRequest(data);
    if (!request) {
      this.host.log('ignored a malformed message', data);
      return;
    }
    this.queue = this.queue.then(() => this.process(request));
  }

  /** Resolves when every request received so far has been answered (for tests). */
  idle(): Promise<void> {
    return this.queue;
  }

  private async process(request: WorkerRequest): Promise<void> {
    try {
      switch (request.type) {
        case 'load-model':
          return await this.load(request.id, request.baseUrl, request.backend);
        case 'generate':
          return await this.generate(request.id, request.params);
        default: {
          const unreachable: never = request;
          throw new Error(`unhandled request ${JSON.stringify(unreachable)}`);
        }
      }
    } catch (error) {
      this.host.post({ type: 'error', id: request.id, error: toWorkerError(error) });
    }
  }

  private async load(id: number, baseUrl: string, backend: BackendChoice): Promise<void> {
    const start = this.host.now();
    if (this.current) {
      const previous = this.current;
      this.current = null;
      await previous.model.release();
    }
    const loaded = await this.host.loadModel(baseUrl, backend, (file, loadedBytes, totalBytes) =>
      this.host.post({ type: 'load-progress', id, file, loadedBytes, totalBytes }),
    );
    this.current = { ...loaded, pipeline: new TextToImagePipeline(loaded.model) };
    this.host.post({
      type: 'model-loaded',
      id,
      backend: loaded.backend,
      dtype: loaded.model.dtype,
      loadMs: this.host.now() - start,
    });
  }

  private async generate(id: number, params: GenerateParams): Promise<void> {
    const current = this.current;
    if (!current) {
      this.host.post({
        type: 'error',
        id,
        error: { code: 'no-model', message: 'Load a model before generating.' },
      });
      return;
    }
    this.host.post({ type: 'generation-started', id });
    const image = await current.pipeline.generate(params, { now: () => this.host.now() });
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
      },
      [pixels],
    );
  }
}
