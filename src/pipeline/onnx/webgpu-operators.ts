/**
 * Operators outside the standard ai.onnx domain that onnxruntime-web's WebGPU execution
 * provider implements (its contrib kernels, per onnxruntime's js/web WebGPU operator list).
 * A graph using any other custom-domain operator (e.g. com.microsoft:GroupNorm or NhwcConv from
 * CUDA-optimized Olive exports) would run that node on the CPU or fail at run time, so such a
 * graph is refused before a session is created, with the operators named.
 */
const WEBGPU_CONTRIB_OPERATORS = new Set([
  'com.microsoft:Attention',
  'com.microsoft:BiasAdd',
  'com.microsoft:BiasSplitGelu',
  'com.microsoft:FastGelu',
  'com.microsoft:FusedConv',
  'com.microsoft:GatherBlockQuantized',
  'com.microsoft:Gelu',
  'com.microsoft:GroupQueryAttention',
  'com.microsoft:MatMulNBits',
  'com.microsoft:MultiHeadAttention',
  'com.microsoft:QuickGelu',
  'com.microsoft:RotaryEmbedding',
  'com.microsoft:SimplifiedLayerNormalization',
  'com.microsoft:SkipLayerNormalization',
  'com.microsoft:SkipSimplifiedLayerNormalization',
]);

/** The "domain:op" operators (as operatorTypes lists them) the WebGPU EP cannot run. */
export function operatorsMissingOnWebGpu(operators: readonly string[]): string[] {
  return operators.filter((op) => !op.startsWith('ai.onnx:') && !WEBGPU_CONTRIB_OPERATORS.has(op));
}
