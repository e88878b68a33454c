import { describe, expect, it } from 'vitest';
import { float32ToHalf, fromHalfBits, halfToFloat32, toHalfBits } from './float16.ts';

describe('float16 conversion', () => {
  it('encodes known values exactly', () => {
    expect(toHalfBits(0)).toBe(0x0000);
    expect(toHalfBits(-0)).toBe(0x8000);
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff); // largest finite half
    expect(toHalfBits(1e6)).toBe(0x7c00); // overflow -> inf
    expect(toHalfBits(65520)).toBe(0x7c00); // rounds up to inf
    expect(toHalfBits(2 ** -25)).toBe(0x0000); // tie -> even (zero)
    expect(toHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toHalfBits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('rounds to nearest even', () => {
    // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties to even (1).
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round-trips within half precision', () => {
    const values = Float32Array.of(0.1, -3.14159, 14.6146, 1000.5, 6e-5);
    const back = halfToFloat32(float32ToHalf(values));
    values.forEach((v, i) =>
      expect(Math.abs((back[i] as number) - v)).toBeLessThanOrEqual(
        Math.abs(v) * 2 ** -11 + 2 ** -25,
      ),
    );
    expect(fromHalfBits(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(fromHalfBits(0x7e00))).toBe(true);
  });
});
