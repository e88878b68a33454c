import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { WorkerEvent } from '../protocol/messages.ts';
import { ChunkStore } from '../storage/chunk-store.ts';
import { SDXL_TURBO_FP16_CONVERTED, WEBNN_SDXL_TURBO_Q4F16 } from '../storage/hosted-models.ts';
import { manifestBytes } from '../storage/manifest.ts';
import { unlimitedStorageEnv } from '../storage/storage-env.ts';
import { StorageService } from './storage-service.ts';

function service(store: ChunkStore | null) {
  const events: WorkerEvent[] = [];
  const fetched: string[] = [];
  const storage = new StorageService({
    post: (event) => events.push(event),
    store,
    fetch: async (url) => {
      fetched.push(url);
      return new Response('nope', { status: 404 });
    },
    env: unlimitedStorageEnv,
    baseHref: 'https://app.example/',
  });
  return { storage, events, fetched };
}

describe('storage service', () => {
  it('plans a hosted build from its own manifest, without touching the network', async () => {
    const { storage, events, fetched } = service(new ChunkStore({ dbName: 'svc-hosted' }));
    await storage.handle({ type: 'plan-download', id: 7, baseUrl: WEBNN_SDXL_TURBO_Q4F16.baseUrl });
    expect(fetched).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'download-plan',
        id: 7,
        modelId: 'webnn-sdxl-turbo-q4f16',
        totalBytes: manifestBytes(WEBNN_SDXL_TURBO_Q4F16),
        storedBytes: 0,
      }),
    ]);
  });

  it('plans the converted fp16 build with both numbers: ~14 GB to download, ~7 GB kept', async () => {
    const { storage, events } = service(new ChunkStore({ dbName: 'svc-converted' }));
    await storage.handle({
      type: 'plan-download',
      id: 8,
      baseUrl: SDXL_TURBO_FP16_CONVERTED.baseUrl,
    });
    const plan = events[0] as { totalBytes: number; keptBytes?: number };
    expect(plan).toMatchObject({ type: 'download-plan', modelId: 'sdxl-turbo-fp16-converted' });
    expect(plan.totalBytes / 1e9).toBeCloseTo(13.9, 0);
    expect(plan.keptBytes! / 1e9).toBeCloseTo(7.1, 0);
  });

  it('explains a custom URL whose files are missing, and lists an empty store', async () => {
    const { storage, events } = service(new ChunkStore({ dbName: 'svc-missing' }));
    await storage.handle({ type: 'plan-download', id: 1, baseUrl: 'https://models.example/none/' });
    await storage.handle({ type: 'list-models', id: 0 });
    // Not the layout the app needs: the message names the first missing file.
    expect(events[0]).toMatchObject({ type: 'error', id: 1, error: { code: 'bad-model' } });
    expect(JSON.stringify(events[0])).toContain('tokenizer/vocab.json');
    expect(events[1]).toMatchObject({ type: 'stored-models', models: [], usedBytes: 0 });
  });

  it('says plainly when the browser offers no storage', async () => {
    const { storage, events } = service(null);
    await storage.handle({ type: 'list-models', id: 3 });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'error',
        id: 3,
        error: expect.objectContaining({ code: 'storage-unavailable' }),
      }),
    ]);
  });

  it('treats an IndexedDB that refuses to open (a private window) as no storage', async () => {
    // The factory exists but every open fails, as in browsers that disable IndexedDB there.
    const refusing = {
      open: () => {
        throw new DOMException('The operation is insecure.', 'SecurityError');
      },
    } as unknown as IDBFactory;
    const { storage, events } = service(
      new ChunkStore({ dbName: 'svc-refused', indexedDB: refusing }),
    );
    await storage.handle({ type: 'plan-download', id: 4, baseUrl: 'https://models.example/m/' });
    await storage.handle({ type: 'list-models', id: 0 });
    for (const event of events) {
      expect(event).toMatchObject({ type: 'error', error: { code: 'storage-unavailable' } });
    }
    expect(events).toHaveLength(2);
    expect(JSON.stringify(events[0])).toContain('The operation is insecure.');
  });
});
