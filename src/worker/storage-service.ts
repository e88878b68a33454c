import type {
  StorageEvent,
  StorageRequest,
  StoredModelInfo,
  WorkerEvent,
} from '../protocol/messages.ts';
import type { WeightStore } from '../storage/weight-store.ts';
import {
  downloadModel,
  type DownloadProgress,
  type ModelDownload,
} from '../storage/download-manager.ts';
import { DownloadCancelledError } from '../storage/errors.ts';
import type { FetchFn } from '../storage/http-file.ts';
import {
  manifestBytes,
  manifestFromBaseUrl,
  manifestKeptBytes,
  parseManifest,
  storedAsFp16,
  urlId,
  type Manifest,
} from '../storage/manifest.ts';
import { freeBytes, type StorageEnv } from '../storage/storage-env.ts';
import { HOSTED_MODELS } from '../storage/hosted-models.ts';
import { findStoredModel, storedModelStatus } from '../storage/stored-source.ts';
import { toWorkerError } from './errors.ts';
import { modelBaseUrl } from './fetch-source.ts';

/** IndexedDB cannot be opened (some private windows): models can still stream, not be kept. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}

export interface StorageHost {
  post(event: WorkerEvent): void;
  /** null when this browser offers no IndexedDB. */
  store: WeightStore | null;
  fetch: FetchFn;
  env: StorageEnv;
  /** The URL relative model URLs resolve against. */
  baseHref: string;
}

/**
 * Stored model weights, handled beside the engine so a download runs while the current model
 * keeps generating: plans (what a download would store, how big, what is already there), one
 * download at a time with pause/resume/cancel, and the list of stored models.
 */
export class StorageService {
  private active: {
    id: number;
    modelId: string;
    download: ModelDownload;
    abort: AbortController;
  } | null = null;
  /** Manifests built while planning, so the download does not read every graph again. */
  private readonly planned = new Map<string, Manifest>();

  constructor(private readonly host: StorageHost) {}

  async handle(request: StorageRequest): Promise<void> {
    try {
      switch (request.type) {
        case 'plan-download':
          return await this.plan(request.id, request.baseUrl, request.storeAsFp16 ?? false);
        case 'download-model':
          return await this.download(request.id, request.baseUrl, request.storeAsFp16 ?? false);
        case 'download-control':
          return this.control(request.action);
        case 'list-models':
          return await this.list(request.id);
        case 'delete-model':
          await this.requireStore().deleteModel(request.modelId);
          return await this.list(request.id);
        default: {
          const unreachable: never = request;
          throw new Error(`unhandled storage request ${JSON.stringify(unreachable)}`);
        }
      }
    } catch (error) {
      this.host.post({ type: 'error', id: request.id, error: toWorkerError(error) });
    }
  }

  private requireStore(): WeightStore {
    if (!this.host.store) {
      throw new StorageUnavailableError(
        'This browser does not let the app store data (IndexedDB is unavailable, as in some private windows). The model can still be loaded for this visit.',
      );
    }
    return this.host.store;
  }

  /** The manifest of the model at baseUrl: the stored one when complete (works offline). */
  private async manifestOf(baseUrl: string, storeAsFp16 = false): Promise<Manifest> {
    const base = modelBaseUrl(baseUrl, this.host.baseHref).href;
    const store = this.requireStore();
    const stored = await findStoredModel(store, base);
    if (stored) return stored;
    const hosted = HOSTED_MODELS.find((m) => m.baseUrl === base);
    if (hosted) return hosted;
    if (storeAsFp16) {
      // A custom export kept as fp16: its own id; an interrupted one resumes from its manifest.
      const partial = await store.storedManifest(`${urlId(base)}-fp16`);
      if (partial) {
        try {
          return parseManifest(partial);
        } catch {
          // written by another version of the app: build it again
        }
      }
      return storedAsFp16(await this.manifestOf(base));
    }
    const cached = this.planned.get(base);
    if (cached) return cached;
    // An interrupted download kept its manifest: resume without reading the graphs again.
    // (Kept as fp16 when that was chosen: a reload resumes the same conversion.)
    const partial =
      (await store.storedManifest(urlId(base))) ??
      (await store.storedManifest(`${urlId(base)}-fp16`));
    if (partial) {
      try {
        return parseManifest(partial);
      } catch {
        // written by another version of the app: build it again
      }
    }
    const manifest = await manifestFromBaseUrl(base, this.host.fetch);
    this.planned.set(base, manifest);
    return manifest;
  }

  private async plan(id: number, baseUrl: string, storeAsFp16: boolean): Promise<void> {
    const manifest = await this.manifestOf(baseUrl, storeAsFp16);
    const custom = !HOSTED_MODELS.some((m) => m.id === manifest.id);
    const converting = manifest.files.some((f) => f.storeAs === 'fp16');
    const status = await storedModelStatus(this.requireStore(), manifest);
    this.host.post({
      type: 'download-plan',
      id,
      baseUrl: manifest.baseUrl,
      modelId: manifest.id,
      files: manifest.files.map((f) => ({ path: f.path, bytes: f.bytes })),
      totalBytes: manifestBytes(manifest),
      storedBytes: status.complete ? manifestBytes(manifest) : status.storedBytes,
      freeBytes: await freeBytes(this.host.env),
      ...(manifestKeptBytes(manifest) < manifestBytes(manifest)
        ? { keptBytes: manifestKeptBytes(manifest) }
        : {}),
      ...(custom ? { canStoreAsFp16: true, storeAsFp16: converting } : {}),
    });
  }

  private async download(id: number, baseUrl: string, storeAsFp16: boolean): Promise<void> {
    if (this.active) throw new RangeError('A model download is already running.');
    const store = this.requireStore();
    const manifest = await this.manifestOf(baseUrl, storeAsFp16);
    // Kept from the start, so a reload mid-download resumes from what is stored.
    await store.saveManifest(manifest);
    const abort = new AbortController();
    const download = downloadModel(manifest, {
      store,
      fetch: this.host.fetch,
      env: this.host.env,
      signal: abort.signal,
      onProgress: (progress) => this.progress(id, manifest.id, progress),
    });
    this.active = { id, modelId: manifest.id, download, abort };
    try {
      const result = await download.done;
      this.planned.delete(manifest.baseUrl);
      this.host.post({
        type: 'download-complete',
        id,
        modelId: result.manifest.id,
        baseUrl: result.manifest.baseUrl,
        persisted: result.persisted,
      });
    } catch (error) {
      if (!(error instanceof DownloadCancelledError) && !abort.signal.aborted) {
        // The list then shows the model as incomplete beside the error (its chunks are kept).
        this.active = null;
        await this.list(id).catch(() => {});
        throw error;
      }
      this.host.post({ type: 'download-cancelled', id, modelId: manifest.id });
    } finally {
      this.active = null;
    }
    await this.list(id);
  }

  private progress(id: number, modelId: string, progress: DownloadProgress): void {
    const event: StorageEvent = {
      type: 'download-progress',
      id,
      modelId,
      paused: this.active?.download.paused ?? false,
      total: progress.total,
      files: progress.files,
    };
    this.host.post(event);
  }

  private control(action: 'pause' | 'resume' | 'cancel'): void {
    const active = this.active;
    if (!active) return;
    if (action === 'pause') active.download.pause();
    else if (action === 'resume') active.download.resume();
    else active.abort.abort(new DownloadCancelledError());
  }

  private async list(id: number): Promise<void> {
    const store = this.requireStore();
    const usage = new Map((await store.usage()).map((u) => [u.modelId, u.bytes]));
    const models: StoredModelInfo[] = [];
    for (const raw of await store.storedManifests()) {
      let manifest: Manifest;
      try {
        manifest = parseManifest(raw);
      } catch {
        continue; // written by another version of the app
      }
      const status = await storedModelStatus(store, manifest);
      models.push({
        modelId: manifest.id,
        displayName: manifest.displayName,
        baseUrl: manifest.baseUrl,
        storedBytes: usage.get(manifest.id) ?? 0,
        totalBytes: manifestBytes(manifest),
        complete: status.complete,
      });
    }
    const usedBytes = [...usage.values()].reduce((a, b) => a + b, 0);
    this.host.post({
      type: 'stored-models',
      id,
      models,
      usedBytes,
      freeBytes: await freeBytes(this.host.env),
    });
  }
}
