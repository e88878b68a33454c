import { describe, expect, it } from 'vitest';
import { fromHalfBits } from '../float16.ts';
import { clampedHalfBits, convertFloat32Bytes } from './fp16-values.ts';

function halves(values: number[], byteOffset = 0): { bits: number[]; clamped: number } {
  const buffer = new ArrayBuffer(values.length * 4 + byteOffset);
  const source = new Uint8Array(buffer, byteOffset, values.length * 4);
  const view = new DataView(buffer, byteOffset);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  const target = new Uint8Array(values.length * 2);
  const clamped = convertFloat32Bytes(source, target);
  const out = new DataView(target.buffer);
  return { bits: values.map((_, i) => out.getUint16(i * 2, true)), clamped };
}

function float32Bits(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  return view.getUint32(0);
}

describe('float32 -> float16 bytes', () => {
  it('rounds normal values to nearest, ties to even', () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): rounds up.
    const { bits } = halves([1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20, -2.5]);
    expect(bits).toEqual([0x3c00, 0x3c00, 0x3c02, 0x3c01, 0xc100]);
  });

  it('rounds subnormals to nearest, ties to even', () => {
    const tiny = 2 ** -24; // the smallest subnormal half
    const { bits } = halves([
      tiny,
      tiny * 0.5,
      tiny * 1.5,
      tiny * 2.5,
      tiny * 0.75,
      2 ** -15,
      -tiny * 3,
    ]);
    // 0.5 ulp ties to 0 (even), 1.5 to 2, 2.5 to 2; 0.75 rounds up to 1; 2^-15 is subnormal 0x200.
    expect(bits).toEqual([0x0001, 0x0000, 0x0002, 0x0002, 0x0001, 0x0200, 0x8003]);
    // The largest subnormal rounds up into the smallest normal.
    expect(halves([2 ** -14 - 2 ** -25]).bits).toEqual([0x0400]);
  });

  it('clamps finite values beyond ±65504 and counts them; keeps NaN and infinities', () => {
    const { bits, clamped } = halves([65504, 65519, 65520, -1e9, 3.4e38, Infinity, -Infinity, NaN]);
    expect(bits.slice(0, 5)).toEqual([0x7bff, 0x7bff, 0x7bff, 0xfbff, 0x7bff]);
    expect(bits.slice(5, 7)).toEqual([0x7c00, 0xfc00]);
    expect(Number.isNaN(fromHalfBits(bits[7]!))).toBe(true);
    // 65519 rounds to 65504 anyway but is beyond it: counted too.
    expect(clamped).toBe(4);
    expect(clampedHalfBits(float32Bits(-70000))).toEqual({ half: 0xfbff, clamped: true });
  });

  it('reads float32 bytes at any offset', () => {
    const values = [0.1, -3, 1e-6, 1234.5];
    expect(halves(values, 1).bits).toEqual(halves(values).bits);
    expect(halves(values, 3).bits).toEqual(halves(values).bits);
  });

  it('refuses lengths that do not match', () => {
    expect(() => convertFloat32Bytes(new Uint8Array(6), new Uint8Array(3))).toThrow(/float32/);
    expect(() => convertFloat32Bytes(new Uint8Array(8), new Uint8Array(8))).toThrow(/float32/);
  });
});
