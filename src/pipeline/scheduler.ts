/**
 * Euler ancestral sampling as diffusers' EulerAncestralDiscreteScheduler is configured for
 * SDXL Turbo: 1000 training steps, scaled_linear betas 0.00085..0.012, trailing timestep
 * spacing, epsilon prediction.
 */

/**
 * Which of diffusers' Euler schedulers a model family samples with (declared per family in
 * families/): EulerAncestralDiscreteScheduler (SDXL Turbo) or EulerDiscreteScheduler
 * (SDXL-Lightning). Both use the betas and trailing spacing below.
 */
export type SchedulerKind = 'euler-ancestral' | 'euler-discrete';

const TRAIN_STEPS = 1000;
const BETA_START = 0.00085;
const BETA_END = 0.012;

/** sigma_t = sqrt((1 - alphabar_t) / alphabar_t) for every training timestep t. */
function trainingSigmas(): Float64Array {
  const sigmas = new Float64Array(TRAIN_STEPS);
  const lo = Math.sqrt(BETA_START);
  const hi = Math.sqrt(BETA_END);
  let alphaBar = 1;
  for (let t = 0; t < TRAIN_STEPS; t++) {
    const sqrtBeta = lo + ((hi - lo) * t) / (TRAIN_STEPS - 1);
    alphaBar *= 1 - sqrtBeta * sqrtBeta;
    sigmas[t] = Math.sqrt((1 - alphaBar) / alphaBar);
  }
  return sigmas;
}

const TRAINING_SIGMAS = trainingSigmas();

/** Trailing spacing: round(arange(1000, 0, -1000/steps)) - 1, e.g. 4 -> [999, 749, 499, 249]. */
export function trailingTimesteps(steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > TRAIN_STEPS) {
    throw new RangeError(`steps must be an integer in 1..${TRAIN_STEPS}, got ${steps}`);
  }
  const stride = TRAIN_STEPS / steps;
  const timesteps: number[] = [];
  for (let i = 0; i < steps; i++) timesteps.push(Math.round(TRAIN_STEPS - i * stride) - 1);
  return timesteps;
}

export function sigmaAt(timestep: number): number {
  const sigma = TRAINING_SIGMAS[timestep];
  if (sigma === undefined)
    throw new RangeError(`timestep ${timestep} outside 0..${TRAIN_STEPS - 1}`);
  return sigma;
}

export interface EulerPlan {
  /** The timesteps handed to the UNet, highest first. */
  timesteps: number[];
  /** sigma for each timestep, then a final 0. */
  sigmas: number[];
  /** Scale of the initial Gaussian noise: sigma_max for trailing spacing. */
  initNoiseSigma: number;
}

/**
 * Sigmas and initial noise scale for the timesteps, as both of diffusers' Euler schedulers set
 * them (set_timesteps: the training sigmas at the timesteps, then a final 0; init_noise_sigma:
 * sigma_max for trailing spacing).
 */
export function planEuler(timesteps: number[]): EulerPlan {
  const sigmas = [...timesteps.map(sigmaAt), 0];
  return { timesteps, sigmas, initNoiseSigma: Math.max(...sigmas) };
}

/** The plan is the same for both schedulers; the names stay for the ancestral tests. */
export type EulerAncestralPlan = EulerPlan;
export const planEulerAncestral = planEuler;

/** The UNet sees x / sqrt(sigma^2 + 1) (diffusers' scale_model_input). */
export function modelInputScale(sigma: number): number {
  return 1 / Math.sqrt(sigma * sigma + 1);
}

/** Coefficients of one ancestral step from sigma to sigmaNext. */
export function ancestralStep(sigma: number, sigmaNext: number): { dt: number; sigmaUp: number } {
  const sigmaUp = Math.sqrt(
    (sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext)) / (sigma * sigma),
  );
  const sigmaDown = Math.sqrt(sigmaNext * sigmaNext - sigmaUp * sigmaUp);
  return { dt: sigmaDown - sigma, sigmaUp };
}

/**
 * Coefficients of one step of either scheduler: x <- x + eps * dt + noise * sigmaUp.
 * EulerDiscreteScheduler (with diffusers' default s_churn 0) is the deterministic Euler step
 * straight to sigmaNext: older diffusers releases still draw noise in every `step` and
 * multiply it by 0, newer ones draw only when s_churn > 0; either way no step noise is used.
 */
export function eulerStep(
  kind: SchedulerKind,
  sigma: number,
  sigmaNext: number,
): { dt: number; sigmaUp: number } {
  return kind === 'euler-ancestral'
    ? ancestralStep(sigma, sigmaNext)
    : { dt: sigmaNext - sigma, sigmaUp: 0 };
}

/**
 * One Euler update (ancestral unless `kind` says otherwise), in place: with epsilon prediction the derivative
 * (x - x0) / sigma is eps itself, so x <- x + eps * dt + noise * sigmaUp.
 * `noise` is only read when sigmaUp > 0 (never on the last step).
 */
export function eulerAncestralUpdate(
  latents: Float32Array,
  eps: ArrayLike<number>,
  sigma: number,
  sigmaNext: number,
  noise: () => Float32Array,
  kind: SchedulerKind = 'euler-ancestral',
): void {
  const { dt, sigmaUp } = eulerStep(kind, sigma, sigmaNext);
  applyEulerStep(latents, eps, dt, sigmaUp > 0 ? noise() : null, sigmaUp);
}

/**
 * x <- x + eps * dt, then + noise * sigmaUp when there is noise, in place (in this order and
 * with a float32 rounding after each sum: the host's arithmetic, which the step graph mirrors).
 */
export function applyEulerStep(
  latents: Float32Array,
  eps: ArrayLike<number>,
  dt: number,
  noise: ArrayLike<number> | null,
  sigmaUp: number,
): void {
  for (let i = 0; i < latents.length; i++)
    latents[i] = (latents[i] as number) + (eps[i] as number) * dt;
  if (noise) {
    for (let i = 0; i < latents.length; i++)
      latents[i] = (latents[i] as number) + (noise[i] as number) * sigmaUp;
  }
}
