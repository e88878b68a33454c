import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type WorkerEvent, type WorkerRequest } from '../protocol/messages';
import { createHistoryStore } from '../storage/history-store';
import { createHistoryState } from './history';
import { createAppStore } from './store';

let db = 0;

/** An app store with a model loaded, and the gallery state beside it on a fresh database. */
function setup() {
  const posted: WorkerRequest[] = [];
  let seeds = 100;
  const app = createAppStore({
    port: { post: (r) => posted.push(r) },
    initial: { modelUrl: 'https://models.example/tiny-fp32/' },
    pageHref: () => 'https://app.example/',
    randomSeed: () => seeds++,
  });
  const send = (ev: WorkerEvent) => app.getState().handleWorkerEvent(ev);
  send({
    type: 'ready',
    protocolVersion: PROTOCOL_VERSION,
    capabilities: { webgpu: true, shaderF16: false, adapter: 't', maxBufferSize: 1 },
  });
  app.getState().loadModel();
  const plan = posted.at(-1)!;
  if (plan.type !== 'plan-download') throw new Error('expected plan-download');
  send({
    type: 'download-plan',
    id: plan.id,
    baseUrl: plan.baseUrl,
    modelId: 'm',
    files: [],
    totalBytes: 1,
    storedBytes: 1,
    freeBytes: null,
  });
  const load = posted.at(-1)!;
  send({ type: 'model-loaded', id: load.id, backend: 'webgpu', dtype: 'float32', loadMs: 1 });
  const storage = createHistoryStore({ dbName: `history-state-${db++}` });
  const history = createHistoryState(app, storage);
  /** Generates: posts generate and answers with a frame of the request's parameters. */
  const frame = () => {
    const req = posted.at(-1)!;
    if (req.type !== 'generate') throw new Error('expected generate');
    const { width, height } = req.params;
    send({
      type: 'frame',
      id: req.id,
      width,
      height,
      pixels: new Uint8ClampedArray(width * height * 4).fill(req.params.seed % 256).buffer,
      backend: 'webgpu',
      params: req.params,
      timings: {
        tokenize: 1,
        textEncoders: 1,
        promptCached: false,
        unetSteps: [1],
        vaeDecode: 1,
        toPixels: 1,
        total: 5,
      },
    });
  };
  /** Lets the IndexedDB writes started by a frame finish. */
  const settle = async () => {
    for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 2));
  };
  return { app, history, storage, posted, frame, settle, s: () => app.getState() };
}

describe('history state', () => {
  it('keeps every frame outside live mode, with prompt, seed, steps, size and model', async () => {
    const t = setup();
    t.s().setLive(false);
    t.s().setPrompt('a cat');
    t.s().setSeed(42);
    t.s().setSteps(2);
    t.s().setSize('512x768');
    t.s().generate();
    t.frame();
    await t.settle();
    const items = await t.storage.list();
    expect(items).toHaveLength(1);
    expect(items[0]!.entry).toMatchObject({
      prompt: 'a cat',
      seed: 42,
      steps: 2,
      width: 512,
      height: 768,
      model: 'tiny-fp32',
      modelUrl: 'https://models.example/tiny-fp32/',
      backend: 'webgpu',
    });
    expect(t.history.getState().items.map((i) => i.entry.id)).toEqual([items[0]!.entry.id]);
  });

  it('keeps nothing by itself in live mode; Keep stores the newest frame once', async () => {
    const t = setup();
    t.s().setPrompt('a dog'); // live is on by default: this asks for an image
    t.frame();
    await t.settle();
    expect(await t.storage.list()).toEqual([]);
    await t.history.getState().keepFrame();
    await t.history.getState().keepFrame(); // the same frame again: no duplicate
    expect((await t.storage.list()).map((i) => i.entry.prompt)).toEqual(['a dog']);
    expect(t.history.getState().keptFrameId).toBe(t.s().frame!.id);
  });

  it('restore puts the settings back in one edit and shows the item until the next frame', async () => {
    const t = setup();
    t.s().setLive(false);
    t.s().setPrompt('first');
    t.s().setSeed(1);
    t.s().setSteps(3);
    t.s().setSize('768x512');
    t.s().generate();
    t.frame();
    await t.settle();
    t.s().setPrompt('second');
    t.s().setSeed(2);
    t.s().setSteps(1);
    t.s().setSize('512x512');
    const first = t.history.getState().items[0]!.entry;

    t.history.getState().restore(first.id);
    expect(t.s()).toMatchObject({ prompt: 'first', seed: 1, steps: 3, size: '768x512' });
    expect(t.history.getState().shownId).toBe(first.id);

    t.s().generate();
    t.frame();
    expect(t.history.getState().shownId).toBeNull();
  });

  it('restore in live mode asks for exactly one image', () => {
    const t = setup();
    const before = t.posted.filter((r) => r.type === 'generate').length;
    t.s().restoreSettings({ prompt: 'x', seed: 5, steps: 4, width: 512, height: 768 });
    expect(t.posted.filter((r) => r.type === 'generate')).toHaveLength(before + 1);
    expect(t.posted.at(-1)).toMatchObject({
      params: { prompt: 'x', seed: 5, noise: 'mulberry32', steps: 4, width: 512, height: 768 },
    });
  });

  it('an unlocked seed changes on every Generate; a locked one stays', () => {
    const t = setup();
    t.s().setLive(false);
    t.s().setPrompt('p');
    t.s().setSeed(7);
    t.s().generate();
    expect(t.posted.at(-1)).toMatchObject({ params: { seed: 7 } });
    t.s().setSeedLocked(false);
    t.s().generate();
    t.s().generate();
    const seeds = t.posted.filter((r) => r.type === 'generate').map((r) => r.params.seed);
    expect(seeds.slice(-3)).toEqual([7, 101, 102]); // 100 was the initial seed
  });

  it('delete and clear remove items from the list and the database', async () => {
    const t = setup();
    t.s().setLive(false);
    t.s().setPrompt('p');
    for (let i = 0; i < 3; i++) {
      t.s().setSeed(i);
      t.s().generate();
      t.frame();
      await t.settle();
    }
    const [newest] = t.history.getState().items;
    await t.history.getState().remove(newest!.entry.id);
    expect(t.history.getState().items.map((i) => i.entry.seed)).toEqual([1, 0]);
    await t.history.getState().clear();
    expect(t.history.getState().items).toEqual([]);
    expect(await t.storage.list()).toEqual([]);
  });
});
