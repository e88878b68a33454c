import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  type Capabilities,
  type GenerateParams,
  type WorkerEvent,
  type WorkerRequest,
} from '../protocol/messages';
import { createAppStore, type StoreDeps } from './store';

const CAPS: Capabilities = {
  webgpu: true,
  shaderF16: false,
  adapter: 'test',
  maxBufferSize: 1 << 30,
};

function setup(overrides: Partial<StoreDeps> = {}) {
  const posted: WorkerRequest[] = [];
  const remembered: [string, string][] = [];
  const store = createAppStore({
    port: { post: (req) => posted.push(req) },
    pageHref: () => 'https://app.example/sub/dir/index.html?x=1',
    onModelRequested: (url, backend) => remembered.push([url, backend]),
    randomSeed: () => 1234,
    ...overrides,
  });
  const send = (ev: WorkerEvent) => store.getState().handleWorkerEvent(ev);
  return { store, posted, remembered, send, s: () => store.getState() };
}

const ready: WorkerEvent = { type: 'ready', protocolVersion: PROTOCOL_VERSION, capabilities: CAPS };

function frame(id: number, seed = 7, width = 2, height = 2): WorkerEvent {
  const params: GenerateParams = { prompt: 'p', seed, steps: 1, width, height };
  return {
    type: 'frame',
    id,
    width,
    height,
    pixels: new ArrayBuffer(width * height * 4),
    backend: 'webgpu',
    params,
    timings: {
      tokenize: 1,
      textEncoders: 2,
      promptCached: false,
      unetSteps: [3],
      vaeDecode: 4,
      toPixels: 5,
      total: 15,
    },
  };
}

/** A store with a model loaded on WebGPU. */
function loaded() {
  const t = setup({ initial: { modelUrl: 'https://models.example/sdxl' } });
  t.send(ready);
  expect(t.s().loadModel()).toBe(true);
  storedPlan(t);
  const load = t.posted.at(-1);
  if (load?.type !== 'load-model') throw new Error('expected a load-model request');
  t.send({ type: 'model-loaded', id: load.id, backend: 'webgpu', dtype: 'float32', loadMs: 1200 });
  return t;
}

/** Answers the last plan-download as a model already stored (so the store loads it at once). */
function storedPlan(t: ReturnType<typeof setup>) {
  const plan = t.posted.at(-1);
  if (plan?.type !== 'plan-download') throw new Error('expected a plan-download request');
  t.send({
    type: 'download-plan',
    id: plan.id,
    baseUrl: plan.baseUrl,
    modelId: 'm',
    files: [{ path: 'unet/model.onnx', bytes: 10 }],
    totalBytes: 10,
    storedBytes: 10,
    freeBytes: null,
  });
}

/** What the store asked of the worker, less the stored-models listing it asks for on ready. */
function requests(t: { posted: WorkerRequest[] }) {
  return t.posted.filter((r) => r.type !== 'list-models');
}

describe('app store', () => {
  it('starts in "starting" and becomes idle on ready', () => {
    const t = setup();
    expect(t.s().status).toBe('starting');
    expect(t.s().seed).toBe(1234);
    t.send(ready);
    expect(t.s().status).toBe('idle');
    expect(t.s().capabilities).toEqual(CAPS);
  });

  it('refuses a worker with another protocol version', () => {
    const t = setup({ initial: { modelUrl: 'https://m.example/', autoLoad: true } });
    t.send({ type: 'ready', protocolVersion: PROTOCOL_VERSION + 1, capabilities: CAPS });
    expect(t.s().status).toBe('error');
    expect(t.s().error?.code).toBe('protocol-mismatch');
    expect(t.s().fatal).toBe(true);
    expect(requests(t)).toEqual([]); // no auto-load to an incompatible worker
    expect(t.s().loadModel()).toBe(false);
    t.send(ready); // later events are ignored
    expect(t.s().status).toBe('error');
  });

  it('loads a model: absolute base URL with a trailing slash, progress, model info', () => {
    const t = setup({ initial: { modelUrl: '  ../models/tiny ', backendChoice: 'wasm' } });
    expect(t.s().loadModel()).toBe(false); // not before ready
    t.send(ready);
    expect(t.s().loadModel()).toBe(true);
    // First the plan (stored already here), then the load, under the same request id.
    storedPlan(t);
    expect(requests(t)).toEqual([
      { type: 'plan-download', id: 1, baseUrl: 'https://app.example/sub/models/tiny/' },
      {
        type: 'load-model',
        id: 1,
        baseUrl: 'https://app.example/sub/models/tiny/',
        backend: 'wasm',
        // The warm-up image is at the size and steps chosen now (the defaults here).
        warmUp: { width: 512, height: 512, steps: 1 },
      },
    ]);
    expect(t.remembered).toEqual([['../models/tiny', 'wasm']]);
    expect(t.s().status).toBe('loading');
    expect(t.s().loadModel()).toBe(false); // one load at a time

    t.send({
      type: 'load-progress',
      id: 1,
      file: 'unet/model.onnx',
      loadedBytes: 10,
      totalBytes: 100,
    });
    t.send({
      type: 'load-progress',
      id: 1,
      file: 'vae_decoder/model.onnx',
      loadedBytes: 5,
      totalBytes: 0,
    });
    t.send({
      type: 'load-progress',
      id: 1,
      file: 'unet/model.onnx',
      loadedBytes: 60,
      totalBytes: 100,
    });
    t.send({ type: 'load-progress', id: 99, file: 'other', loadedBytes: 1, totalBytes: 1 }); // stale
    expect(t.s().load?.files).toEqual([
      { file: 'unet/model.onnx', loadedBytes: 60, totalBytes: 100 },
      { file: 'vae_decoder/model.onnx', loadedBytes: 5, totalBytes: 0 },
    ]);

    t.send({ type: 'model-loaded', id: 1, backend: 'wasm', dtype: 'float16', loadMs: 3400 });
    expect(t.s().status).toBe('ready');
    expect(t.s().load).toBeNull();
    expect(t.s().model).toMatchObject({ backend: 'wasm', dtype: 'float16', loadMs: 3400 });
  });

  it('auto-loads a ?model= URL once the worker is ready', () => {
    const t = setup({
      initial: { modelUrl: 'https://m.example/x/', autoLoad: true, backendChoice: 'webgpu' },
    });
    expect(requests(t)).toEqual([]);
    t.send(ready);
    expect(requests(t)).toEqual([
      { type: 'plan-download', id: 1, baseUrl: 'https://m.example/x/' },
    ]);
  });

  it('does not auto-load a URL remembered from localStorage', () => {
    const t = setup({ initial: { modelUrl: 'https://m.example/x/', autoLoad: false } });
    t.send(ready);
    expect(requests(t)).toEqual([]);
    expect(t.s().status).toBe('idle');
  });

  it('rejects a non-http model URL with a bad-url error', () => {
    const t = setup({ initial: { modelUrl: 'javascript:alert(1)' } });
    t.send(ready);
    expect(t.s().loadModel()).toBe(false);
    expect(requests(t)).toEqual([]);
    expect(t.s().error?.code).toBe('bad-url');
  });

  it('generate() needs a loaded model and posts the current parameters', () => {
    const t = setup();
    t.send(ready);
    expect(t.s().generate()).toBe(false);
    expect(requests(t)).toEqual([]);

    const u = loaded();
    u.s().setLive(false); // explicit generation only; live mode has its own tests
    u.s().setPrompt('a photo of a cat');
    u.s().setSteps(3);
    u.s().setSeed('42');
    u.s().setSize('512x768');
    expect(u.s().generate()).toBe(true);
    expect(u.posted.at(-1)).toEqual({
      type: 'generate',
      id: 2,
      params: {
        prompt: 'a photo of a cat',
        seed: 42,
        noise: 'torch-cpu',
        steps: 3,
        width: 512,
        height: 768,
      },
      live: false,
    });
    expect(u.s().status).toBe('generating');
    u.s().setSize('768x512');
    u.s().generate();
    expect(u.posted.at(-1)).toMatchObject({ id: 3, params: { width: 768, height: 512 } });
  });

  it('seeds feed torch-cpu by default; the first generator can be chosen; restore picks it', () => {
    const u = loaded();
    u.s().setLive(false);
    u.s().setPrompt('p');
    expect(u.s().noise).toBe('torch-cpu');
    u.s().setNoise('mulberry32');
    u.s().generate();
    expect(u.posted.at(-1)).toMatchObject({ params: { noise: 'mulberry32' } });
    u.s().setNoise('philox'); // not a generator: ignored
    expect(u.s().noise).toBe('mulberry32');
    u.s().restoreSettings({
      prompt: 'q',
      seed: 3,
      steps: 1,
      width: 512,
      height: 512,
      noise: 'torch-cpu',
    });
    expect(u.s().noise).toBe('torch-cpu');
    // Settings kept before this app had a second generator name none: mulberry32 made them.
    u.s().restoreSettings({ prompt: 'q', seed: 3, steps: 1, width: 512, height: 512 });
    expect(u.s().noise).toBe('mulberry32');
  });

  it('request ids increase across loads and generations', () => {
    const t = loaded();
    t.s().generate();
    t.s().generate();
    expect(requests(t).map((r) => r.id)).toEqual([1, 1, 2, 3]); // the plan and its load share an id
  });

  it('shows frames and never lets an older frame replace a newer one', () => {
    const t = loaded();
    t.s().generate(); // id 2
    t.s().generate(); // id 3
    t.send(frame(3, 30));
    expect(t.s().frame?.id).toBe(3);
    expect(t.s().status).toBe('ready');
    t.send(frame(2, 20)); // late frame of the superseded request
    expect(t.s().frame?.id).toBe(3);
    expect(t.s().frame?.params.seed).toBe(30);
  });

  it('keeps "generating" while only an older request has finished', () => {
    const t = loaded();
    t.s().generate(); // id 2
    t.s().generate(); // id 3
    t.send(frame(2));
    expect(t.s().frame?.id).toBe(2);
    expect(t.s().status).toBe('generating');
    t.send(frame(3));
    expect(t.s().status).toBe('ready');
  });

  it('treats a frame with the wrong byte count as an error, not a picture', () => {
    const t = loaded();
    t.s().generate();
    const bad = { ...frame(2), pixels: new ArrayBuffer(3) } as WorkerEvent;
    t.send(bad);
    expect(t.s().frame).toBeNull();
    expect(t.s().error?.code).toBe('internal');
    expect(t.s().status).toBe('error');
  });

  it('an error event ends the request it belongs to and sets the error', () => {
    const t = loaded();
    t.s().generate(); // id 2
    t.send({ type: 'error', id: 2, error: { code: 'internal', message: 'boom' } });
    expect(t.s().error).toEqual({ code: 'internal', message: 'boom', requestId: 2 });
    expect(t.s().status).toBe('error');
    expect(t.s().generatingId).toBeNull();
    // The model is still there: generating again clears the error.
    expect(t.s().generate()).toBe(true);
    expect(t.s().error).toBeNull();
    expect(t.s().status).toBe('generating');
  });

  it('a failed load leaves no model and an explained error', () => {
    const t = setup({ initial: { modelUrl: 'https://m.example/' } });
    t.send(ready);
    t.s().loadModel();
    t.send({ type: 'error', id: 1, error: { code: 'no-shader-f16', message: 'requires f16' } });
    expect(t.s().status).toBe('error');
    expect(t.s().load).toBeNull();
    expect(t.s().model).toBeNull();
    expect(t.s().error?.code).toBe('no-shader-f16');
    expect(t.s().generate()).toBe(false);
    expect(t.s().loadModel()).toBe(true); // can retry
  });

  it('device-lost (no request id) drops the model and whatever was in flight', () => {
    const t = loaded();
    t.s().generate();
    t.send({ type: 'error', id: null, error: { code: 'device-lost', message: 'lost' } });
    expect(t.s().generatingId).toBeNull();
    expect(t.s().model).toBeNull();
    expect(t.s().status).toBe('error');
    t.s().clearError();
    expect(t.s().status).toBe('idle');
  });

  it('a worker that fails before ready is fatal; after ready it is an error', () => {
    const t = setup();
    t.s().workerFailed('script 404');
    expect(t.s()).toMatchObject({ status: 'error', fatal: true, error: { code: 'worker-failed' } });
    t.s().clearError();
    expect(t.s().error).not.toBeNull();

    const u = loaded();
    u.s().generate();
    u.s().workerFailed('uncaught');
    expect(u.s()).toMatchObject({ status: 'error', fatal: false, generatingId: null });
  });

  describe('seed', () => {
    it('accepts integers in 0..2^32-1 and clamps the rest', () => {
      const { s } = setup();
      expect(s().setSeed('0')).toBe(true);
      expect(s().seed).toBe(0);
      expect(s().setSeed(' 4294967295 ')).toBe(true);
      expect(s().seed).toBe(4294967295);
      s().setSeed('4294967296');
      expect(s().seed).toBe(4294967295);
      s().setSeed(-5);
      expect(s().seed).toBe(0);
      s().setSeed('12.9');
      expect(s().seed).toBe(12);
      s().setSeed('1e3');
      expect(s().seed).toBe(1000);
    });

    it('rejects non-numbers and keeps the previous seed', () => {
      const { s } = setup();
      s().setSeed(77);
      for (const bad of [
        '',
        '  ',
        'abc',
        '12abc',
        '0x10',
        'NaN',
        'Infinity',
        Number.NaN,
        Infinity,
      ]) {
        expect(s().setSeed(bad)).toBe(false);
        expect(s().seed).toBe(77);
      }
    });

    it('re-roll draws a new seed', () => {
      let n = 5;
      const { s } = setup({ randomSeed: () => n++ });
      expect(s().seed).toBe(5);
      s().rerollSeed();
      expect(s().seed).toBe(6);
    });

    it('an invalid initial seed falls back to a random one', () => {
      const { s } = setup({ initial: { seed: Number.NaN } });
      expect(s().seed).toBe(1234);
    });
  });

  it('validates steps, size and backend choice', () => {
    const { s } = setup();
    expect(s().steps).toBe(1);
    s().setSteps(9);
    expect(s().steps).toBe(4);
    s().setSteps(0);
    expect(s().steps).toBe(1);
    s().setSteps(Number.NaN);
    expect(s().steps).toBe(1);
    expect(s().size).toBe('512x512');
    s().setSize('1024x1024');
    expect(s().size).toBe('512x512');
    s().setBackendChoice('cuda');
    expect(s().backendChoice).toBe('auto');
    s().setBackendChoice('wasm');
    expect(s().backendChoice).toBe('wasm');
  });

  it('sends hostile prompts cleaned and never throws on them', () => {
    const t = loaded();
    const hostile = [
      '',
      '\u0000',
      'a\u0000b\u0007c\u001b[0m',
      '🐱‍👤 قطة \u202Eevil\u202C',
      '<img src=x onerror=alert(1)>',
      'long '.repeat(2000),
      '\uD83D',
    ];
    const sent: string[] = [];
    for (const prompt of hostile) {
      t.s().setPrompt(prompt);
      expect(t.s().generate()).toBe(true);
      const request = t.posted.at(-1);
      if (request?.type !== 'generate') throw new Error('expected a generate request');
      sent.push(request.params.prompt);
    }
    expect(sent).toEqual([
      '',
      '',
      'abc[0m',
      '🐱‍👤 قطة \u202Eevil\u202C',
      '<img src=x onerror=alert(1)>',
      'long '.repeat(2000),
      '\uFFFD',
    ]);
    // The text box keeps what was typed.
    expect(t.s().prompt).toBe('\uD83D');
  });

  it('rounds fractional steps and keeps strength within 0.05..1', () => {
    const { s } = setup();
    s().setSteps(2.7);
    expect(s().steps).toBe(3);
    s().setSteps(-Infinity);
    expect(s().steps).toBe(3);
    for (const [value, expected] of [
      [0, 0.05],
      [-3, 0.05],
      [1.5, 1],
      [0.333, 0.35],
    ] as const) {
      s().setStrength(value);
      expect(s().strength).toBe(expected);
    }
    s().setStrength(Number.NaN);
    expect(s().strength).toBe(0.35);
  });

  it('asks for the stored-model list again when a load fails (a damaged model is now incomplete)', () => {
    const t = setup({ initial: { modelUrl: 'https://models.example/sdxl' } });
    t.send(ready);
    t.s().loadModel();
    storedPlan(t);
    const load = t.posted.at(-1);
    if (load?.type !== 'load-model') throw new Error('expected a load-model request');
    const lists = () => t.posted.filter((r) => r.type === 'list-models').length;
    const before = lists();
    t.send({
      type: 'error',
      id: load.id,
      error: {
        code: 'bad-model',
        message: 'unet/model.onnx: stored chunk 0 is missing or damaged',
      },
    });
    expect(lists()).toBe(before + 1);
    expect(t.s()).toMatchObject({ load: null, error: { code: 'bad-model' } });
  });
});
