import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  StoredChunkUnreadableError,
  WeightDownloadError,
  WeightFileError,
} from '../storage/errors.ts';
import { DownloadError } from './fetch-source.ts';
import { toWorkerError } from './errors.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('toWorkerError offline', () => {
  const unreachable = new WeightDownloadError(
    'tokenizer/vocab.json: could not reach https://m.example/tokenizer/vocab.json (Failed to fetch)',
    true,
  );

  it("names a failed fetch 'offline' when the browser says it is offline", () => {
    vi.stubGlobal('navigator', { onLine: false });
    expect(toWorkerError(unreachable).code).toBe('offline');
    expect(toWorkerError(new DownloadError('Could not reach x: Failed to fetch')).code).toBe(
      'offline',
    );
    expect(toWorkerError(unreachable).message).toContain('could not reach');
  });

  it("keeps 'download-failed' online (a CORS or DNS failure is not being offline)", () => {
    vi.stubGlobal('navigator', { onLine: true });
    expect(toWorkerError(unreachable).code).toBe('download-failed');
  });

  it('keeps other errors as they are when offline', () => {
    vi.stubGlobal('navigator', { onLine: false });
    expect(toWorkerError(new WeightFileError('unet/model.onnx: an HTML page')).code).toBe(
      'bad-model',
    );
  });
});

describe('toWorkerError storage', () => {
  it("names a stored chunk or file the browser cannot read back 'storage-unreadable'", () => {
    expect(
      toWorkerError(new StoredChunkUnreadableError('unet/model.onnx_data: chunk 31')).code,
    ).toBe('storage-unreadable');
    expect(toWorkerError(new DOMException('x: could not be read', 'NotReadableError')).code).toBe(
      'storage-unreadable',
    );
    expect(toWorkerError(new DOMException('other', 'AbortError')).code).toBe('internal');
  });
});
