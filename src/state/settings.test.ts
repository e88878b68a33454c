import { describe, expect, it } from 'vitest';
import {
  MAX_PROMPT_LENGTH,
  cleanPrompt,
  MODEL_URL_STORAGE_KEY,
  parseUrlParams,
  readInitialSettings,
  resolveModelBaseUrl,
  withModelParams,
  type KeyValueStorage,
} from './settings';

function storage(entries: Record<string, string> = {}): KeyValueStorage {
  const map = new Map(Object.entries(entries));
  return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) };
}

describe('?model= and ?backend=', () => {
  it('reads an encoded model URL', () => {
    const search = `?model=${encodeURIComponent('https://hf.co/a/b/resolve/main/?x=1&y=2')}&backend=wasm`;
    expect(parseUrlParams(search)).toEqual({
      modelUrl: 'https://hf.co/a/b/resolve/main/?x=1&y=2',
      backend: 'wasm',
    });
  });

  it('works with or without "?", ignores blanks and unknown backends', () => {
    expect(parseUrlParams('model=./m/')).toEqual({ modelUrl: './m/', backend: null });
    expect(parseUrlParams('?model=%20%20&backend=cuda')).toEqual({ modelUrl: null, backend: null });
    expect(parseUrlParams('')).toEqual({ modelUrl: null, backend: null });
    expect(parseUrlParams('?backend=WebGPU').backend).toBe('webgpu');
  });

  it('prefers ?model= (auto-load) over the remembered URL', () => {
    const saved = storage({ [MODEL_URL_STORAGE_KEY]: 'https://saved.example/' });
    expect(readInitialSettings('?model=https://url.example/', saved)).toEqual({
      modelUrl: 'https://url.example/',
      backendChoice: 'auto',
      autoLoad: true,
    });
    expect(readInitialSettings('?backend=webgpu', saved)).toEqual({
      modelUrl: 'https://saved.example/',
      backendChoice: 'webgpu',
      autoLoad: false,
    });
    expect(readInitialSettings('', null)).toEqual({
      modelUrl: '',
      backendChoice: 'auto',
      autoLoad: false,
    });
  });

  it('survives a storage that throws', () => {
    const throwing: KeyValueStorage = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {},
    };
    expect(readInitialSettings('', throwing).modelUrl).toBe('');
  });

  it('writes the loaded model into the address, keeping other parameters', () => {
    const href = 'https://app.example/sub/?foo=1&backend=wasm#top';
    const next = new URL(withModelParams(href, 'https://m.example/a b/', 'auto'));
    expect(next.searchParams.get('model')).toBe('https://m.example/a b/');
    expect(next.searchParams.get('foo')).toBe('1');
    expect(next.searchParams.has('backend')).toBe(false);
    expect(next.hash).toBe('#top');
    expect(new URL(withModelParams(href, 'x', 'webgpu')).searchParams.get('backend')).toBe(
      'webgpu',
    );
    // Round trip.
    expect(parseUrlParams(next.search).modelUrl).toBe('https://m.example/a b/');
  });
});

describe('resolveModelBaseUrl', () => {
  const page = 'https://app.example/sub/index.html';
  it('makes URLs absolute and folder-like', () => {
    expect(resolveModelBaseUrl('https://m.example/x', page)).toBe('https://m.example/x/');
    expect(resolveModelBaseUrl('https://m.example/x/', page)).toBe('https://m.example/x/');
    expect(resolveModelBaseUrl('models/tiny', page)).toBe('https://app.example/sub/models/tiny/');
    expect(resolveModelBaseUrl('/m', page)).toBe('https://app.example/m/');
    expect(resolveModelBaseUrl('https://m.example/x?sig=1', page)).toBe(
      'https://m.example/x/?sig=1',
    );
  });

  it('refuses non-http(s) schemes', () => {
    expect(resolveModelBaseUrl('javascript:alert(1)', page)).toBeNull();
    expect(resolveModelBaseUrl('file:///etc/', page)).toBeNull();
    expect(resolveModelBaseUrl('http://[bad', page)).toBeNull();
  });
});

describe('cleanPrompt', () => {
  it('removes control characters and NUL, keeps tabs and line breaks for CLIP to collapse', () => {
    expect(cleanPrompt('a\u0000 cat\u0007 on\u001b[31m a\u007f mat\u0085')).toBe(
      'a cat on[31m a mat',
    );
    expect(cleanPrompt('line one\nline two\tand\r\nthree')).toBe(
      'line one\nline two\tand\r\nthree',
    );
  });

  it('keeps emoji, right-to-left text, direction marks and markup as typed', () => {
    const text = '🐱‍👤👩🏽‍🚀 قطة على السجادة \u202Eevil\u202C שלום <img src=x onerror=alert(1)> &amp;';
    expect(cleanPrompt(text)).toBe(text);
  });

  it('turns lone surrogates (a cut emoji) into U+FFFD and keeps whole pairs', () => {
    expect(cleanPrompt('cat \uD83D')).toBe('cat \uFFFD');
    expect(cleanPrompt('\uDC31 cat')).toBe('\uFFFD cat');
    expect(cleanPrompt('\uD83D\uDC31')).toBe('🐱');
  });

  it('cuts at MAX_PROMPT_LENGTH characters; an empty prompt stays empty', () => {
    expect(cleanPrompt('x'.repeat(MAX_PROMPT_LENGTH + 5))).toHaveLength(MAX_PROMPT_LENGTH);
    expect(cleanPrompt('y'.repeat(10_000))).toHaveLength(10_000);
    expect(cleanPrompt('')).toBe('');
    expect(cleanPrompt('\u0000\u0001')).toBe('');
  });
});
