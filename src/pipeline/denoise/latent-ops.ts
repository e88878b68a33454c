/**
 * The tensor operations the denoising loop (denoise-loop.ts) and the decoders (latent-decode.ts)
 * need, with two implementations: host-latent-ops.ts (latents in a Float32Array, arithmetic in
 * JS) and device-latent-ops.ts (latents stay on the GPU, arithmetic by the helper graphs). The
 * loop decides what is computed and in which order; an implementation decides only where the
 * tensors live and how the arithmetic is done.
 *
 * Latents (`x`) are float32 and unscaled. Every tensor handed out is the caller's to dispose
 * (`disposeTensor`; a no-op for host tensors).
 */
import { decodedImageToRgba } from '../pixels.ts';
import { packedRgbToRgba } from '../onnx/helper-graphs.ts';
import {
  isDeviceTensor,
  type GraphSession,
  type HostTensor,
  type SessionTensor,
} from '../graph-session.ts';

/** One Euler step's coefficients: x <- x + eps·dt + noise·sigmaUp (noise only when drawn). */
export interface StepCoefficients {
  dt: number;
  sigmaUp: number;
  /** This step's Gaussian noise, drawn by the loop only when sigmaUp > 0. */
  noise: Float32Array | null;
}

/**
 * What a step also produces, besides the new latents: the next UNet input (x / sqrt(σ² + 1) at
 * the next sigma, in the UNet's dtype), the VAE decoder's input (x / VAE scale, in its dtype),
 * or nothing.
 */
export type StepOutput = { unetSigma: number } | 'vae-input' | 'latents-only';

export interface StepResult {
  /** The new latents; null when only the VAE input was asked for (the device skips them). */
  latents: SessionTensor | null;
  /** The next UNet input or the VAE input, as asked; null for 'latents-only'. */
  input: SessionTensor | null;
}

/** A decoded picture as it comes back to the host: packed RGB (device) or planar [-1, 1] (host). */
export type ImageReadout = { packed: Int32Array } | { planar: Float32Array };

export type GraphRunner = (
  session: GraphSession,
  feeds: Record<string, SessionTensor>,
  outputNames: string[],
) => Promise<Record<string, SessionTensor>>;

export interface LatentOps {
  /** Whether tensors stay on a device between graphs (StageTimings.gpuResident). */
  readonly resident: boolean;
  /** Runs a graph; on a device its outputs stay there. */
  run: GraphRunner;
  /** One Euler step from `x` with the UNet's prediction `eps`. Disposes neither. */
  step(
    x: SessionTensor,
    eps: SessionTensor,
    coefficients: StepCoefficients,
    output: StepOutput,
  ): Promise<StepResult>;
  /** The denoised estimate x − sigma·eps (float32, unscaled): what a preview shows. */
  estimate(x: SessionTensor, eps: SessionTensor, sigma: number): Promise<SessionTensor>;
  /** Kept latents as the VAE decoder's input (x / VAE scale). Does not dispose `latents`. */
  vaeInput(latents: SessionTensor): Promise<SessionTensor>;
  /** A decoder's image brought back to the host; disposes `image`. */
  readImage(image: SessionTensor, decoder: 'vae' | 'taesd'): Promise<ImageReadout>;
  /** With syncStages, waits for the device (per-stage timings); otherwise nothing. */
  sync(): Promise<void>;
}

export function readoutToRgba(
  readout: ImageReadout,
  width: number,
  height: number,
): Uint8ClampedArray {
  return 'packed' in readout
    ? packedRgbToRgba(readout.packed)
    : decodedImageToRgba(readout.planar, width, height);
}

/** A run with outputs kept on the device where the session can (all of them by default). */
export function runKeeping(
  session: GraphSession,
  feeds: Record<string, SessionTensor>,
  outputNames: string[],
  keepOnDevice: string[] = outputNames,
): Promise<Record<string, SessionTensor>> {
  if (session.runOnDevice) return session.runOnDevice(feeds, outputNames, keepOnDevice);
  return runOnHost(session, feeds, outputNames);
}

/** A plain run; every feed must be a host tensor. */
export function runOnHost(
  session: GraphSession,
  feeds: Record<string, SessionTensor>,
  outputNames: string[],
): Promise<Record<string, HostTensor>> {
  for (const [name, t] of Object.entries(feeds)) {
    if (isDeviceTensor(t)) throw new Error(`feed "${name}" is on a device this session lacks`);
  }
  return session.run(feeds as Record<string, HostTensor>, outputNames);
}
