/**
 * The store and model families: the family choice for a custom URL goes out with the load, and
 * a loaded model's family sets the steps and sizes on offer (Turbo settings become Lightning's
 * defaults) and drops an input image a family without image-to-image cannot use.
 */
import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  type Capabilities,
  type FamilyId,
  type WorkerEvent,
  type WorkerRequest,
} from '../protocol/messages';
import { createAppStore } from './store';

const CAPS: Capabilities = {
  webgpu: true,
  shaderF16: true,
  adapter: 'test',
  maxBufferSize: 1 << 30,
};

function loadWith(family: FamilyId | undefined, choose?: string) {
  const posted: WorkerRequest[] = [];
  const store = createAppStore({
    port: { post: (req) => posted.push(req) },
    pageHref: () => 'https://app.example/',
    randomSeed: () => 1,
    initial: { modelUrl: 'https://models.example/lightning' },
  });
  const s = () => store.getState();
  const send = (ev: WorkerEvent) => s().handleWorkerEvent(ev);
  send({ type: 'ready', protocolVersion: PROTOCOL_VERSION, capabilities: CAPS });
  if (choose !== undefined) s().setFamilyChoice(choose);
  // A picture to feed image-to-image, set before the load.
  s().setInputImage({ width: 8, height: 8, data: new Uint8ClampedArray(8 * 8 * 4) }, 'in.png');
  s().loadModel();
  const plan = posted.at(-1);
  if (plan?.type !== 'plan-download') throw new Error('expected a plan');
  send({
    type: 'download-plan',
    id: plan.id,
    baseUrl: plan.baseUrl,
    modelId: 'm',
    files: [{ path: 'unet/model.onnx', bytes: 10 }],
    totalBytes: 10,
    storedBytes: 10,
    freeBytes: null,
  });
  const load = posted.at(-1);
  if (load?.type !== 'load-model') throw new Error('expected a load');
  const loaded: WorkerEvent = {
    type: 'model-loaded',
    id: load.id,
    backend: 'webgpu',
    dtype: 'float16',
    loadMs: 1,
    ...(family ? { family } : {}),
  };
  send(loaded);
  return { s, load };
}

describe('store with model families', () => {
  it('sends the family chosen for a custom URL with the load, none when left on auto', () => {
    expect(loadWith('sdxl-lightning', 'sdxl-lightning').load).toMatchObject({
      family: 'sdxl-lightning',
    });
    expect(loadWith('sdxl-turbo').load).not.toHaveProperty('family');
    // An unknown choice is ignored (auto stays).
    expect(loadWith('sdxl-turbo', 'sd15').load).not.toHaveProperty('family');
  });

  it('a Lightning model: 4 steps, 1024×1024, no input image; Turbo steps and sizes refused', () => {
    const { s } = loadWith('sdxl-lightning');
    expect(s().model?.family).toBe('sdxl-lightning');
    expect(s().steps).toBe(4);
    expect(s().size).toBe('1024x1024');
    expect(s().inputImage).toBeNull();
    s().setSteps(1);
    expect(s().steps).toBe(4);
    s().setSize('512x512');
    expect(s().size).toBe('1024x1024');
    s().setSize('768x768');
    expect(s().size).toBe('768x768');
  });

  it('a model that names no family (an older worker) is SDXL Turbo, as before', () => {
    const { s } = loadWith(undefined);
    expect(s().model?.family).toBe('sdxl-turbo');
    expect(s().steps).toBe(1);
    expect(s().size).toBe('512x512');
    expect(s().inputImage).not.toBeNull();
  });
});
