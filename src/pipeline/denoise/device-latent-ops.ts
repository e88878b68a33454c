/**
 * LatentOps on the device (onnxruntime-web WebGPU): the latents never leave the GPU; each step
 * is one run of the step helper graph (onnx/helper-graphs.ts), x + eps·dt + noise·sigma_up and
 * its output scaled for the next graph, so the UNet's prediction goes straight into the step
 * and the step's scaled output straight into the next UNet (or the VAE decoder). Host to device
 * per step: three scalars and, while sigma_up > 0, the step's noise (drawn on the host from the
 * seeded generator, so the image matches the host path's; 64 KiB at 512²). Only the final
 * pixels (4 bytes each) are read back.
 */
import { isDeviceTensor, type SessionTensor } from '../graph-session.ts';
import { modelInputScale } from '../scheduler.ts';
import { ModelFormatError, elementCount } from '../tensors.ts';
import type { PipelineHelpers } from '../text-to-image.ts';
import { runKeeping, type GraphRunner, type LatentOps } from './latent-ops.ts';

/** The step graph's noise input when a step adds none: one broadcast 0, not a tensor of zeros. */
const NO_NOISE: SessionTensor = { type: 'float32', dims: [1, 1, 1, 1], data: new Float32Array(1) };

function scalar(v: number): SessionTensor {
  return { type: 'float32', dims: [1], data: Float32Array.of(v) };
}

export class DeviceLatentOps implements LatentOps {
  readonly resident = true;

  constructor(
    private readonly helpers: PipelineHelpers,
    /** Latents = VAE latent mean × this. */
    private readonly vaeScalingFactor: number,
    /** Pixels in the output image (checks what the pixels helper returns). */
    private readonly pixelCount: number,
    private readonly syncDevice: () => Promise<void>,
  ) {}

  readonly run: GraphRunner = (session, feeds, outputNames) =>
    runKeeping(session, feeds, outputNames);

  readonly step: LatentOps['step'] = async (x, eps, { dt, sigmaUp, noise }, output) => {
    const toUnet = typeof output === 'object';
    // TAESDXL decodes the unscaled latents; the VAE takes them / 0.13025 ('scaled').
    const names =
      output === 'vae-input'
        ? ['scaled']
        : output === 'latents-only'
          ? ['latents']
          : ['latents', 'scaled'];
    const out = await runKeeping(
      toUnet ? this.helpers.stepToUnet : this.helpers.stepToVae,
      {
        x,
        eps,
        noise: noise ? { type: 'float32', dims: x.dims, data: noise } : NO_NOISE,
        dt: scalar(dt),
        sigma_up: scalar(sigmaUp),
        out_scale: scalar(toUnet ? modelInputScale(output.unetSigma) : 1 / this.vaeScalingFactor),
      },
      names,
    );
    return { latents: out['latents'] ?? null, input: out['scaled'] ?? null };
  };

  /** By the same step graph: dt = -sigma, no noise, out_scale 1. */
  readonly estimate: LatentOps['estimate'] = async (x, eps, sigma) => {
    const out = await runKeeping(
      this.helpers.stepToUnet,
      { x, eps, noise: NO_NOISE, dt: scalar(-sigma), sigma_up: scalar(0), out_scale: scalar(1) },
      ['latents'],
    );
    return out['latents']!;
  };

  /** By the step graph as well (eps = 0, no noise, out_scale 1/0.13025): nothing leaves the GPU. */
  readonly vaeInput: LatentOps['vaeInput'] = async (latents) => {
    const { stepToVae } = this.helpers;
    const count = elementCount(latents.dims);
    const epsType = stepToVae.inputs.find((i) => i.name === 'eps')?.type;
    const zeros: SessionTensor =
      epsType === 'float16'
        ? { type: 'float16', dims: latents.dims, data: new Uint16Array(count) }
        : { type: 'float32', dims: latents.dims, data: new Float32Array(count) };
    const out = await runKeeping(
      stepToVae,
      {
        x: latents,
        eps: zeros,
        noise: NO_NOISE,
        dt: scalar(0),
        sigma_up: scalar(0),
        out_scale: scalar(1 / this.vaeScalingFactor),
      },
      ['scaled'],
    );
    return out['scaled']!;
  };

  /** The pixels helper packs RGB in one int32 a pixel: the run's only readback, 4 bytes each. */
  readonly readImage: LatentOps['readImage'] = async (image, decoder) => {
    // TAESDXL's image is float32 whatever the VAE's dtype: it may need its own pixels graph.
    const graph =
      decoder === 'taesd' ? (this.helpers.taesdPixels ?? this.helpers.pixels) : this.helpers.pixels;
    let packed: Int32Array | undefined;
    try {
      const rgb = (await runKeeping(graph, { image }, ['rgb'], []))['rgb'];
      packed = rgb && !isDeviceTensor(rgb) ? (rgb.data as Int32Array) : undefined;
    } finally {
      if (isDeviceTensor(image)) image.dispose();
    }
    if (!packed || packed.length !== this.pixelCount) {
      const which = decoder === 'taesd' ? 'the TAESDXL pixels helper' : 'the pixels helper';
      throw new ModelFormatError(`${which} returned the wrong number of pixels`);
    }
    return { packed };
  };

  readonly sync = (): Promise<void> => this.syncDevice();
}
