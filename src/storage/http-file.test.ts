import { describe, expect, it } from 'vitest';
import { isRetryableStatus, parseContentRange, recognizeNonModelBytes } from './http-file.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('http-file', () => {
  it('parses Content-Range', () => {
    expect(parseContentRange('bytes 0-0/5130000000')).toEqual({
      start: 0,
      end: 0,
      total: 5130000000,
    });
    expect(parseContentRange('bytes 16777216-33554431/*')).toEqual({
      start: 16777216,
      end: 33554431,
      total: null,
    });
    expect(parseContentRange('bytes */100')).toBeNull();
    expect(parseContentRange(null)).toBeNull();
  });

  it('tells error pages and LFS pointers from data', () => {
    expect(recognizeNonModelBytes(bytes('\n  <!DOCTYPE html><html>'))).toBe('html');
    expect(recognizeNonModelBytes(bytes('<HTML><body>'))).toBe('html');
    expect(
      recognizeNonModelBytes(bytes('version https://git-lfs.github.com/spec/v1\noid sha256:')),
    ).toBe('lfs-pointer');
    expect(recognizeNonModelBytes(Uint8Array.from([0x08, 0x08, 0x12, 0x05]))).toBeUndefined();
    expect(recognizeNonModelBytes(bytes('{"<|startoftext|>": 49406}'))).toBeUndefined();
  });

  it('retries only statuses another attempt can fix', () => {
    expect([408, 425, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 410, 416].some(isRetryableStatus)).toBe(false);
  });
});
