import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type WorkerEvent, type WorkerRequest } from '../protocol/messages';
import { createAppStore } from '../state/store';
import { connectWorker, type WorkerLike } from './worker-client';

class FakeWorker implements WorkerLike {
  posted: WorkerRequest[] = [];
  private listeners = new Map<string, ((ev: never) => void)[]>();
  postMessage(message: WorkerRequest) {
    this.posted.push(message);
  }
  addEventListener(type: string, listener: (ev: never) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  emit(type: string, ev: object) {
    for (const l of this.listeners.get(type) ?? []) l(ev as never);
  }
  message(data: unknown) {
    this.emit('message', { data });
  }
}

function setup() {
  const worker = new FakeWorker();
  const port = connectWorker(worker, () => store.getState());
  const store = createAppStore({
    port,
    initial: { modelUrl: 'https://m.example/sdxl/', autoLoad: true },
    randomSeed: () => 1,
  });
  return { worker, store };
}

const ready: WorkerEvent = {
  type: 'ready',
  protocolVersion: PROTOCOL_VERSION,
  capabilities: { webgpu: true, shaderF16: true, adapter: 'x', maxBufferSize: null },
};

describe('worker client', () => {
  it('hands events to the store and posts its requests to the worker', () => {
    const { worker, store } = setup();
    worker.message(ready);
    expect(store.getState().status).toBe('loading');
    expect(worker.posted).toEqual([
      { type: 'list-models', id: 0 },
      { type: 'plan-download', id: 1, baseUrl: 'https://m.example/sdxl/' },
    ]);
  });

  it('a ready with another protocol version shows an error', () => {
    const { worker, store } = setup();
    worker.message({ ...ready, protocolVersion: 999 });
    expect(store.getState().error?.code).toBe('protocol-mismatch');
    expect(worker.posted).toEqual([]);
  });

  it('reports unreadable messages and worker errors', () => {
    const { worker, store } = setup();
    worker.message('not an event');
    expect(store.getState().error?.code).toBe('worker-failed');

    const b = setup();
    b.worker.emit('error', { message: 'SyntaxError: Unexpected token' });
    expect(b.store.getState().error).toMatchObject({
      code: 'worker-failed',
      message: 'SyntaxError: Unexpected token',
    });
    expect(b.store.getState().fatal).toBe(true);

    const c = setup();
    c.worker.emit('error', {}); // a module worker that failed to load: bare Event
    expect(c.store.getState().error?.message).toMatch(/failed to start/);
  });
});
