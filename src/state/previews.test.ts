/** The page side of TAESDXL previews: which decoder each request asks for, and the full-VAE follow-up. */
import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  type GenerateParams,
  type WorkerEvent,
  type WorkerRequest,
} from '../protocol/messages';
import { PREVIEW_IDLE_MS, createAppStore } from './store';

function setup(modelPreviews: boolean) {
  const posted: WorkerRequest[] = [];
  const timers: Array<{ run: () => void; ms: number; cancelled: boolean }> = [];
  const store = createAppStore({
    port: { post: (req) => posted.push(req) },
    pageHref: () => 'https://app.example/',
    randomSeed: () => 1234,
    initial: { modelUrl: 'https://models.example/sdxl' },
    setTimer: (run, ms) => {
      const timer = { run, ms, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
  });
  const send = (ev: WorkerEvent) => store.getState().handleWorkerEvent(ev);
  send({
    type: 'ready',
    protocolVersion: PROTOCOL_VERSION,
    capabilities: { webgpu: true, shaderF16: false, adapter: 't', maxBufferSize: 1 << 30 },
  });
  store.getState().loadModel();
  const plan = posted.at(-1) as Extract<WorkerRequest, { type: 'plan-download' }>;
  send({
    type: 'download-plan',
    id: plan.id,
    baseUrl: plan.baseUrl,
    modelId: 'm',
    files: [],
    totalBytes: 0,
    storedBytes: 0,
    freeBytes: null,
  });
  const load = posted.at(-1) as Extract<WorkerRequest, { type: 'load-model' }>;
  send({
    type: 'model-loaded',
    id: load.id,
    backend: 'webgpu',
    dtype: 'float32',
    loadMs: 1,
    previews: modelPreviews,
  });
  const generates = () =>
    posted.filter((r): r is Extract<WorkerRequest, { type: 'generate' }> => r.type === 'generate');
  return { store, send, generates, timers, s: () => store.getState() };
}

function frameEvent(id: number, params: GenerateParams, decoder: 'vae' | 'taesd'): WorkerEvent {
  return {
    type: 'frame',
    id,
    width: 1,
    height: 1,
    pixels: new ArrayBuffer(4),
    backend: 'webgpu',
    params,
    decoder,
    timings: {
      tokenize: 0,
      textEncoders: 0,
      promptCached: true,
      unetSteps: [1],
      vaeDecode: 1,
      toPixels: 0,
      total: 2,
    },
  };
}

describe('previews', () => {
  it('live edits ask for TAESDXL frames; after a pause the full VAE decodes the same request', () => {
    const t = setup(true);
    t.s().setPrompt('a cat');
    const live = t.generates().at(-1)!;
    expect(live).toMatchObject({ live: true, decoder: 'taesd', stepPreviews: true });
    t.send(frameEvent(live.id, live.params, 'taesd'));
    expect(t.s().frame?.decoder).toBe('taesd');
    // Not final yet: the full decode is pending.
    expect(t.s().status).toBe('generating');
    const timer = t.timers.at(-1)!;
    expect(timer.ms).toBe(PREVIEW_IDLE_MS);
    timer.run();
    const full = t.generates().at(-1)!;
    expect(full).toMatchObject({ live: false, decoder: 'vae', params: live.params });
    expect(full.id).toBeGreaterThan(live.id);
    expect(t.s().status).toBe('generating');
    t.send(frameEvent(full.id, full.params, 'vae'));
    expect(t.s().frame).toMatchObject({ id: full.id, decoder: 'vae' });
    expect(t.s().status).toBe('ready');
    expect(t.timers).toHaveLength(1); // a VAE frame schedules nothing
  });

  it('an edit during the pause cancels the full decode', () => {
    const t = setup(true);
    t.s().setPrompt('a cat');
    const first = t.generates().at(-1)!;
    t.send(frameEvent(first.id, first.params, 'taesd'));
    t.s().setPrompt('a cat on a sofa');
    expect(t.timers[0]!.cancelled).toBe(true);
    expect(t.s().fullDecodePending).toBe(false);
    expect(t.generates().at(-1)).toMatchObject({ decoder: 'taesd', live: true });
  });

  it('Generate asks for the full VAE, with a preview after each step', () => {
    const t = setup(true);
    t.s().setLive(false);
    t.s().setSteps(3);
    t.s().setPrompt('a cat');
    t.s().generate();
    const request = t.generates().at(-1)!;
    expect(request).toMatchObject({ live: false, decoder: 'vae', stepPreviews: true });
    t.send({
      type: 'preview',
      id: request.id,
      step: 1,
      steps: 3,
      width: 1,
      height: 1,
      pixels: new ArrayBuffer(4),
      backend: 'webgpu',
      params: request.params,
    });
    expect(t.s().frame).toMatchObject({
      id: request.id,
      decoder: 'taesd',
      preview: { step: 1, steps: 3 },
      timings: null,
    });
    expect(t.s().status).toBe('generating');
    t.send(frameEvent(request.id, request.params, 'vae'));
    expect(t.s().frame?.preview).toBeUndefined();
    expect(t.s().frame?.decoder).toBe('vae');
  });

  it('asks for no previews when the setting is off or the model has no TAESDXL', () => {
    for (const [modelPreviews, setting] of [
      [true, false],
      [false, true],
    ] as const) {
      const t = setup(modelPreviews);
      t.s().setPreviews(setting);
      t.s().setPrompt('a cat');
      const request = t.generates().at(-1)!;
      expect(request.decoder).toBeUndefined();
      expect(request.stepPreviews).toBeUndefined();
    }
  });

  it('ignores a preview of a request that is no longer the newest', () => {
    const t = setup(true);
    t.s().setPrompt('a cat');
    const old = t.generates().at(-1)!;
    t.s().setPrompt('a dog');
    t.send({
      type: 'preview',
      id: old.id,
      step: 1,
      steps: 2,
      width: 1,
      height: 1,
      pixels: new ArrayBuffer(4),
      backend: 'webgpu',
      params: old.params,
    });
    expect(t.s().frame).toBeNull();
  });
});
