import type { Capabilities } from '../protocol/messages.ts';
import { modelUsesFloat16 } from '../pipeline/onnx/dtypes.ts';
import { operatorRefusal } from '../pipeline/onnx/webgpu-operators.ts';
import { ModelFormatError } from '../pipeline/tensors.ts';
import { CapabilityError } from './capability-error.ts';
import { checkFitsGpuLimits } from './gpu-fit.ts';

/**
 * What is checked before a WebGPU session is created, so the user gets a plain message instead
 * of onnxruntime-web's: an adapter, operators the EP has, shader-f16 for fp16 graphs, and
 * weights within the buffer limits. Each check reads the same decoded graph (decoded once).
 */
export function checkGraphForWebGpu(
  graph: string,
  model: Uint8Array,
  capabilities: Capabilities,
): void {
  if (!capabilities.webgpu) {
    throw new CapabilityError('no-webgpu', 'This browser has no usable WebGPU adapter.');
  }
  const refusal = operatorRefusal(graph, model, 'webgpu');
  if (refusal) throw new ModelFormatError(refusal);
  if (!capabilities.shaderF16 && modelUsesFloat16(model)) {
    throw new CapabilityError(
      'no-shader-f16',
      `The ${graph} graph is fp16, and this GPU/browser does not offer 16-bit float shaders (shader-f16).`,
    );
  }
  checkFitsGpuLimits(graph, model, capabilities);
}
