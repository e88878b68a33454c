import 'fake-indexeddb/auto';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { readParametersChunk, type ImageParameters } from '../pipeline/png-parameters';
import { createHistoryStore, THUMBNAIL_SIDE } from './history-store';

let dbCount = 0;
/** A fresh database per test, with a clock the test moves. */
function makeStore(limit?: number) {
  let t = 1_700_000_000_000;
  const store = createHistoryStore({
    dbName: `history-test-${dbCount++}`,
    now: () => (t += 1000),
    ...(limit !== undefined ? { limit } : {}),
  });
  return store;
}

function image(width: number, height: number, value: number) {
  return { width, height, data: new Uint8ClampedArray(width * height * 4).fill(value) };
}

const params = (seed: number, extra: Partial<ImageParameters> = {}): ImageParameters => ({
  prompt: `prompt ${seed}`,
  seed,
  noise: 'torch-cpu',
  steps: 1,
  width: 512,
  height: 512,
  model: 'tiny-fp32',
  ...extra,
});

describe('history store', () => {
  it('stores the PNG with its parameters and a thumbnail, and lists newest first', async () => {
    const store = makeStore();
    await store.add(image(512, 512, 10), params(1), 'webgpu');
    await store.add(image(512, 768, 20), params(2, { height: 768, strength: 0.5 }));
    const items = await store.list();
    expect(items.map((i) => i.entry.seed)).toEqual([2, 1]);
    expect(items[0]!.entry).toMatchObject({ prompt: 'prompt 2', height: 768, strength: 0.5 });
    expect(items[1]!.entry.backend).toBe('webgpu');

    const thumb = decode(items[0]!.thumbnail);
    expect([thumb.width, thumb.height]).toEqual([
      Math.round((THUMBNAIL_SIDE * 512) / 768),
      THUMBNAIL_SIDE,
    ]);
    expect(thumb.data[0]).toBe(20);

    const png = decode((await store.png(items[0]!.entry.id))!);
    expect([png.width, png.height]).toEqual([512, 768]);
    expect(readParametersChunk(png.text)).toEqual(params(2, { height: 768, strength: 0.5 }));
  });

  it('survives a new store object on the same database (a reload)', async () => {
    const name = `history-reload-${dbCount++}`;
    await createHistoryStore({ dbName: name }).add(image(8, 8, 1), params(7));
    const items = await createHistoryStore({ dbName: name }).list();
    expect(items.map((i) => i.entry.prompt)).toEqual(['prompt 7']);
  });

  it('removes one item with its PNG, and clears all', async () => {
    const store = makeStore();
    const a = await store.add(image(8, 8, 1), params(1));
    await store.add(image(8, 8, 2), params(2));
    await store.remove(a.entry.id);
    expect((await store.list()).map((i) => i.entry.seed)).toEqual([2]);
    expect(await store.png(a.entry.id)).toBeUndefined();
    await store.clear();
    expect(await store.list()).toEqual([]);
  });

  it('keeps only the newest `limit` images', async () => {
    const store = makeStore(3);
    const first = await store.add(image(4, 4, 0), params(0));
    for (let seed = 1; seed <= 4; seed++) await store.add(image(4, 4, seed), params(seed));
    expect((await store.list()).map((i) => i.entry.seed)).toEqual([4, 3, 2]);
    expect(await store.png(first.entry.id)).toBeUndefined();
  });

  it('orders two images from the same millisecond by insertion', async () => {
    const store = createHistoryStore({ dbName: `history-same-ms-${dbCount++}`, now: () => 5 });
    await store.add(image(4, 4, 0), params(1));
    await store.add(image(4, 4, 0), params(2));
    expect((await store.list()).map((i) => i.entry.seed)).toEqual([2, 1]);
  });
});
