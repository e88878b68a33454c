import { describe, expect, it } from 'vitest';
import {
  ancestralStep,
  eulerAncestralUpdate,
  eulerStep,
  modelInputScale,
  planEulerAncestral,
  sigmaAt,
  trailingTimesteps,
} from './scheduler.ts';

// Reference values: diffusers' EulerAncestralDiscreteScheduler (float32 betas) as in DESIGN.md.
const REFERENCE: Record<number, { timesteps: number[]; sigmas: number[] }> = {
  1: { timesteps: [999], sigmas: [14.61466] },
  2: { timesteps: [999, 499], sigmas: [14.61466, 1.61289] },
  3: { timesteps: [999, 666, 332], sigmas: [14.61466, 2.91831, 0.92921] },
  4: { timesteps: [999, 749, 499, 249], sigmas: [14.61466, 4.08173, 1.61289, 0.69321] },
};

describe('Euler ancestral, trailing spacing', () => {
  for (const [steps, ref] of Object.entries(REFERENCE)) {
    it(`${steps} step(s): timesteps and sigmas match diffusers`, () => {
      const plan = planEulerAncestral(trailingTimesteps(Number(steps)));
      expect(plan.timesteps).toEqual(ref.timesteps);
      expect(plan.sigmas).toHaveLength(ref.sigmas.length + 1);
      ref.sigmas.forEach((s, i) => expect(plan.sigmas[i]).toBeCloseTo(s, 3));
      expect(plan.sigmas.at(-1)).toBe(0);
      expect(plan.initNoiseSigma).toBeCloseTo(14.6146, 3);
    });
  }

  it('rejects step counts outside the schedule', () => {
    expect(() => trailingTimesteps(0)).toThrow(RangeError);
    expect(() => trailingTimesteps(1.5)).toThrow(RangeError);
    expect(() => sigmaAt(1000)).toThrow(RangeError);
  });

  it('scales the UNet input by 1/sqrt(sigma^2+1)', () => {
    expect(modelInputScale(14.61466)).toBeCloseTo(1 / Math.sqrt(14.61466 ** 2 + 1), 10);
    expect(modelInputScale(0)).toBe(1);
  });

  it('the last step lands on the predicted clean sample, with no fresh noise', () => {
    const sigma = 14.61466;
    const x = Float32Array.of(3, -2);
    const eps = Float32Array.of(0.5, -1);
    let noiseCalls = 0;
    eulerAncestralUpdate(x, eps, sigma, 0, () => {
      noiseCalls++;
      return new Float32Array(2);
    });
    expect(noiseCalls).toBe(0);
    expect(x[0]).toBeCloseTo(3 - sigma * 0.5, 4); // x0 = x - sigma * eps
    expect(x[1]).toBeCloseTo(-2 + sigma * 1, 4);
  });

  it('an intermediate step moves to sigma_down and adds sigma_up noise (variance-preserving)', () => {
    const { dt, sigmaUp } = ancestralStep(14.61466, 1.61289);
    const sigmaDown = 14.61466 + dt;
    // sigma_down^2 + sigma_up^2 = sigma_next^2
    expect(sigmaDown ** 2 + sigmaUp ** 2).toBeCloseTo(1.61289 ** 2, 6);
    const x = Float32Array.of(1);
    eulerAncestralUpdate(x, Float32Array.of(2), 14.61466, 1.61289, () => Float32Array.of(1));
    expect(x[0]).toBeCloseTo(1 + 2 * dt + sigmaUp, 4);
  });

  it('the discrete (non-ancestral) step goes straight to sigma_next and never reads noise', () => {
    expect(eulerStep('euler-discrete', 14.61466, 1.61289)).toEqual({
      dt: 1.61289 - 14.61466,
      sigmaUp: 0,
    });
    const x = Float32Array.of(1);
    eulerAncestralUpdate(
      x,
      Float32Array.of(2),
      14.61466,
      1.61289,
      () => {
        throw new Error('noise read');
      },
      'euler-discrete',
    );
    expect(x[0]).toBeCloseTo(1 + 2 * (1.61289 - 14.61466), 4);
  });
});
