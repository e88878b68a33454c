/**
 * Which operators the execution providers of onnxruntime-web 1.30 can run, for a check before
 * a session is created (and, where the graph file is fetched first, before any weight is
 * downloaded).
 *
 * The WebGPU backend is the *native* WebGPU EP (both the `/webgpu` and `/jspi` builds; the
 * package's docs/webgpu-operators.md describes the older JSEP). Its com.microsoft kernels are
 * listed below (DESIGN.md, "onnxruntime-web 1.30 findings"); SimplifiedLayerNormalization is
 * registered in the default domain. A graph using any other custom-domain operator (GroupNorm,
 * SkipGroupNorm, NhwcConv from CUDA/DirectML-tuned Olive exports ...) would run that node on the
 * CPU or fail at run time, so it is refused with the operators and the graph named.
 */
import { decodeModel, type DecodedModel } from './inspect.ts';

const WEBGPU_CONTRIB_OPERATORS = new Set([
  'com.microsoft:Attention',
  'com.microsoft:BiasAdd',
  'com.microsoft:BiasGelu',
  'com.microsoft:BiasSplitGelu',
  'com.microsoft:FastGelu',
  'com.microsoft:FusedConv',
  'com.microsoft:GatherBlockQuantized',
  'com.microsoft:Gelu',
  'com.microsoft:GroupQueryAttention',
  'com.microsoft:MatMulNBits',
  'com.microsoft:MultiHeadAttention',
  'com.microsoft:QMoE',
  'com.microsoft:QuickGelu',
  'com.microsoft:RotaryEmbedding',
  'com.microsoft:SkipLayerNormalization',
  'com.microsoft:SkipSimplifiedLayerNormalization',
]);

/**
 * com.microsoft operators the WebAssembly backend (onnxruntime's CPU EP) has although the WebGPU
 * EP does not. Only these make "use the WebAssembly backend" honest advice; GroupNorm,
 * SkipGroupNorm, NhwcConv and packed-QKV attention are CUDA/DirectML kernels, absent from both.
 */
const WASM_ONLY_CONTRIB_OPERATORS = new Set([
  'com.microsoft:EmbedLayerNormalization',
  'com.microsoft:NhwcMaxPool',
  'com.microsoft:QAttention',
  'com.microsoft:QLinearConv',
]);

/** How the refusal names packed attention (not an operator of its own). */
export const PACKED_ATTENTION =
  'com.microsoft:MultiHeadAttention with packed QKV/KV (rank-5 inputs)';

/** The "domain:op" operators (as operatorTypes lists them) the WebGPU EP cannot run. */
export function operatorsMissingOnWebGpu(operators: readonly string[]): string[] {
  return operators.filter((op) => !op.startsWith('ai.onnx:') && !WEBGPU_CONTRIB_OPERATORS.has(op));
}

/**
 * MultiHeadAttention nodes fed packed QKV ([B, L, N, 3, H] query, no key or value) or packed KV
 * ([B, L, N, 2, H] key, no value): the 1.30 WebGPU EP says "Packed QKV ... not implemented for
 * webgpu", and the CPU EP does not implement them either.
 */
function usesPackedAttention(model: DecodedModel): boolean {
  const rankOf = new Map<string, number>();
  for (const value of [...(model.graph.input ?? []), ...(model.graph.valueInfo ?? [])]) {
    const dims = value.type?.tensorType?.shape?.dim;
    if (value.name && dims) rankOf.set(value.name, dims.length);
  }
  return (model.graph.node ?? []).some((node) => {
    if (node.domain !== 'com.microsoft' || node.opType !== 'MultiHeadAttention') return false;
    const [query, key, value] = [0, 1, 2].map((i) => node.input?.[i] ?? '');
    if (!key && !value) return true; // packed QKV in the query
    if (key && !value) return true; // packed KV in the key
    return rankOf.get(query!) === 5 || rankOf.get(key!) === 5;
  });
}

export interface OperatorCheck {
  /** What the WebGPU backend cannot run, by name (empty when it can run the graph). */
  missingOnWebGpu: string[];
  /** Of those, what the WebAssembly backend cannot run either. */
  missingOnWasm: string[];
}

/** The WebGPU and WebAssembly backends' view of one graph file. */
export function checkOperators(modelBytes: Uint8Array | DecodedModel): OperatorCheck {
  const model = modelBytes instanceof Uint8Array ? decodeModel(modelBytes) : modelBytes;
  const operators = [
    ...new Set((model.graph.node ?? []).map((n) => `${n.domain || 'ai.onnx'}:${n.opType ?? ''}`)),
  ];
  const missingOnWebGpu = operatorsMissingOnWebGpu(operators);
  if (usesPackedAttention(model)) missingOnWebGpu.push(PACKED_ATTENTION);
  return {
    missingOnWebGpu,
    missingOnWasm: missingOnWebGpu.filter((op) => !WASM_ONLY_CONTRIB_OPERATORS.has(op)),
  };
}

/**
 * The refusal for running `graph` on `backend`, or null when the backend has every operator.
 * 'any' refuses only what neither backend can run (the check made before downloading weights,
 * when the backend is not chosen yet).
 */
export function operatorRefusal(
  graph: string,
  modelBytes: Uint8Array | DecodedModel,
  backend: 'webgpu' | 'wasm' | 'any',
): string | null {
  const { missingOnWebGpu, missingOnWasm } = checkOperators(modelBytes);
  const missing = backend === 'webgpu' ? missingOnWebGpu : missingOnWasm;
  if (missing.length === 0) return null;
  const where =
    backend === 'webgpu'
      ? 'the WebGPU backend of onnxruntime-web 1.30 does not have'
      : 'neither backend of onnxruntime-web 1.30 (WebGPU, WebAssembly) has';
  const advice =
    missingOnWasm.length === 0
      ? ' The WebAssembly backend can run this graph (slowly).'
      : ' This looks like an export tuned for CUDA/DirectML (Olive); use a standard ONNX export, such as the official stabilityai/sdxl-turbo one converted to fp16.';
  return `The ${graph} graph uses operators ${where}: ${missing.join(', ')}.${advice}`;
}
