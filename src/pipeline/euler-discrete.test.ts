/**
 * The Euler discrete scheduler (SDXL-Lightning) against diffusers' EulerDiscreteScheduler.
 *
 * Where the numbers come from: diffusers is not installed here and there is no network, so
 * scripts/fixtures/euler-discrete.py transcribes EulerDiscreteScheduler.__init__ and
 * set_timesteps (src/diffusers/schedulers/scheduling_euler_discrete.py: float32 scaled_linear
 * betas by torch.linspace, torch.cumprod of the alphas, trailing spacing
 * `np.arange(1000, 0, -1000/steps).round() - 1`, `np.interp` of the training sigmas at the
 * timesteps, `np.concatenate([sigmas, [0.0]])`, init_noise_sigma = max sigma for trailing
 * spacing) in torch 1.13 / numpy 1.24, for SDXL-Lightning's configuration: SDXL's scheduler
 * config (1000 train steps, betas 0.00085..0.012 scaled_linear, epsilon prediction, linear
 * interpolation, no Karras sigmas) with timestep_spacing="trailing", as the SDXL-Lightning
 * model card loads it (`EulerDiscreteScheduler.from_config(pipe.scheduler.config,
 * timestep_spacing="trailing")`). The values below are that script's output, copied by hand.
 * Cross-check: the 1-4 step timesteps and sigmas equal those DESIGN.md gives for SDXL Turbo's
 * EulerAncestralDiscreteScheduler, which shares set_timesteps (scheduler.test.ts); no published
 * Lightning sigma list was found with the search tool.
 *
 * diffusers computes the sigmas in float32, this app in float64: they agree to 2e-6 relative.
 */
import { describe, expect, it } from 'vitest';
import { denoiseLatents, type StartingLatents } from './denoise/denoise-loop.ts';
import { HostLatentOps } from './denoise/host-latent-ops.ts';
import type { GraphSession, HostTensor, SessionTensor, ValueInfo } from './graph-session.ts';
import { eulerStep, modelInputScale, planEuler, trailingTimesteps } from './scheduler.ts';

const DIFFUSERS_EULER_DISCRETE: Record<number, { timesteps: number[]; sigmas: number[] }> = {
  1: { timesteps: [999], sigmas: [14.614645004272461, 0] },
  2: { timesteps: [999, 499], sigmas: [14.614645004272461, 1.6128870248794556, 0] },
  3: {
    timesteps: [999, 666, 332],
    sigmas: [14.614645004272461, 2.9183082580566406, 0.9292147159576416, 0],
  },
  4: {
    timesteps: [999, 749, 499, 249],
    sigmas: [14.614645004272461, 4.081730842590332, 1.6128870248794556, 0.6932054162025452, 0],
  },
  8: {
    timesteps: [999, 874, 749, 624, 499, 374, 249, 124],
    sigmas: [
      14.614645004272461, 7.297353744506836, 4.081730842590332, 2.4925312995910645,
      1.6128870248794556, 1.0689517259597778, 0.6932054162025452, 0.39774635434150696, 0,
    ],
  },
};
/** init_noise_sigma for every step count above (trailing spacing: sigma_max). */
const DIFFUSERS_INIT_NOISE_SIGMA = 14.614645004272461;

/**
 * A whole 4-step trajectory from the same script: diffusers' prepare_latents (start ×
 * init_noise_sigma), then per step scale_model_input, a stand-in UNet eps = 0.5·input + 0.1,
 * and EulerDiscreteScheduler.step (float32 torch).
 */
const TRAJECTORY = {
  start: [1.0, -0.5, 0.25, 2.0],
  latents: [
    [8.307182312011719, -5.733528137207031, 1.2868268489837646, 17.66765594482422],
    [5.620153427124023, -4.29625129699707, 0.6619510054588318, 12.231090545654297],
    [4.166365146636963, -3.347194194793701, 0.4095854163169861, 9.175405502319336],
    [2.9102373123168945, -2.4630520343780518, 0.22359269857406616, 6.492431163787842],
  ],
};

function expectRelativelyClose(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.abs(expected));
}

describe("Euler discrete, trailing spacing (SDXL-Lightning's scheduler)", () => {
  for (const [steps, ref] of Object.entries(DIFFUSERS_EULER_DISCRETE)) {
    it(`${steps} step(s): timesteps, sigmas and init_noise_sigma match diffusers`, () => {
      const plan = planEuler(trailingTimesteps(Number(steps)));
      expect(plan.timesteps).toEqual(ref.timesteps);
      expect(plan.sigmas).toHaveLength(ref.sigmas.length);
      ref.sigmas.forEach((s, i) => expectRelativelyClose(plan.sigmas[i]!, s, 5e-6));
      expect(plan.sigmas.at(-1)).toBe(0);
      expectRelativelyClose(plan.initNoiseSigma, DIFFUSERS_INIT_NOISE_SIGMA, 5e-6);
    });
  }

  it('the tolerance would catch a neighbouring timestep', () => {
    // sigma(998) vs diffusers' sigma(999): an off-by-one in the spacing fails the test above.
    const offByOne = planEuler([998]).sigmas[0]!;
    expect(Math.abs(offByOne - DIFFUSERS_INIT_NOISE_SIGMA)).toBeGreaterThan(
      5e-6 * DIFFUSERS_INIT_NOISE_SIGMA,
    );
  });

  it('each step is x + eps·(sigma_next − sigma) with no noise', () => {
    const [s0, s1] = DIFFUSERS_EULER_DISCRETE[4]!.sigmas;
    expect(eulerStep('euler-discrete', s0!, s1!)).toEqual({ dt: s1! - s0!, sigmaUp: 0 });
  });

  it('a whole 4-step run of the host loop follows diffusers, draws no step noise, previews x0', async () => {
    const dims = [1, 4, 1, 1];
    const plan = planEuler(trailingTimesteps(4));
    const seen: Array<{ timestep: number; sample: number[] }> = [];
    const unet = standInUnet((sample, timestep) => {
      seen.push({ timestep, sample: [...sample] });
      return sample.map((v) => 0.5 * v + 0.1);
    });
    let draws = 0;
    const start: StartingLatents = {
      dims,
      count: 4,
      plan,
      noise: {
        sample: (n) => {
          draws++;
          return new Float32Array(n);
        },
      },
      latents: Float32Array.from(TRAJECTORY.start, (v) => v * plan.initNoiseSigma),
    };
    const previews: number[][] = [];
    const done = await denoiseLatents({
      ops: new HostLatentOps(unet, unet, 0.13025),
      unet,
      conditioning: {},
      start,
      scheduler: 'euler-discrete',
      finish: 'latents',
      preview: async (_step, estimate) => {
        previews.push([...((estimate as HostTensor).data as Float32Array)]);
      },
      checkpoint: () => {},
      now: () => 0,
    });

    expect(draws).toBe(0);
    expect(seen.map((s) => s.timestep)).toEqual([999, 749, 499, 249]);
    const final = [...((done.latents as HostTensor).data as Float32Array)];
    TRAJECTORY.latents[3]!.forEach((v, i) => expectRelativelyClose(final[i]!, v, 1e-5));

    // By hand: x_{i+1} = x_i + eps_i·(sigma_{i+1} − sigma_i), eps_i = 0.5·x_i/sqrt(sigma_i²+1) + 0.1;
    // each UNet input and each preview (x_i − sigma_i·eps_i) checked against that.
    let x = TRAJECTORY.start.map((v) => v * plan.initNoiseSigma);
    for (let i = 0; i < 4; i++) {
      const sigma = plan.sigmas[i]!;
      const input = x.map((v) => v * modelInputScale(sigma));
      input.forEach((v, j) => expectRelativelyClose(seen[i]!.sample[j]!, v, 1e-6));
      const eps = input.map((v) => 0.5 * v + 0.1);
      if (i < 3) {
        const x0 = x.map((v, j) => v - sigma * eps[j]!);
        x0.forEach((v, j) => expectRelativelyClose(previews[i]![j]!, v, 1e-5));
      }
      x = x.map((v, j) => v + eps[j]! * (plan.sigmas[i + 1]! - sigma));
      x.forEach((v, j) => expectRelativelyClose(v, TRAJECTORY.latents[i]![j]!, 1e-5));
    }
    expect(previews).toHaveLength(3);
  });
});

/** A UNet stand-in (float32 `sample` in, `out_sample` out) computing `eps` in JS. */
function standInUnet(eps: (sample: Float32Array, timestep: number) => Float32Array): GraphSession {
  const f32 = (name: string): ValueInfo => ({ name, type: 'float32', shape: null });
  return {
    inputs: [f32('sample'), { name: 'timestep', type: 'int64', shape: [1] }],
    outputs: [f32('out_sample')],
    async run(feeds) {
      const sample = feeds['sample']!;
      const timestep = Number((feeds['timestep']!.data as BigInt64Array)[0]);
      const data = eps(sample.data as Float32Array, timestep);
      return { out_sample: { type: 'float32', dims: sample.dims, data } satisfies SessionTensor };
    },
    async release() {},
  };
}
