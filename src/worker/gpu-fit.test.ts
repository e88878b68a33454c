import { describe, expect, it } from 'vitest';
import { buildTextEncoder, buildUnet, buildVaeDecoder } from '../../scripts/test-model/networks.ts';
import type { Capabilities } from '../protocol/messages.ts';
import { weightSizes } from '../pipeline/onnx/tensor-sizes.ts';
import { toWorkerError } from './errors.ts';
import {
  asOutOfMemory,
  attentionScoreBytes,
  checkFitsGpuLimits,
  checkImageFitsGpu,
  imageSizeLimit,
  largestSquareSide,
} from './gpu-fit.ts';

const unet = buildUnet('fp16').serialize({ externalData: 'model.onnx_data' }).model;
const vae = buildVaeDecoder('fp32').serialize().model;

const caps = (limit: number | null): Capabilities => ({
  webgpu: true,
  shaderF16: true,
  adapter: 'test',
  maxBufferSize: 1 << 30,
  maxStorageBufferBindingSize: limit,
});

describe('GPU limits', () => {
  it('reads weight sizes from tensor headers, external data included', () => {
    const external = buildUnet('fp16').serialize({ externalData: 'model.onnx_data' });
    const sizes = weightSizes(external.model);
    expect(sizes.largest!.bytes).toBeGreaterThan(0);
    expect(sizes.totalBytes).toBeGreaterThanOrEqual(sizes.largest!.bytes);
    // The same weights inline give the same sizes; the external file holds them (plus padding).
    expect(weightSizes(buildUnet('fp16').serialize().model)).toEqual(sizes);
    expect(sizes.totalBytes).toBeLessThanOrEqual(external.data!.length);
  });

  it('refuses a graph whose largest weight exceeds the binding limit, naming both', () => {
    const { largest } = weightSizes(vae);
    expect(() => checkFitsGpuLimits('vae_decoder', vae, caps(largest!.bytes))).not.toThrow();
    expect(() => checkFitsGpuLimits('vae_decoder', vae, caps(null))).not.toThrow();
    let error: unknown;
    try {
      checkFitsGpuLimits('vae_decoder', vae, caps(largest!.bytes - 1));
    } catch (e) {
      error = e;
    }
    expect(toWorkerError(error)).toMatchObject({
      code: 'gpu-limits',
      message: expect.stringMatching(
        new RegExp(`vae_decoder graph .*\\(${largest!.name}\\).*maxStorageBufferBindingSize`),
      ),
    });
  });
});

describe('out of memory while creating a session', () => {
  it.each([
    'GPUOutOfMemoryError: Failed to allocate buffer',
    'Failed to allocate memory for requested buffer of size 2147483648',
    'std::bad_alloc',
    'Aborted(Cannot enlarge memory arrays to size 4294967296 bytes)',
  ])('"%s" becomes out-of-memory, naming the graph', (message) => {
    const error = asOutOfMemory('unet', unet, new Error(message));
    expect(toWorkerError(error)).toMatchObject({
      code: 'out-of-memory',
      message: expect.stringMatching(/^Ran out of memory while creating the unet session \(/),
    });
  });

  it('leaves other errors alone', () => {
    expect(asOutOfMemory('unet', unet, new Error('invalid model: bad node'))).toBeNull();
  });
});

describe("image size against the adapter's buffers", () => {
  // A graph with a Softmax stands in for SDXL's VAE decoder, whose mid block attends over
  // every latent pixel; the tiny test decoder has no attention.
  const withAttention = (floatType: 'fp16' | 'fp32') =>
    buildTextEncoder(floatType, 'int32').serialize().model;
  const MiB = 1 << 20;
  const limits = (maxBufferSize: number | null, binding: number | null): Capabilities => ({
    webgpu: true,
    shaderF16: true,
    adapter: 'test',
    maxBufferSize,
    maxStorageBufferBindingSize: binding,
  });

  it('knows no limit for a decoder without attention, or an adapter without limits', () => {
    expect(imageSizeLimit(vae, limits(128 * MiB, 128 * MiB))).toBeNull();
    expect(imageSizeLimit(withAttention('fp16'), limits(null, null))).toBeNull();
  });

  it('derives the largest image from the tightest limit and the score dtype', () => {
    // 128 MiB of fp16 scores: 8192 latent tokens, so 8192 × 64 image pixels (about 724²).
    expect(imageSizeLimit(withAttention('fp16'), limits(1024 * MiB, 128 * MiB))).toEqual({
      maxPixels: 8192 * 64,
      limit: 'maxStorageBufferBindingSize',
      limitBytes: 128 * MiB,
      scoreBytes: 2,
    });
    // fp32 scores take twice the bytes; here maxBufferSize is the tighter limit.
    const fp32 = imageSizeLimit(withAttention('fp32'), limits(512 * MiB, 2048 * MiB))!;
    expect(fp32).toMatchObject({ limit: 'maxBufferSize', scoreBytes: 4 });
    expect(fp32.maxPixels).toBe(11585 * 64);
    // SDXL at 1024² in fp16: the scores alone are 537 MB.
    expect(attentionScoreBytes(1024, 1024, 2)).toBe(16384 * 16384 * 2);
  });

  it('refuses a size over the limit with the buffer it needs and a size that fits', () => {
    const fit = imageSizeLimit(withAttention('fp16'), limits(1024 * MiB, 128 * MiB))!;
    expect(() => checkImageFitsGpu(512, 768, fit)).not.toThrow();
    expect(() => checkImageFitsGpu(704, 704, fit)).not.toThrow();
    expect(() => checkImageFitsGpu(4096, 4096, null)).not.toThrow();
    let error: unknown;
    try {
      checkImageFitsGpu(768, 768, fit);
    } catch (e) {
      error = e;
    }
    expect(toWorkerError(error)).toEqual({
      code: 'gpu-limits',
      message:
        "A 768×768 image needs a 170 MB buffer for the VAE decoder's attention, and this " +
        "GPU's maxStorageBufferBindingSize is 134 MB. Choose a smaller size (704×704 or fewer pixels fits).",
    });
    expect(largestSquareSide(fit.maxPixels)).toBe(704);
  });
});
