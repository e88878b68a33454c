/**
 * The module worker that owns onnxruntime-web and the pipeline. The page talks to it only
 * through the messages in src/protocol: engine requests (load, generate) go to the engine,
 * stored-weight requests (plan, download, list, delete) to the storage service.
 */
import { LoadWatchdog } from '../pipeline/load-watchdog.ts';
import { loadSdxlModel, type SessionFactory } from '../pipeline/model-loader.ts';
import { PROTOCOL_VERSION, type WorkerEvent } from '../protocol/messages.ts';
import { isStorageRequest, parseWorkerRequest } from '../protocol/validate.ts';
import { ChunkStore } from '../storage/chunk-store.ts';
import type { WeightStore } from '../storage/weight-store.ts';
import { HOSTED_MODELS } from '../storage/hosted-models.ts';
import { manifestBytes, manifestKeptBytes } from '../storage/manifest.ts';
import { reshardingSessionFactory } from '../storage/reshard.ts';
import { browserStorageEnv } from '../storage/storage-env.ts';
import { findStoredModel, storedSource } from '../storage/stored-source.ts';
import { probeCapabilities } from './capabilities.ts';
import { Engine } from './engine.ts';
import { fetchSource, modelBaseUrl } from './fetch-source.ts';
import { browserSessionFactory, ortWebGpuDevice, resolveBackend } from './ort-runtime.ts';
import { imageSizeLimit, type ImageSizeLimit } from './gpu-fit.ts';
import { watchDeviceLoss } from './device-loss.ts';
import { StorageService } from './storage-service.ts';

declare const self: DedicatedWorkerGlobalScope;

/** Set once the GPU device is lost: from then on every failure is that loss. */
let deviceLost: string | null = null;

const post = (event: WorkerEvent, transfer: Transferable[] = []) => {
  if (deviceLost !== null && event.type === 'error' && event.error.code !== 'device-lost') {
    event = { ...event, error: { code: 'device-lost', message: deviceLost } };
  }
  self.postMessage(event, transfer);
};
const capabilities = probeCapabilities();

/** The weight store; null where IndexedDB is unavailable (models then stream each visit). */
function openWeightStore(): WeightStore | null {
  try {
    return new ChunkStore();
  } catch {
    return null;
  }
}
const weights = openWeightStore();

const engine = new Engine({
  post,
  now: () => performance.now(),
  log: (message, detail) => console.warn(`[worker] ${message}`, detail),
  // WebGPU compiles its shaders on the first run: pay for that while loading, not on the
  // first image, at the size the page will generate at (buffers and some kernels depend on
  // it). One step whatever the chosen steps: every step runs the same graphs, so more would
  // only lengthen the load.
  warmUp: (backend, { width, height }) =>
    backend === 'webgpu' ? { prompt: '', seed: 0, steps: 1, width, height } : null,
  loadModel: async (baseUrl, choice, onProgress, onStage, chosenFamily) => {
    const caps = await capabilities;
    const backend = resolveBackend(choice, caps);
    const base = modelBaseUrl(baseUrl, self.location.href);
    // A model downloaded into this browser loads from IndexedDB (offline too); others stream.
    const stored = weights ? await findStoredModel(weights, base.href).catch(() => null) : null;
    const hosted = HOSTED_MODELS.find((m) => m.baseUrl === base.href);
    const hostedUrl = (path: string) => hosted?.files.find((f) => f.path === path)?.url;
    const source = weights && stored ? storedSource(weights, stored) : fetchSource(base, hostedUrl);
    const gpuSessions = browserSessionFactory(backend, caps);
    let sizeLimit: ImageSizeLimit | null = null;
    const sessions: SessionFactory = (graph, model, externalData) => {
      // The VAE decoder's attention decides how large an image fits this GPU's buffers.
      if (backend === 'webgpu' && graph === 'vaeDecoder') sizeLimit = imageSizeLimit(model, caps);
      return gpuSessions(graph, model, externalData);
    };
    // External data over 2 GiB reaches onnxruntime-web as Blob slices of at most 2 GiB.
    const createSession = reshardingSessionFactory(sessions);
    const watchdog = new LoadWatchdog(onStage ? { onStage } : {});
    // A hosted build's family, else the user's choice, else the stored manifest's, else the
    // export's config files (the loader reads them).
    const family = hosted?.family ?? chosenFamily ?? stored?.family;
    const model = await loadSdxlModel(source, createSession, onProgress, {
      watchdog,
      ...(family ? { family } : {}),
    });
    if (backend === 'webgpu') {
      watchDeviceLoss(await ortWebGpuDevice(), (message) => {
        deviceLost = message;
        post({ type: 'error', id: null, error: { code: 'device-lost', message } });
      });
    }
    return { model, backend, imageSizeLimit: sizeLimit };
  },
});

const storage = new StorageService({
  post,
  store: weights,
  fetch: (url, init) => fetch(url, { ...init, credentials: 'omit' }),
  env: browserStorageEnv(),
  baseHref: self.location.href,
});

self.addEventListener('message', (event: MessageEvent<unknown>) => {
  const request = parseWorkerRequest(event.data);
  if (!request) {
    console.warn('[worker] ignored a malformed message', event.data);
    return;
  }
  // Answered first and at once: the page's watchdog restarts a worker that stays silent.
  if (request.type === 'ping') post({ type: 'pong', id: request.id });
  else if (isStorageRequest(request)) void storage.handle(request);
  else engine.handle(request);
});

void capabilities.then((caps) => {
  post({
    type: 'ready',
    protocolVersion: PROTOCOL_VERSION,
    capabilities: caps,
    hostedModels: HOSTED_MODELS.map((m) => ({
      modelId: m.id,
      displayName: m.displayName,
      baseUrl: m.baseUrl,
      approxBytes: manifestBytes(m),
      ...(manifestKeptBytes(m) < manifestBytes(m) ? { keptBytes: manifestKeptBytes(m) } : {}),
      ...(m.family ? { family: m.family } : {}),
    })),
  });
});
