import { describe, expect, it } from 'vitest';
import { buildUnet, buildVaeDecoder } from '../../scripts/test-model/networks.ts';
import type { Capabilities } from '../protocol/messages.ts';
import { weightSizes } from '../pipeline/onnx/tensor-sizes.ts';
import { toWorkerError } from './errors.ts';
import { asOutOfMemory, checkFitsGpuLimits } from './gpu-fit.ts';

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
