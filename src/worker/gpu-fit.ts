/**
 * Whether a graph can live on this GPU, checked before onnxruntime-web is asked to create its
 * session, and plain words when creating it runs out of memory anyway. Each weight tensor
 * becomes one GPU buffer that is bound as a storage buffer, so the largest one must fit both
 * `maxBufferSize` and `maxStorageBufferBindingSize`; how much memory the GPU has in total is
 * not something WebGPU tells a page, so that limit only shows as an allocation failure.
 */
import type { Capabilities } from '../protocol/messages.ts';
import { weightSizes } from '../pipeline/onnx/tensor-sizes.ts';
import { formatBytes } from '../storage/byte-units.ts';
import { CapabilityError } from './capability-error.ts';

/** Throws 'gpu-limits' when the graph's largest weight does not fit the adapter's buffers. */
export function checkFitsGpuLimits(graph: string, modelBytes: Uint8Array, caps: Capabilities) {
  const { largest } = weightSizes(modelBytes);
  if (!largest) return;
  const limits = [
    ['maxBufferSize', caps.maxBufferSize],
    ['maxStorageBufferBindingSize', caps.maxStorageBufferBindingSize ?? null],
  ] as const;
  for (const [limit, value] of limits) {
    if (value !== null && largest.bytes > value) {
      throw new CapabilityError(
        'gpu-limits',
        `The ${graph} graph has a ${formatBytes(largest.bytes)} weight (${largest.name}), and this ` +
          `GPU's ${limit} is ${formatBytes(value)}. A quantized (q4f16) build has smaller weights.`,
      );
    }
  }
}

/** Messages onnxruntime-web, Dawn or the wasm heap give when an allocation fails. */
const OUT_OF_MEMORY =
  /out of memory|OutOfMemory|failed to allocate|bad_alloc|Cannot enlarge memory|allocation failed/i;

/**
 * 'out-of-memory' for an error thrown while creating `graph`'s session when it says an
 * allocation failed (GPU memory, or the 4 GiB wasm heap); null for any other error.
 */
export function asOutOfMemory(
  graph: string,
  modelBytes: Uint8Array,
  error: unknown,
): CapabilityError | null {
  const message = error instanceof Error ? error.message : String(error);
  if (!OUT_OF_MEMORY.test(message)) return null;
  let weights = '';
  try {
    weights = ` (${formatBytes(weightSizes(modelBytes).totalBytes)} of weights)`;
  } catch {
    // The size is only a hint in the message.
  }
  return new CapabilityError(
    'out-of-memory',
    `Ran out of memory while creating the ${graph} session${weights}: ${message}`,
  );
}
