import { describe, expect, it } from 'vitest';
import { MAX_SEED, parseSeed, randomSeed } from './seed';

describe('parseSeed', () => {
  it('reads decimal integers and clamps to uint32', () => {
    expect(parseSeed('123')).toBe(123);
    expect(parseSeed('+7')).toBe(7);
    expect(parseSeed('-1')).toBe(0);
    expect(parseSeed('99999999999')).toBe(MAX_SEED);
    expect(parseSeed(3.7)).toBe(3);
  });

  it('returns null for non-numbers', () => {
    for (const bad of ['', 'x', '1 2', '0b1', '0x1f', 'Infinity', Number.NaN, -Infinity]) {
      expect(parseSeed(bad)).toBeNull();
    }
  });
});

describe('randomSeed', () => {
  it('returns uint32 values', () => {
    for (let i = 0; i < 100; i++) {
      const seed = randomSeed();
      expect(Number.isInteger(seed)).toBe(true);
      expect(seed).toBeGreaterThanOrEqual(0);
      expect(seed).toBeLessThanOrEqual(MAX_SEED);
    }
  });
});
