/** Image-to-image through the worker engine, on the fake model (graph runs are counted). */
import { describe, expect, it } from 'vitest';
import { fakeModel, type FakeGraph } from '../pipeline/testing/fake-model.ts';
import type { InputImage, WorkerEvent } from '../protocol/messages.ts';
import { Engine } from './engine.ts';

function harness(withoutVaeEncoder = false) {
  const events: WorkerEvent[] = [];
  const runs: FakeGraph[] = [];
  const model = fakeModel({ onRun: (graph) => void runs.push(graph), withoutVaeEncoder });
  const engine = new Engine({
    post: (event) => events.push(event),
    now: () => 0,
    log: () => {},
    loadModel: async () => ({ model, backend: 'webgpu' }),
  });
  return { engine, events, runs };
}

const image = (version: number): InputImage => ({
  width: 64,
  height: 64,
  pixels: new Uint8Array(64 * 64 * 4).fill(128).buffer,
  version,
});
const params = (prompt: string) => ({
  prompt,
  seed: 1,
  steps: 2,
  width: 64,
  height: 64,
  strength: 0.5,
});

describe('engine: image-to-image', () => {
  it('reports whether the model can do it, and encodes each image version once', async () => {
    const { engine, events, runs } = harness();
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    engine.receive({ type: 'generate', id: 2, params: params('a'), image: image(1) });
    await engine.idle();
    expect(events.find((e) => e.type === 'model-loaded')).toMatchObject({ imageToImage: true });
    engine.receive({ type: 'generate', id: 3, params: params('ab'), image: image(1) });
    await engine.idle();
    engine.receive({ type: 'generate', id: 4, params: params('ab'), image: image(2) });
    await engine.idle();
    expect(runs.filter((g) => g === 'vaeEncoder')).toHaveLength(2); // versions 1 and 2
    expect(runs.filter((g) => g === 'unet')).toHaveLength(3); // 2 steps × 0.5: one pass each
    const frames = events.filter(
      (e): e is Extract<WorkerEvent, { type: 'frame' }> => e.type === 'frame',
    );
    expect(frames.map((f) => f.timings.imageCached)).toEqual([false, true, false]);
    expect(frames[0]?.params.strength).toBe(0.5);
  });

  it('a model without a VAE encoder answers image-to-image with a plain bad-model error', async () => {
    const { engine, events } = harness(true);
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    engine.receive({ type: 'generate', id: 2, params: params('a'), image: image(1) });
    await engine.idle();
    expect(events.find((e) => e.type === 'model-loaded')).toMatchObject({
      imageToImage: false,
      imageToImageMissing: expect.stringContaining('vae_encoder'),
    });
    expect(events.at(-1)).toMatchObject({
      type: 'error',
      id: 2,
      error: { code: 'bad-model', message: expect.stringMatching(/no VAE encoder/) },
    });
  });

  it('steps × strength < 1 is a bad request, not a crash', async () => {
    const { engine, events } = harness();
    engine.receive({ type: 'load-model', id: 1, baseUrl: 'http://x/', backend: 'auto' });
    engine.receive({
      type: 'generate',
      id: 2,
      params: { ...params('a'), steps: 1 },
      image: image(1),
    });
    await engine.idle();
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'bad-request' } });
  });
});
