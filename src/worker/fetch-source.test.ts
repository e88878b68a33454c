import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchSource } from './fetch-source.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('fetchSource (models loaded without storing)', () => {
  it('never sends credentials to the model host', async () => {
    // A custom model URL can point at any host: the visitor's cookies must not go with it.
    const seen: Array<RequestCredentials | undefined> = [];
    vi.stubGlobal('fetch', async (_url: string, init?: RequestInit) => {
      seen.push(init?.credentials);
      return new Response(new Uint8Array([1, 2, 3]), {
        headers: { 'Content-Length': '3', 'Content-Type': 'application/octet-stream' },
      });
    });
    const source = fetchSource(new URL('https://models.example/sdxl/'));
    await source.readText('tokenizer/vocab.json');
    await source.readBytes('unet/model.onnx');
    expect(seen).toEqual(['omit', 'omit']);
  });
});
