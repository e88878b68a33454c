/**
 * The module worker that owns onnxruntime-web and the pipeline. The page talks to it only
 * through the messages in src/protocol.
 */
import { loadSdxlModel } from '../pipeline/model-loader.ts';
import { PROTOCOL_VERSION, type WorkerEvent } from '../protocol/messages.ts';
import { probeCapabilities } from './capabilities.ts';
import { Engine } from './engine.ts';
import { fetchSource, modelBaseUrl } from './fetch-source.ts';
import { browserSessionFactory, resolveBackend } from './ort-runtime.ts';

declare const self: DedicatedWorkerGlobalScope;

const capabilities = probeCapabilities();

const engine = new Engine({
  post: (event: WorkerEvent, transfer: Transferable[] = []) => self.postMessage(event, transfer),
  now: () => performance.now(),
  log: (message, detail) => console.warn(`[worker] ${message}`, detail),
  loadModel: async (baseUrl, choice, onProgress) => {
    const caps = await capabilities;
    const backend = resolveBackend(choice, caps);
    const source = fetchSource(modelBaseUrl(baseUrl, self.location.href));
    const model = await loadSdxlModel(source, browserSessionFactory(backend, caps), onProgress);
    return { model, backend };
  },
});

self.addEventListener('message', (event: MessageEvent<unknown>) => engine.receive(event.data));

void capabilities.then((caps) => {
  const ready: WorkerEvent = {
    type: 'ready',
    protocolVersion: PROTOCOL_VERSION,
    capabilities: caps,
  };
  self.postMessage(ready);
});
