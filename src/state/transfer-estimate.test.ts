import { describe, expect, it } from 'vitest';
import { estimateSecondsLeft } from './transfer-estimate';

describe('estimateSecondsLeft', () => {
  const start = { atMs: 1_000, bytes: 1_000 };

  it('divides what is left by the average rate since the start', () => {
    // 4,000 bytes in 2 s = 2,000 B/s; 6,000 bytes left = 3 s.
    expect(estimateSecondsLeft(start, 3_000, 5_000, 11_000)).toBeCloseTo(3);
  });

  it('says nothing before a rate can be measured', () => {
    expect(estimateSecondsLeft(start, 1_200, 5_000, 11_000)).toBeNull();
    expect(estimateSecondsLeft(start, 9_000, 1_000, 11_000)).toBeNull();
  });

  it('is zero once everything is in', () => {
    expect(estimateSecondsLeft(start, 1_100, 11_000, 11_000)).toBe(0);
  });
});
