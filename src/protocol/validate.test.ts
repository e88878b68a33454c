import { describe, expect, it } from 'vitest';
import { parseWorkerRequest } from './validate';

const params = { prompt: 'a cat', seed: 1, steps: 2, width: 8, height: 8 };
const image = (overrides: Record<string, unknown> = {}) => ({
  width: 8,
  height: 8,
  pixels: new ArrayBuffer(8 * 8 * 4),
  version: 3,
  ...overrides,
});

describe('generate requests with an input image', () => {
  it('accepts an image whose pixels are width × height × 4 bytes, with a strength', () => {
    const req = parseWorkerRequest({
      type: 'generate',
      id: 1,
      params: { ...params, strength: 0.5 },
      live: true,
      image: image(),
    });
    expect(req).toMatchObject({
      type: 'generate',
      params: { strength: 0.5 },
      image: { width: 8, height: 8, version: 3 },
    });
  });

  it('keeps text-to-image requests as they were', () => {
    expect(parseWorkerRequest({ type: 'generate', id: 1, params, live: false })).toEqual({
      type: 'generate',
      id: 1,
      params,
      live: false,
    });
  });

  it('rejects a wrong byte count, bad sizes or versions, and strength without image', () => {
    const withImage = (img: unknown, strength: unknown = 0.5) =>
      parseWorkerRequest({ type: 'generate', id: 1, params: { ...params, strength }, image: img });
    expect(withImage(image({ pixels: new ArrayBuffer(8 * 8 * 4 - 1) }))).toBeNull();
    expect(withImage(image({ pixels: new Uint8Array(8 * 8 * 4) }))).toBeNull(); // not a buffer
    expect(withImage(image({ width: 0, pixels: new ArrayBuffer(0) }))).toBeNull();
    expect(withImage(image({ width: 8.5 }))).toBeNull();
    expect(withImage(image({ version: 'v1' }))).toBeNull();
    expect(withImage(null)).toBeNull();
    expect(withImage(image(), 'strong')).toBeNull();
    expect(parseWorkerRequest({ type: 'generate', id: 1, params, image: image() })).toBeNull(); // image without strength
    expect(
      parseWorkerRequest({ type: 'generate', id: 1, params: { ...params, strength: 0.5 } }),
    ).toBeNull(); // strength without image
  });
});

describe('text-to-image requests of the wrong shape', () => {
  it('are refused (null) field by field, never trusted', () => {
    const generate = (p: unknown, extra: Record<string, unknown> = {}) =>
      parseWorkerRequest({ type: 'generate', id: 1, params: p, live: false, ...extra });
    for (const bad of [
      null,
      'a cat',
      { ...params, prompt: 42 },
      { ...params, prompt: null },
      { ...params, seed: 'seven' },
      { ...params, seed: Number.NaN },
      { ...params, steps: Infinity },
      { ...params, width: '512' },
      { ...params, height: undefined },
      { ...params, strength: Number.NaN },
      { ...params, noise: 'philox' },
      { ...params, noise: 1 },
    ]) {
      expect(generate(bad), JSON.stringify(bad)).toBeNull();
    }
    expect(generate(params, { live: 'yes' })).toBeNull();
    expect(generate(params, { id: 1.5 })).toBeNull();
    expect(generate(params, { id: Number.MAX_SAFE_INTEGER + 2 })).toBeNull();
  });

  it('carry the noise generator when it is one the pipeline knows', () => {
    const generate = (p: unknown) =>
      parseWorkerRequest({ type: 'generate', id: 1, params: p, live: false });
    for (const noise of ['torch-cpu', 'mulberry32']) {
      const req = generate({ ...params, noise });
      expect(req?.type === 'generate' && req.params.noise).toBe(noise);
    }
    const without = generate(params);
    expect(without?.type === 'generate' && 'noise' in without.params).toBe(false);
  });

  it('pass well-typed values through for the engine to range-check (it answers with an error)', () => {
    // Out of range but well typed: the engine must answer this request with a bad-request
    // error (src/worker/engine.test.ts), which it can only do if the request gets through.
    const odd = { prompt: '\u0000'.repeat(3), seed: -1, steps: 9, width: 516, height: 4096 };
    expect(parseWorkerRequest({ type: 'generate', id: 2, params: odd, live: false })).toEqual({
      type: 'generate',
      id: 2,
      params: odd,
      live: false,
    });
  });
});

describe('download requests', () => {
  it('carry the "keep as fp16" choice when it is a boolean, and refuse anything else', () => {
    const base = { id: 3, baseUrl: 'https://models.example/m/' };
    for (const type of ['plan-download', 'download-model'] as const) {
      expect(parseWorkerRequest({ type, ...base })).toEqual({ type, ...base });
      expect(parseWorkerRequest({ type, ...base, storeAsFp16: true })).toEqual({
        type,
        ...base,
        storeAsFp16: true,
      });
      expect(parseWorkerRequest({ type, ...base, storeAsFp16: false })).toEqual({ type, ...base });
      expect(parseWorkerRequest({ type, ...base, storeAsFp16: 'yes' })).toBeNull();
    }
  });
});
