/**
 * Whether a graph can live on this GPU, checked before onnxruntime-web is asked to create its
 * session, and plain words when creating it runs out of memory anyway. Each weight tensor
 * becomes one GPU buffer that is bound as a storage buffer, so the largest one must fit both
 * `maxBufferSize` and `maxStorageBufferBindingSize`; how much memory the GPU has in total is
 * not something WebGPU tells a page, so that limit only shows as an allocation failure.
 */
import type { Capabilities } from '../protocol/messages.ts';
import { modelUsesFloat16 } from '../pipeline/onnx/dtypes.ts';
import { operatorTypes } from '../pipeline/onnx/inspect.ts';
import { weightSizes } from '../pipeline/onnx/tensor-sizes.ts';
import { formatBytes } from '../storage/byte-units.ts';
import { CapabilityError } from './capability-error.ts';

type BufferLimit = 'maxBufferSize' | 'maxStorageBufferBindingSize';

/** The two limits one tensor's buffer must fit (a bound storage buffer); null: not reported. */
function bufferLimits(caps: Capabilities): Array<[BufferLimit, number | null]> {
  return [
    ['maxBufferSize', caps.maxBufferSize],
    ['maxStorageBufferBindingSize', caps.maxStorageBufferBindingSize ?? null],
  ];
}

/** Throws 'gpu-limits' when the graph's largest weight does not fit the adapter's buffers. */
export function checkFitsGpuLimits(graph: string, modelBytes: Uint8Array, caps: Capabilities) {
  const { largest } = weightSizes(modelBytes);
  if (!largest) return;
  for (const [limit, value] of bufferLimits(caps)) {
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

/**
 * How large an image this adapter's buffer limits allow. SDXL's VAE decoder has one
 * self-attention over every latent pixel, in its mid block; its score matrix holds
 * (width/8 · height/8)² values in one tensor: 537 MB in fp16 at 1024², 8.6 GB at 2048². That
 * outgrows a GPU buffer long before anything else in the pipeline does (the decoder's
 * full-resolution 128-channel activations are 1 GiB even at 2048²), so it sets the limit.
 */
export interface ImageSizeLimit {
  /** The largest width × height whose attention scores fit one buffer. */
  maxPixels: number;
  /** The adapter limit that binds, and its value. */
  limit: BufferLimit;
  limitBytes: number;
  /** Bytes per attention score: 2 for an fp16 decoder, 4 for fp32. */
  scoreBytes: number;
}

/** Attention in an export: MatMul-Softmax-MatMul, or onnxruntime's fused contrib operators. */
const ATTENTION_OPERATORS = new Set([
  'ai.onnx:Softmax',
  'com.microsoft:Attention',
  'com.microsoft:MultiHeadAttention',
]);

/** Latent pixels per image pixel along each side. */
const VAE_SCALE = 8;

/** The attention score matrix's size in bytes for a width × height image. */
export function attentionScoreBytes(width: number, height: number, scoreBytes: number): number {
  const tokens = (width / VAE_SCALE) * (height / VAE_SCALE);
  return tokens * tokens * scoreBytes;
}

/**
 * The image size limit for a VAE decoder graph on this adapter; null when the decoder has no
 * attention (the tiny test models) or the adapter reports no limits.
 */
export function imageSizeLimit(vaeDecoder: Uint8Array, caps: Capabilities): ImageSizeLimit | null {
  if (!operatorTypes(vaeDecoder).some((op) => ATTENTION_OPERATORS.has(op))) return null;
  let binding: { limit: BufferLimit; bytes: number } | null = null;
  for (const [limit, bytes] of bufferLimits(caps)) {
    if (bytes !== null && (!binding || bytes < binding.bytes)) binding = { limit, bytes };
  }
  if (!binding) return null;
  const scoreBytes = modelUsesFloat16(vaeDecoder) ? 2 : 4;
  const maxTokens = Math.floor(Math.sqrt(binding.bytes / scoreBytes));
  return {
    maxPixels: maxTokens * VAE_SCALE * VAE_SCALE,
    limit: binding.limit,
    limitBytes: binding.bytes,
    scoreBytes,
  };
}

/** The largest square side, a multiple of 64 like the size presets, within the limit. */
export function largestSquareSide(maxPixels: number): number {
  return Math.floor(Math.sqrt(maxPixels) / 64) * 64;
}

/** Throws 'gpu-limits' when a width × height image would not fit the adapter's buffers. */
export function checkImageFitsGpu(width: number, height: number, fit: ImageSizeLimit | null) {
  if (!fit || width * height <= fit.maxPixels) return;
  const side = largestSquareSide(fit.maxPixels);
  throw new CapabilityError(
    'gpu-limits',
    `A ${width}×${height} image needs a ${formatBytes(attentionScoreBytes(width, height, fit.scoreBytes))} ` +
      `buffer for the VAE decoder's attention, and this GPU's ${fit.limit} is ${formatBytes(fit.limitBytes)}. ` +
      (side >= 64
        ? `Choose a smaller size (${side}×${side} or fewer pixels fits).`
        : 'No image size fits; use the WebAssembly backend.'),
  );
}
