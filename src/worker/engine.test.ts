import { describe, expect, it } from 'vitest';
import { fakeModel } from '../pipeline/testing/fake-model.ts';
import type { WorkerEvent } from '../protocol/messages.ts';
import { DownloadError } from './fetch-source.ts';
import { Engine, type EngineHost } from './engine.ts';

function harness(loadModel?: EngineHost['loadModel'], withTaesd = false) {
  const events: Array<{ event: WorkerEvent; transfer: Transferable[] }> = [];
  const logs: string[] = [];
  let released = 0;
  const engine = new Engine({
    post: (event, transfer = []) => events.push({ event, transfer }),
    now: () => 0,
    log: (message) => logs.push(message),
    loadModel:
      loadModel ??
      (async (_url, _backend, onProgress) => {
        onProgress('unet/model.onnx', 5, 10);
        return { model: fakeModel({ released: () => released++, withTaesd }), backend: 'webgpu' };
      }),
  });
  return { engine, events, logs, released: () => released };
}

const params = { prompt: 'a cat', seed: 7, steps: 2, width: 64, height: 128 };

describe('worker engine', () => {
  it('warms up at the size the load request names, else at 512×512', async () => {
    const asked: unknown[] = [];
    const runs: string[] = [];
    const engine = new Engine({
      post: () => {},
      now: () => 0,
      log: () => {},
      loadModel: async () => ({
        model: fakeModel({ onRun: (g) => void runs.push(g) }),
        backend: 'webgpu',
      }),
      warmUp: (backend, size) => {
        asked.push({ backend, ...size });
        return { prompt: '', seed: 0, steps: 1, width: size.width, height: size.height };
      },
    });
    const warmUp = { width: 128, height: 64, steps: 3 };
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto', warmUp });
    await engine.idle();
    engine.receive({ type: 'load-model', id: 2, baseUrl: 'http://x/', backend: 'auto' });
    await engine.idle();
    expect(asked).toEqual([
      { backend: 'webgpu', width: 128, height: 64, steps: 3 },
      { backend: 'webgpu', width: 512, height: 512, steps: 1 },
    ]);
    // Each load ran its warm-up image through the UNet once.
    expect(runs.filter((g) => g === 'unet')).toHaveLength(2);
    // A warm-up size that is no image size makes the whole request malformed (ignored).
    for (const bad of [
      { width: 100, height: 64, steps: 1 },
      { width: 64, height: 64, steps: 0 },
    ]) {
      engine.receive({
        type: 'load-model',
        id: 3,
        baseUrl: 'http://x/',
        backend: 'auto',
        warmUp: bad,
      });
    }
    await engine.idle();
    expect(asked).toHaveLength(2);
  });

  it('loads a model, reporting progress, then generates a transferred RGBA frame', async () => {
    const { engine, events } = harness();
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    engine.receive({ type: 'generate', id: 2, params });
    await engine.idle();
    const types = events.map((e) => e.event.type);
    expect(types).toEqual(['load-progress', 'model-loaded', 'generation-started', 'frame']);
    const frame = events[3];
    if (frame?.event.type !== 'frame') throw new Error('no frame');
    expect(frame.event).toMatchObject({ id: 2, width: 64, height: 128, backend: 'webgpu', params });
    expect(frame.event.pixels.byteLength).toBe(64 * 128 * 4);
    expect(frame.event.timings.unetSteps).toHaveLength(2);
    // The pixel buffer is handed over as a transferable, not copied.
    expect(frame.transfer).toEqual([frame.event.pixels]);
  });

  it('posts per-step previews and says which decoder made each frame', async () => {
    const runs: string[] = [];
    const { engine, events } = harness(async () => ({
      model: fakeModel({ withTaesd: true, onRun: (g) => void runs.push(g) }),
      backend: 'webgpu',
    }));
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    await engine.idle();
    expect(events.at(-1)?.event).toMatchObject({ type: 'model-loaded', previews: true });
    engine.receive({
      type: 'generate',
      id: 2,
      params: { ...params, steps: 3 },
      live: true,
      decoder: 'taesd',
      stepPreviews: true,
    });
    await engine.idle();
    const after = events.slice(events.findIndex((e) => e.event.type === 'model-loaded') + 1);
    expect(after.map((e) => e.event.type)).toEqual([
      'generation-started',
      'preview',
      'preview',
      'frame',
    ]);
    const preview = after[1]!;
    expect(preview.event).toMatchObject({
      type: 'preview',
      id: 2,
      step: 1,
      steps: 3,
      width: 64,
      height: 128,
    });
    if (preview.event.type !== 'preview') throw new Error('no preview');
    expect(preview.transfer).toEqual([preview.event.pixels]);
    expect(after[3]!.event).toMatchObject({ type: 'frame', id: 2, decoder: 'taesd' });
    // The full VAE on the same request: only the VAE decoder runs (the latents were kept).
    runs.length = 0;
    engine.receive({
      type: 'generate',
      id: 3,
      params: { ...params, steps: 3 },
      live: false,
      decoder: 'vae',
    });
    await engine.idle();
    expect(events.at(-1)?.event).toMatchObject({
      type: 'frame',
      id: 3,
      decoder: 'vae',
      timings: { latentsReused: true },
    });
    expect(runs).toEqual(['vaeDecoder']);
  });

  it('answers generate before any model with a no-model error', async () => {
    const { engine, events } = harness();
    engine.receive({ type: 'generate', id: 3, params });
    await engine.idle();
    expect(events.map((e) => e.event)).toEqual([
      {
        type: 'error',
        id: 3,
        error: { code: 'no-model', message: 'Load a model before generating.' },
      },
    ]);
  });

  it('logs and ignores malformed or unknown messages', async () => {
    const { engine, events, logs } = harness();
    for (const bad of [
      null,
      42,
      'generate',
      { type: 'explode', id: 1 },
      { type: 'generate', id: 'x', params },
      { type: 'generate', id: 4, params: { ...params, seed: 'nine' } },
      { type: 'load-model', id: 5, baseUrl: 1, backend: 'auto' },
    ]) {
      engine.receive(bad);
    }
    await engine.idle();
    expect(events).toEqual([]);
    expect(logs).toHaveLength(7);
  });

  it('turns invalid parameters into a bad-request error and keeps working', async () => {
    const { engine, events } = harness();
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    await engine.idle();
    for (const [id, p] of [
      [2, { ...params, steps: 9 }],
      [3, { ...params, width: 100 }],
      [4, params],
    ] as const) {
      engine.receive({ type: 'generate', id, params: p, live: false });
      await engine.idle();
    }
    const errors = events.flatMap((e) => (e.event.type === 'error' ? [e.event] : []));
    expect(errors.map((e) => [e.id, e.error.code])).toEqual([
      [2, 'bad-request'],
      [3, 'bad-request'],
    ]);
    expect(events.at(-1)?.event).toMatchObject({ type: 'frame', id: 4 });
  });

  it('answers every out-of-range setting with a bad-request error naming it', async () => {
    const { engine, events } = harness();
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    await engine.idle();
    const image = { width: 64, height: 128, pixels: new ArrayBuffer(64 * 128 * 4), version: 1 };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ params: { ...params, seed: -1 } }, 'seed must be an integer in 0..4294967295, got -1'],
      [{ params: { ...params, seed: 2 ** 32 } }, 'got 4294967296'],
      [{ params: { ...params, seed: 1.5 } }, 'seed must be an integer'],
      [{ params: { ...params, steps: 0 } }, 'steps must be 1..4, got 0'],
      [{ params: { ...params, steps: 5 } }, 'steps must be 1..4, got 5'],
      [{ params: { ...params, steps: 1.5 } }, 'steps must be 1..4, got 1.5'],
      [{ params: { ...params, width: 516 } }, 'width must be a multiple of 8 in 64..2048, got 516'],
      [{ params: { ...params, height: 4096 } }, 'height must be a multiple of 8 in 64..2048'],
      [{ params: { ...params, width: 0 } }, 'width must be a multiple of 8'],
      [{ params: { ...params, strength: 0 }, image }, 'strength'],
      [{ params: { ...params, strength: 1.5 }, image }, 'strength'],
    ];
    let id = 10;
    for (const [request] of cases) {
      engine.receive({ type: 'generate', id: id++, live: false, ...request });
      await engine.idle();
    }
    const errors = events.flatMap((e) => (e.event.type === 'error' ? [e.event] : []));
    expect(errors).toHaveLength(cases.length);
    for (const [i, [, says]] of cases.entries()) {
      expect(errors[i]).toMatchObject({ id: 10 + i, error: { code: 'bad-request' } });
      expect(errors[i]?.error.message).toContain(says);
    }
    // Still working afterwards.
    engine.receive({ type: 'generate', id: 99, params, live: false });
    await engine.idle();
    expect(events.at(-1)?.event).toMatchObject({ type: 'frame', id: 99 });
  });

  it('generates for empty, NUL-filled, emoji, right-to-left and 10,000-character prompts', async () => {
    const { engine, events } = harness();
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    await engine.idle();
    const prompts = [
      '',
      '\u0000\u0000',
      '🐱‍👤 قطة \u202Eevil\u202C',
      '<img src=x onerror=alert(1)>',
      'x'.repeat(10_000),
    ];
    for (const [i, prompt] of prompts.entries()) {
      engine.receive({ type: 'generate', id: 20 + i, params: { ...params, prompt }, live: false });
      await engine.idle();
    }
    const answers = events.filter((e) => e.event.type === 'frame' || e.event.type === 'error');
    expect(answers.map((e) => [e.event.type, 'id' in e.event ? e.event.id : null])).toEqual(
      prompts.map((_, i) => ['frame', 20 + i]),
    );
  });

  it('releases the previous model when another is loaded', async () => {
    const { engine, released } = harness();
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    engine.receive({ type: 'load-model', id: 2, baseUrl: 'http://y/', backend: 'auto' });
    await engine.idle();
    expect(released()).toBe(1);
  });

  it('reports a failed download with its code; generating afterwards says no model', async () => {
    let calls = 0;
    const { engine, events } = harness(async () => {
      calls++;
      if (calls === 2) throw new DownloadError('http://x/unet/model.onnx answered HTTP 404');
      return { model: fakeModel(), backend: 'wasm' };
    });
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'wasm' });
    engine.receive({ type: 'load-model', id: 2, baseUrl: 'http://x/', backend: 'wasm' });
    engine.receive({ type: 'generate', id: 3, params });
    await engine.idle();
    expect(events.map((e) => e.event)).toEqual([
      expect.objectContaining({ type: 'model-loaded', id: 1, backend: 'wasm' }),
      {
        type: 'error',
        id: 2,
        error: { code: 'download-failed', message: 'http://x/unet/model.onnx answered HTTP 404' },
      },
      {
        type: 'error',
        id: 3,
        error: { code: 'no-model', message: 'Load a model before generating.' },
      },
    ]);
  });

  it('refuses an image too large for the GPU before starting it, and reports the limit', async () => {
    const limit = {
      maxPixels: 512 * 512,
      limit: 'maxStorageBufferBindingSize' as const,
      limitBytes: 128 << 20,
      scoreBytes: 2,
    };
    const { engine, events } = harness(async () => ({
      model: fakeModel(),
      backend: 'webgpu',
      imageSizeLimit: limit,
    }));
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    engine.receive({ type: 'generate', id: 2, params: { ...params, width: 768, height: 512 } });
    await engine.idle();
    engine.receive({ type: 'generate', id: 3, params: { ...params, width: 512, height: 512 } });
    await engine.idle();
    expect(events.map((e) => e.event)).toEqual([
      expect.objectContaining({ type: 'model-loaded', id: 1, maxImagePixels: 512 * 512 }),
      {
        type: 'error',
        id: 2,
        error: {
          code: 'gpu-limits',
          message: expect.stringMatching(
            /^A 768×512 image needs .* \(512×512 or fewer pixels fits\)\.$/,
          ),
        },
      },
      { type: 'generation-started', id: 3 },
      expect.objectContaining({ type: 'frame', id: 3, width: 512, height: 512 }),
    ]);
  });
});
