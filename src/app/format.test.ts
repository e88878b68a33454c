import { describe, expect, it } from 'vitest';
import { formatBytes, formatMs, modelLoadedText } from './format';

describe('format', () => {
  it('says where and how the model loaded', () => {
    expect(modelLoadedText('webgpu', 'float32', 1234)).toBe(
      'Model loaded on WebGPU (fp32) in 1.2 s',
    );
    expect(modelLoadedText('wasm', 'float16', 30_000)).toBe(
      'Model loaded on WebAssembly (slow fallback) (fp16) in 30.0 s',
    );
  });

  it('formats bytes and milliseconds', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KB');
    expect(formatBytes(1.83 * 1024 ** 3)).toBe('1.83 GB');
    expect(formatBytes(123 * 1024 ** 2)).toBe('123.0 MB');
    expect(formatMs(2.345)).toBe('2.3 ms');
    expect(formatMs(1834.4)).toBe('1,834 ms');
  });
});
