import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from './safetensors.ts';

/** A file by hand: header JSON, then raw little-endian bytes. */
function file(header: object, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips float32 tensors and skips __metadata__', () => {
    const tensors = new Map([
      ['b', { shape: [2], data: Float32Array.of(-1.5, 2) }],
      ['a.weight', { shape: [1, 3], data: Float32Array.of(0.25, 3e-8, 1e6) }],
    ]);
    const back = readSafetensors(writeSafetensors(tensors));
    expect([...back.keys()].sort()).toEqual(['a.weight', 'b']);
    expect(back.get('a.weight')).toEqual(tensors.get('a.weight'));
    expect(back.get('b')).toEqual(tensors.get('b'));
  });

  it('widens F16 and BF16 to float32', () => {
    // 1.0 = 0x3c00 (F16), -2.0 = 0xc000 (F16); BF16 1.5 = 0x3fc0, -0.5 = 0xbf00.
    const bytes = file(
      {
        __metadata__: { format: 'pt' },
        h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
      },
      [0x00, 0x3c, 0x00, 0xc0, 0xc0, 0x3f, 0x00, 0xbf],
    );
    const t = readSafetensors(bytes);
    expect(Array.from(t.get('h')!.data)).toEqual([1, -2]);
    expect(Array.from(t.get('b')!.data)).toEqual([1.5, -0.5]);
  });

  it('refuses what is not a float safetensors file', () => {
    expect(() => readSafetensors(new TextEncoder().encode('<html>not found</html>'), 'x')).toThrow(
      /x has/,
    );
    const int = file(
      { i: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } },
      new Array(8).fill(0),
    );
    expect(() => readSafetensors(int)).toThrow(/I64/);
    const short = file({ f: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, [0, 0, 0, 0]);
    expect(() => readSafetensors(short)).toThrow(/offsets/);
  });
});
