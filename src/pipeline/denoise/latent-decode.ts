/**
 * Latents to pictures on either path (LatentOps): the full VAE decoder, and TAESDXL for
 * previews and quick pictures. Each hands back the picture as read back to the host.
 */
import type { GraphSession, SessionTensor, ValueInfo } from '../graph-session.ts';
import { ModelFormatError } from '../tensors.ts';
import { disposeTensor } from '../text-encoding.ts';
import { readoutToRgba, type LatentOps } from './latent-ops.ts';

/** The VAE decoder's latents input: `latent_sample`, or its only input under another name. */
export function vaeDecoderInput(vaeDecoder: GraphSession): ValueInfo {
  const input = vaeDecoder.inputs.find((i) => i.name === 'latent_sample') ?? vaeDecoder.inputs[0];
  if (!input) throw new ModelFormatError('vae_decoder has no inputs');
  return input;
}

function vaeDecoderOutput(vaeDecoder: GraphSession): string {
  const name =
    vaeDecoder.outputs.find((o) => o.name === 'sample')?.name ?? vaeDecoder.outputs[0]?.name;
  if (!name) throw new ModelFormatError('vae_decoder has no outputs');
  return name;
}

/** A decoded picture (RGBA8) and the decode's stage timings (see StageTimings). */
export interface DecodedPicture {
  pixels: Uint8ClampedArray;
  vaeDecode: number;
  /** Device only: the pixels helper and the wait for the pixels to come back. */
  readback?: number;
  toPixels: number;
}

/**
 * The VAE decoder on `input` (ops.step's or ops.vaeInput's; disposed), to RGBA. On the device
 * the readback is its own stage (without syncStages, GPU work still queued from earlier stages
 * finishes in it); on the host the image's conversion counts as decoding.
 */
export async function decodeWithVae(
  ops: LatentOps,
  vaeDecoder: GraphSession,
  input: SessionTensor,
  size: { width: number; height: number },
  now: () => number,
): Promise<DecodedPicture> {
  const decodeStart = now();
  const outputName = vaeDecoderOutput(vaeDecoder);
  const out = await ops
    .run(vaeDecoder, { [vaeDecoderInput(vaeDecoder).name]: input }, [outputName])
    .finally(() => disposeTensor(input));
  const image = out[outputName];
  if (!image) throw new ModelFormatError('vae_decoder returned no image');
  await ops.sync();
  const decoded = now();
  const readout = await ops.readImage(image, 'vae');
  const readDone = now();
  const pixels = readoutToRgba(readout, size.width, size.height);
  const toPixels = now() - readDone;
  return ops.resident
    ? { pixels, vaeDecode: decoded - decodeStart, readback: readDone - decoded, toPixels }
    : { pixels, vaeDecode: readDone - decodeStart, toPixels };
}

/**
 * TAESDXL's decoder on unscaled latents (not disposed), to RGBA; its decode and readback are
 * timed together, as vaeDecode.
 */
export async function decodeWithTaesd(
  ops: LatentOps,
  taesdDecoder: GraphSession,
  latents: SessionTensor,
  size: { width: number; height: number },
  now: () => number,
): Promise<DecodedPicture> {
  const decodeStart = now();
  const image = (await ops.run(taesdDecoder, { latent_sample: latents }, ['sample']))['sample'];
  if (!image) throw new ModelFormatError('the TAESDXL decoder returned no image');
  const readout = await ops.readImage(image, 'taesd');
  const decoded = now();
  const pixels = readoutToRgba(readout, size.width, size.height);
  return { pixels, vaeDecode: decoded - decodeStart, toPixels: now() - decoded };
}
