import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type WorkerEvent, type WorkerRequest } from '../protocol/messages';
import { createAppStore } from '../state/store';
import {
  MAX_RESTARTS,
  PING_INTERVAL_MS,
  SILENCE_LIMIT_MS,
  superviseEngine,
  type Clock,
  type WorkerLike,
} from './worker-client';

class FakeWorker implements WorkerLike {
  posted: WorkerRequest[] = [];
  terminated = false;
  private listeners = new Map<string, ((ev: never) => void)[]>();
  postMessage(message: WorkerRequest) {
    this.posted.push(message);
  }
  addEventListener(type: string, listener: (ev: never) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  terminate() {
    this.terminated = true;
  }
  emit(type: string, ev: object) {
    for (const l of this.listeners.get(type) ?? []) l(ev as never);
  }
  message(data: unknown) {
    this.emit('message', { data });
  }
  /** Answers every ping posted so far, as a live worker does. */
  answerPings() {
    for (const req of this.posted.splice(0)) {
      if (req.type === 'ping') this.message({ type: 'pong', id: req.id });
    }
  }
}

/** A clock the test moves by hand; the heartbeat runs on its ticks. */
class ManualClock implements Clock {
  time = 0;
  private callback: (() => void) | null = null;
  now = () => this.time;
  setInterval = (callback: () => void) => {
    this.callback = callback;
    return 1;
  };
  clearInterval = () => {
    this.callback = null;
  };
  /** Advances time one heartbeat at a time, running the heartbeat after each. */
  advance(ms: number, each: () => void = () => {}) {
    for (let t = 0; t < ms; t += PING_INTERVAL_MS) {
      this.time += PING_INTERVAL_MS;
      this.callback?.();
      each();
    }
  }
}

function setup() {
  const workers: FakeWorker[] = [];
  const clock = new ManualClock();
  const port = superviseEngine(
    () => {
      const worker = new FakeWorker();
      workers.push(worker);
      return worker;
    },
    () => store.getState(),
    clock,
  );
  const store = createAppStore({
    port,
    initial: { modelUrl: 'https://m.example/sdxl/', autoLoad: true },
    randomSeed: () => 1,
  });
  const current = () => workers[workers.length - 1]!;
  return { workers, current, store, clock };
}

const ready: WorkerEvent = {
  type: 'ready',
  protocolVersion: PROTOCOL_VERSION,
  capabilities: { webgpu: true, shaderF16: true, adapter: 'x', maxBufferSize: null },
};
const base = 'https://m.example/sdxl/';

/** Ready, then a model loaded from a stored plan: the state a restart has to restore. */
function withLoadedModel() {
  const t = setup();
  t.current().message(ready);
  t.current().message({
    type: 'download-plan',
    id: 1,
    baseUrl: base,
    modelId: 'm',
    files: [],
    totalBytes: 10,
    storedBytes: 10,
    freeBytes: null,
  });
  t.current().message({
    type: 'model-loaded',
    id: 1,
    backend: 'webgpu',
    dtype: 'float32',
    loadMs: 5,
  });
  expect(t.store.getState().model?.baseUrl).toBe(base);
  t.current().posted.length = 0;
  return t;
}

describe('worker client', () => {
  it('hands events to the store and posts its requests to the worker', () => {
    const { current, store } = setup();
    current().message(ready);
    expect(store.getState().status).toBe('loading');
    expect(current().posted).toEqual([
      { type: 'list-models', id: 0 },
      { type: 'plan-download', id: 1, baseUrl: 'https://m.example/sdxl/' },
    ]);
  });

  it('a ready with another protocol version shows an error', () => {
    const { current, store } = setup();
    current().message({ ...ready, protocolVersion: 999 });
    expect(store.getState().error?.code).toBe('protocol-mismatch');
    expect(current().posted).toEqual([]);
  });

  it('reports unreadable messages, and a worker that fails to start as fatal', () => {
    const a = setup();
    a.current().message('not an event');
    expect(a.store.getState().error?.code).toBe('worker-failed');

    const b = setup();
    b.current().emit('error', { message: 'SyntaxError: Unexpected token' });
    expect(b.store.getState().error).toMatchObject({
      code: 'worker-failed',
      message: 'SyntaxError: Unexpected token',
    });
    expect(b.store.getState().fatal).toBe(true);
    expect(b.workers).toHaveLength(1); // the same script would fail again: no restart

    const c = setup();
    c.current().emit('error', {}); // a module worker that failed to load: bare Event
    expect(c.store.getState().error?.message).toMatch(/failed to start/);
  });

  it('pings a live worker and leaves it alone while it answers', () => {
    const t = withLoadedModel();
    t.clock.advance(60_000, () => t.current().answerPings());
    expect(t.workers).toHaveLength(1);
    expect(t.store.getState().restartNotice).toBeNull();
  });

  it('restarts a worker that stops answering, then reloads the model it had', () => {
    const t = withLoadedModel();
    const first = t.current();
    t.clock.advance(SILENCE_LIMIT_MS.idle + 2 * PING_INTERVAL_MS); // no pongs: hung or gone
    expect(first.terminated).toBe(true);
    expect(t.workers).toHaveLength(2);
    const s = t.store.getState();
    expect(s.restartNotice).toMatchObject({ reason: 'hung', reloading: true });
    expect(s.model).toBeNull();
    expect(s.workerReady).toBe(false);

    // The fresh worker comes up: the same model loads again (from storage, being stored).
    t.current().message(ready);
    const load = t.current().posted.find((r) => r.type === 'load-model');
    expect(load).toMatchObject({ type: 'load-model', baseUrl: base, backend: 'auto' });
    t.current().message({
      type: 'model-loaded',
      id: load!.id,
      backend: 'webgpu',
      dtype: 'float32',
      loadMs: 5,
    });
    expect(t.store.getState().model?.baseUrl).toBe(base);
    expect(t.store.getState().restartNotice?.reloading).toBe(false);
    expect(t.store.getState().generate()).toBe(true);
  });

  it('gives a busy worker longer before calling it hung', () => {
    const t = withLoadedModel();
    expect(t.store.getState().generate()).toBe(true);
    expect(t.store.getState().engineActivity()).toBe('busy');
    t.clock.advance(SILENCE_LIMIT_MS.idle * 2);
    expect(t.workers).toHaveLength(1);
    t.clock.advance(SILENCE_LIMIT_MS.busy);
    expect(t.workers).toHaveLength(2);
  });

  it('restarts after an uncaught error and after a lost GPU device', () => {
    const t = withLoadedModel();
    t.current().emit('error', { message: 'TypeError: x is undefined' });
    expect(t.workers).toHaveLength(2);
    expect(t.store.getState().restartNotice).toMatchObject({
      reason: 'crashed',
      message: expect.stringContaining('TypeError: x is undefined'),
    });

    const u = withLoadedModel();
    u.current().message({
      type: 'error',
      id: null,
      error: { code: 'device-lost', message: 'The GPU device was lost (reason unknown).' },
    });
    expect(u.workers).toHaveLength(2);
    expect(u.store.getState().restartNotice).toMatchObject({
      reason: 'device-lost',
      reloading: true,
    });
    // A second failure before the fresh worker is ready still reloads the model after it.
    u.current().emit('error', { message: 'early crash' });
    expect(u.workers).toHaveLength(3);
    u.current().message(ready);
    expect(u.current().posted.find((r) => r.type === 'load-model')).toMatchObject({
      baseUrl: base,
    });
    expect(u.store.getState().error).toBeNull();
  });

  it('ignores what a replaced worker still says', () => {
    const t = withLoadedModel();
    const old = t.current();
    old.emit('error', { message: 'boom' });
    old.message({ type: 'frame', id: 99 });
    old.emit('error', { message: 'boom again' });
    expect(t.workers).toHaveLength(2);
    expect(t.store.getState().frame).toBeNull();
  });

  it('stops restarting when restarts do not help', () => {
    const t = withLoadedModel();
    for (let i = 0; i < MAX_RESTARTS + 1; i++) {
      t.current().message(ready);
      t.current().emit('error', { message: `crash ${i}` });
    }
    expect(t.workers).toHaveLength(MAX_RESTARTS + 1);
    expect(t.store.getState().fatal).toBe(true);
    expect(t.store.getState().error?.message).toMatch(/failed 4 times.*Reload the page/);
  });
});

describe('a stalled load', () => {
  it('shows the stage, then the stall error, and gets a fresh worker to retry in', () => {
    const t = setup();
    t.current().message(ready);
    t.current().message({
      type: 'download-plan',
      id: 1,
      baseUrl: base,
      modelId: 'm',
      files: [],
      totalBytes: 10,
      storedBytes: 10,
      freeBytes: null,
    });
    const loadId = t.store.getState().load!.id;
    t.current().message({
      type: 'load-stage',
      id: loadId,
      graph: 'unet',
      stage: 'creating-session',
      loadedBytes: 5,
      totalBytes: 10,
    });
    expect(t.store.getState().load?.stage).toEqual({
      graph: 'unet',
      stage: 'creating-session',
      loadedBytes: 5,
      totalBytes: 10,
    });
    const stalled = t.current();
    const message =
      'Loading stalled: unet, creating its session (uploading weights), made no progress for 61 s.';
    stalled.message({ type: 'error', id: loadId, error: { code: 'load-stalled', message } });
    expect(t.store.getState().error).toMatchObject({ code: 'load-stalled', message });
    expect(t.store.getState().load).toBeNull();
    expect(stalled.terminated).toBe(true);
    expect(t.workers).toHaveLength(2);
    // Retry: the load goes to the fresh worker.
    t.current().message(ready);
    t.store.getState().loadModel();
    expect(
      t.current().posted.some((r) => r.type === 'load-model' || r.type === 'plan-download'),
    ).toBe(true);
  });
});
