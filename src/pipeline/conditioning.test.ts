import { describe, expect, it } from 'vitest';
import { timeIds } from './conditioning.ts';

describe('time_ids', () => {
  it('is [H, W, 0, 0, H, W]: original size, crop top-left, target size', () => {
    expect(Array.from(timeIds(512, 512))).toEqual([512, 512, 0, 0, 512, 512]);
    // width 768, height 512 (landscape): height first
    expect(Array.from(timeIds(768, 512))).toEqual([512, 768, 0, 0, 512, 768]);
  });
});
