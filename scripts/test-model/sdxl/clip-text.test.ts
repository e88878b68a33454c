import { describe, expect, it } from 'vitest';
import { buildClipText, clipTextConfig } from './clip-text.ts';

const FP32 = { float: 'fp32', conv: 'fp32', matmul: 'dense' } as const;

describe('CLIP text encoder replica widths', () => {
  // --scale 0.7 is the replica whose UNet external data is one 4.96 GiB file (npm run scale);
  // rounding 768 × 0.7 only to 32 gave 544, 8.5 heads of 64, and the graph could not be built.
  it.each([0.05, 0.1, 0.6, 0.7, 0.72, 1])('has whole 64-wide heads at --scale %s', (scale) => {
    for (const which of [1, 2] as const) {
      const config = clipTextConfig(which, scale);
      expect(config.width % config.headDim === 0 || config.width < config.headDim).toBe(true);
      expect(() => buildClipText(config, FP32, 'int64')).not.toThrow();
    }
  });

  it('keeps the published widths at full scale', () => {
    expect(clipTextConfig(1, 1).width).toBe(768);
    expect(clipTextConfig(2, 1).width).toBe(1280);
    expect(clipTextConfig(1, 0.7).width).toBe(576);
  });
});
