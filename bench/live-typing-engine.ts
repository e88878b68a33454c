/**
 * The engine side of the live-typing benchmark, in its own thread (as in the browser, where
 * the worker computes while the page keeps receiving keystrokes on time).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { directorySource, nodeSessionFactory } from '../src/cli/node-model.ts';
import { loadSdxlModel } from '../src/pipeline/model-loader.ts';
import { Engine } from '../src/worker/engine.ts';

const port = parentPort;
if (!port) throw new Error('run as a worker thread');
const model = await loadSdxlModel(
  directorySource(workerData.modelDir as string),
  nodeSessionFactory,
);
const engine = new Engine({
  post: (event) => port.postMessage({ at: performance.timeOrigin + performance.now(), event }),
  now: () => performance.now(),
  log: () => {},
  loadModel: async () => ({ model, backend: 'wasm' }),
});
port.on('message', (message: unknown) => {
  if (message === 'idle?') void engine.idle().then(() => port.postMessage('idle'));
  else engine.receive(message);
});
port.postMessage('ready');
