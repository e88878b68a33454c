/**
 * LatentOps on the host: latents in a Float32Array, updated in place; the arithmetic in JS
 * (float64 products, float32 stores), graphs run with host tensors. For wasm, Node and fakes.
 */
import type { GraphSession, HostTensor, SessionTensor } from '../graph-session.ts';
import { applyEulerStep, modelInputScale } from '../scheduler.ts';
import { floatTensor, requireInput, toFloat32 } from '../tensors.ts';
import { vaeDecoderInput } from './latent-decode.ts';
import { runOnHost, type GraphRunner, type LatentOps } from './latent-ops.ts';

export class HostLatentOps implements LatentOps {
  readonly resident = false;
  readonly run: GraphRunner = runOnHost;

  constructor(
    private readonly unet: GraphSession,
    private readonly vaeDecoder: GraphSession,
    /** Latents = VAE latent mean × this. */
    private readonly vaeScalingFactor: number,
  ) {}

  readonly step: LatentOps['step'] = (x, eps, { dt, sigmaUp, noise }, output) => {
    const latents = hostLatents(x);
    applyEulerStep(latents, toFloat32(eps as HostTensor), dt, noise, sigmaUp);
    let input: SessionTensor | null = null;
    if (output === 'vae-input') input = this.scaledForVae(latents, x.dims);
    else if (output !== 'latents-only') {
      // The next UNet input, computed here rather than at the next step's start: same values.
      const scale = modelInputScale(output.unetSigma);
      const sample = requireInput(this.unet, 'unet', 'sample');
      input = floatTensor(
        sample,
        'unet',
        x.dims,
        latents.map((v) => v * scale),
      );
    }
    return Promise.resolve({ latents: x, input });
  };

  readonly estimate: LatentOps['estimate'] = (x, eps, sigma) => {
    const e = toFloat32(eps as HostTensor);
    const data = hostLatents(x).map((v, j) => v - sigma * (e[j] as number));
    return Promise.resolve({ type: 'float32', dims: x.dims, data });
  };

  readonly vaeInput: LatentOps['vaeInput'] = (latents) =>
    Promise.resolve(this.scaledForVae(hostLatents(latents), latents.dims));

  readonly readImage: LatentOps['readImage'] = (image) =>
    Promise.resolve({ planar: toFloat32(image as HostTensor) });

  readonly sync = (): Promise<void> => Promise.resolve();

  /** latents / VAE scale, in the VAE decoder's input dtype. */
  private scaledForVae(latents: Float32Array, dims: readonly number[]): HostTensor {
    return floatTensor(
      vaeDecoderInput(this.vaeDecoder),
      'vae_decoder',
      dims,
      latents.map((v) => v / this.vaeScalingFactor),
    );
  }
}

/** The loop's latents on this path: a float32 host tensor, updated in place. */
function hostLatents(x: SessionTensor): Float32Array {
  if ('location' in x || x.type !== 'float32') throw new Error('host latents must be float32');
  return x.data as Float32Array;
}
