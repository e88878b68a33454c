/**
 * Newest-wins scheduling in the worker engine, with a fake pipeline whose stages take
 * controlled (fake-timer) time: text encoders 20 ms each, 60 ms per UNet step, VAE 40 ms.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeModel, type FakeGraph } from '../pipeline/testing/fake-model.ts';
import type { WorkerEvent } from '../protocol/messages.ts';
import { Engine } from './engine.ts';

const STAGE_MS: Record<FakeGraph, number> = {
  textEncoder: 20,
  textEncoder2: 20,
  unet: 60,
  vaeDecoder: 40,
  vaeEncoder: 30,
  taesdDecoder: 5,
};

function harness() {
  const events: WorkerEvent[] = [];
  const runs: FakeGraph[] = [];
  const model = fakeModel({
    onRun: async (graph) => {
      runs.push(graph);
      await new Promise((resolve) => setTimeout(resolve, STAGE_MS[graph]));
    },
  });
  const engine = new Engine({
    post: (event) => events.push(event),
    now: () => Date.now(),
    log: () => {},
    loadModel: async () => ({ model, backend: 'webgpu' }),
  });
  const ofType = <T extends WorkerEvent['type']>(type: T) =>
    events.filter((e): e is Extract<WorkerEvent, { type: T }> => e.type === type);
  return { engine, events, runs, ofType };
}

const params = (prompt: string, seed = 1) => ({ prompt, seed, steps: 1, width: 64, height: 64 });

/** Each generate request ends in exactly one of these. */
function outcomes(events: WorkerEvent[]): Map<number, string> {
  const map = new Map<number, string>();
  for (const e of events) {
    if (e.type === 'frame' || e.type === 'superseded' || e.type === 'error') {
      const id = e.id ?? -1;
      expect(map.has(id), `request ${id} ended twice`).toBe(false);
      map.set(id, e.type);
    }
  }
  return map;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('live generation scheduling', () => {
  it('typing 20 characters in 1 s runs far fewer than 20 generations; the last always runs', async () => {
    const { engine, events, ofType } = harness();
    engine.receive({ type: 'load-model', id: 0, baseUrl: 'http://x/', backend: 'auto' });
    await vi.advanceTimersByTimeAsync(0);
    const text = 'a cat on a red sofa.'; // 20 characters, one every 50 ms
    for (let i = 1; i <= text.length; i++) {
      engine.receive({ type: 'generate', id: i, params: params(text.slice(0, i)), live: true });
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.runAllTimersAsync();
    await engine.idle();

    const started = ofType('generation-started').map((e) => e.id);
    const frames = ofType('frame');
    console.log(`20 keystrokes -> ${started.length} generations, ${frames.length} frames`);
    expect(started.length).toBeLessThanOrEqual(10); // one generation takes 140 ms: ~8 expected
    expect(started.at(-1)).toBe(20);
    expect(frames.at(-1)?.params.prompt).toBe(text);

    // Frames come out in request order, and every request ended exactly once.
    const frameIds = frames.map((f) => f.id);
    expect(frameIds).toEqual([...frameIds].sort((a, b) => a - b));
    const ended = outcomes(events);
    for (let i = 1; i <= 20; i++) expect(ended.has(i), `request ${i} never ended`).toBe(true);
    expect([...ended.values()].filter((v) => v === 'error')).toEqual([]);
  });

  it('live requests let the running generation finish, so frames keep coming while typing', async () => {
    const { engine, ofType } = harness();
    engine.receive({ type: 'load-model', id: 0, baseUrl: 'http://x/', backend: 'auto' });
    await vi.advanceTimersByTimeAsync(0);
    // A keystroke every 30 ms for 1.2 s: never a pause long enough for a debounce.
    for (let i = 1; i <= 40; i++) {
      engine.receive({ type: 'generate', id: i, params: params(`prompt ${i}`), live: true });
      await vi.advanceTimersByTimeAsync(30);
      if (i === 30) expect(ofType('frame').length).toBeGreaterThanOrEqual(3);
    }
    await vi.runAllTimersAsync();
    await engine.idle();
    expect(ofType('frame').at(-1)?.id).toBe(40);
  });

  it('an explicit request stops the running generation at its next stage boundary', async () => {
    const { engine, ofType, runs } = harness();
    engine.receive({ type: 'load-model', id: 0, baseUrl: 'http://x/', backend: 'auto' });
    await vi.advanceTimersByTimeAsync(0);
    engine.receive({
      type: 'generate',
      id: 1,
      params: { ...params('slow'), steps: 4 },
      live: true,
    });
    await vi.advanceTimersByTimeAsync(30); // inside the text encoders
    engine.receive({ type: 'generate', id: 2, params: params('now'), live: false });
    await vi.runAllTimersAsync();
    await engine.idle();
    expect(ofType('superseded').map((e) => e.id)).toEqual([1]);
    expect(ofType('frame').map((e) => e.id)).toEqual([2]);
    // Request 1 never reached its 4 UNet steps: only request 2's single step ran.
    expect(runs.filter((g) => g === 'unet')).toHaveLength(1);
  });

  it('cancel stops the running generation and drops the waiting one, without an error', async () => {
    const { engine, ofType } = harness();
    engine.receive({ type: 'load-model', id: 0, baseUrl: 'http://x/', backend: 'auto' });
    await vi.advanceTimersByTimeAsync(0);
    engine.receive({ type: 'generate', id: 1, params: params('one'), live: true });
    await vi.advanceTimersByTimeAsync(10);
    engine.receive({ type: 'generate', id: 2, params: params('two'), live: true });
    engine.receive({ type: 'cancel', id: 3 });
    await vi.runAllTimersAsync();
    await engine.idle();
    expect(
      ofType('superseded')
        .map((e) => e.id)
        .sort(),
    ).toEqual([1, 2]);
    expect(ofType('frame')).toEqual([]);
    expect(ofType('error')).toEqual([]);
  });

  it('changing only seed, steps or size reuses the cached prompt embedding', async () => {
    const { engine, runs, ofType } = harness();
    engine.receive({ type: 'load-model', id: 0, baseUrl: 'http://x/', backend: 'auto' });
    await vi.advanceTimersByTimeAsync(0);
    const requests = [
      params('a lighthouse', 1),
      params('a lighthouse', 2),
      { ...params('a lighthouse', 2), steps: 2 },
      { ...params('a lighthouse', 2), width: 128 },
      params('A Lighthouse ', 2), // tokenizes the same
    ];
    let id = 1;
    for (const p of requests) {
      engine.receive({ type: 'generate', id: id++, params: p, live: true });
      await vi.runAllTimersAsync();
      await engine.idle();
    }
    expect(runs.filter((g) => g === 'textEncoder')).toHaveLength(1);
    expect(ofType('frame').map((f) => f.timings.promptCached)).toEqual([
      false,
      true,
      true,
      true,
      true,
    ]);
  });
});
