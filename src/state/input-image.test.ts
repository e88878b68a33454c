import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  type Capabilities,
  type WorkerEvent,
  type WorkerRequest,
} from '../protocol/messages';
import {
  denoisingSummary,
  imageToImageBlocker,
  normalizeStrength,
  type ImageToImageView,
} from './input-image';
import { createAppStore } from './store';

const CAPS: Capabilities = { webgpu: true, shaderF16: false, adapter: 't', maxBufferSize: 1 };

/** A store with a model loaded; `imageToImage` says whether the model has a VAE encoder. */
function loaded(imageToImage = true) {
  const posted: WorkerRequest[] = [];
  const store = createAppStore({
    port: { post: (req) => posted.push(req) },
    pageHref: () => 'https://app.example/',
    randomSeed: () => 5,
    initial: { modelUrl: 'https://models.example/m/' },
  });
  const send = (ev: WorkerEvent) => store.getState().handleWorkerEvent(ev);
  send({ type: 'ready', protocolVersion: PROTOCOL_VERSION, capabilities: CAPS });
  store.getState().loadModel();
  // The model is stored already: the plan answers complete and the store loads it (same id 1).
  send({
    type: 'download-plan',
    id: 1,
    baseUrl: 'https://models.example/m/',
    modelId: 'm',
    files: [],
    totalBytes: 0,
    storedBytes: 0,
    freeBytes: null,
  });
  send({
    type: 'model-loaded',
    id: 1,
    backend: 'webgpu',
    dtype: 'float32',
    loadMs: 1,
    imageToImage,
    ...(imageToImage ? {} : { imageToImageMissing: 'vae_encoder/model.onnx: HTTP 404' }),
  });
  return { store, posted, send, s: () => store.getState() };
}

/** 600×400 RGBA: left half black, right half white. */
function halves() {
  const data = new Uint8ClampedArray(600 * 400 * 4);
  for (let p = 0; p < 600 * 400; p++) {
    const v = p % 600 < 300 ? 0 : 255;
    data.set([v, v, v, 255], p * 4);
  }
  return { width: 600, height: 400, data };
}

const lastGenerate = (posted: WorkerRequest[]) => {
  const req = posted.at(-1);
  if (req?.type !== 'generate') throw new Error(`expected a generate request, got ${req?.type}`);
  return req;
};

describe('image-to-image in the store', () => {
  it('fits a new input image to the output size and sends it with strength', () => {
    const t = loaded();
    t.s().setLive(false);
    t.s().setPrompt('a cat');
    t.s().setSteps(2);
    t.s().setInputImage(halves(), 'halves.png');
    const input = t.s().inputImage!;
    expect(input.crop).toEqual({ x: 100, y: 0, width: 400, height: 400 });
    expect([input.fitted.width, input.fitted.height]).toEqual([512, 512]);
    expect(t.s().strength).toBe(0.5);

    expect(t.s().generate()).toBe(true);
    const req = lastGenerate(t.posted);
    expect(req.params).toEqual({
      prompt: 'a cat',
      seed: 5,
      noise: 'torch-cpu',
      steps: 2,
      width: 512,
      height: 512,
      strength: 0.5,
    });
    expect(req.image).toMatchObject({ width: 512, height: 512, version: input.version });
    expect(req.image?.pixels.byteLength).toBe(512 * 512 * 4);
    const px = new Uint8Array(req.image!.pixels);
    expect(px[0]).toBe(0); // left edge of the crop: black
    expect(px[511 * 4]).toBe(255); // right edge: white
  });

  it('refits on a size change (same version), bumps the version for a new image', () => {
    const t = loaded();
    t.s().setLive(false);
    t.s().setInputImage(halves(), 'a');
    const first = t.s().inputImage!;
    t.s().setSize('768x512');
    const refit = t.s().inputImage!;
    expect(refit.version).toBe(first.version);
    expect(refit.crop).toEqual({ x: 0, y: 0, width: 600, height: 400 });
    expect([refit.fitted.width, refit.fitted.height]).toEqual([768, 512]);
    t.s().setInputImage(halves(), 'b');
    expect(t.s().inputImage!.version).toBeGreaterThan(first.version);
    t.s().clearInputImage();
    t.s().generate();
    expect(lastGenerate(t.posted).image).toBeUndefined();
    expect(lastGenerate(t.posted).params.strength).toBeUndefined();
  });

  it('blocks generation when steps × strength < 1, and says so', () => {
    const t = loaded();
    t.s().setLive(false);
    t.s().setInputImage(halves(), 'a');
    t.s().setSteps(1);
    expect(imageToImageBlocker(t.s())).toMatch(/1 step × strength 0.5 = 0 denoising steps/);
    const before = t.posted.length;
    expect(t.s().generate()).toBe(false);
    expect(t.posted).toHaveLength(before);
    t.s().setStrength(1);
    expect(imageToImageBlocker(t.s())).toBeNull();
    expect(t.s().generate()).toBe(true);
  });

  it('blocks image-to-image on a model without a VAE encoder; text-to-image still works', () => {
    const t = loaded(false);
    t.s().setLive(false);
    expect(t.s().model?.imageToImageMissing).toMatch(/404/);
    expect(t.s().generate()).toBe(true);
    t.s().setInputImage(halves(), 'a');
    expect(imageToImageBlocker(t.s())).toMatch(/no VAE encoder/);
    expect(t.s().generate()).toBe(false);
  });

  it('live mode: the image, strength and prompt each ask for a new image', () => {
    const t = loaded();
    t.s().setSteps(2);
    t.s().setPrompt('a');
    const count = () => t.posted.filter((r) => r.type === 'generate').length;
    const n0 = count();
    t.s().setInputImage(halves(), 'a');
    expect(count()).toBe(n0 + 1);
    t.s().setStrength(0.75);
    expect(count()).toBe(n0 + 2);
    t.s().setPrompt('ab');
    expect(count()).toBe(n0 + 3);
    const versions = t.posted.flatMap((r) =>
      r.type === 'generate' && r.image ? [r.image.version] : [],
    );
    expect(new Set(versions).size).toBe(1); // the worker can reuse the encoded image
  });

  it('uses the newest frame as the input image', () => {
    const t = loaded();
    t.s().setLive(false);
    expect(t.s().takeFrameAsInput()).toBe(false);
    const pixels = new Uint8Array(512 * 512 * 4).fill(9);
    for (let i = 3; i < pixels.length; i += 4) pixels[i] = 255; // frames are opaque
    t.send({
      type: 'frame',
      id: 1,
      width: 512,
      height: 512,
      pixels: pixels.buffer,
      backend: 'webgpu',
      params: { prompt: 'p', seed: 3, steps: 1, width: 512, height: 512 },
      timings: {
        tokenize: 0,
        textEncoders: 0,
        promptCached: false,
        unetSteps: [0],
        vaeDecode: 0,
        toPixels: 0,
        total: 0,
      },
    });
    expect(t.s().takeFrameAsInput()).toBe(true);
    const input = t.s().inputImage!;
    expect(input.name).toMatch(/generated image \(seed 3\)/);
    expect(input.crop).toEqual({ x: 0, y: 0, width: 512, height: 512 });
    expect(input.fitted.data[0]).toBe(9);
  });
});

describe('strength helpers', () => {
  it('clamps to 0.05..1 and snaps to the 0.05 grid as exact decimals', () => {
    expect(normalizeStrength(0.7000000000000001)).toBe(0.7);
    expect(normalizeStrength(14 * 0.05)).toBe(0.7);
    expect(normalizeStrength(0)).toBe(0.05);
    expect(normalizeStrength(3)).toBe(1);
    expect(normalizeStrength(0.33)).toBe(0.35);
    expect(normalizeStrength(Number.NaN)).toBeNull();
  });

  it('explains steps × strength', () => {
    expect(denoisingSummary(2, 0.5)).toBe('2 steps × strength 0.5 = 1 denoising step');
    expect(denoisingSummary(4, 0.75)).toBe('4 steps × strength 0.75 = 3 denoising steps');
    expect(denoisingSummary(1, 0.5)).toBe('1 step × strength 0.5 = 0 denoising steps');
  });

  it('never blocks text-to-image', () => {
    const view: ImageToImageView = {
      inputImage: null,
      steps: 1,
      strength: 0.05,
      model: { imageToImage: false },
    };
    expect(imageToImageBlocker(view)).toBeNull();
  });
});
