import * as ort from 'onnxruntime-web/webgpu';
import type { Backend, Capabilities } from '../protocol/messages.ts';
import type { SessionFactory } from '../pipeline/model-loader.ts';
import { OrtGraphSession } from '../pipeline/ort/ort-session.ts';
import { modelUsesFloat16 } from '../pipeline/onnx/dtypes.ts';
import { operatorTypes } from '../pipeline/onnx/inspect.ts';
import { operatorsMissingOnWebGpu } from '../pipeline/onnx/webgpu-operators.ts';
import { ModelFormatError } from '../pipeline/tensors.ts';
import { CapabilityError } from './capability-error.ts';

// Without cross-origin isolation there are no wasm threads; asking for them only logs warnings.
ort.env.wasm.numThreads = globalThis.crossOriginIsolated
  ? Math.min(4, navigator.hardwareConcurrency)
  : 1;

/**
 * Session factory for one backend. WebGPU sessions get only the 'webgpu' EP: if WebGPU cannot
 * start, session creation fails loudly instead of silently running on the CPU.
 */
export function browserSessionFactory(
  backend: Backend,
  capabilities: Capabilities,
): SessionFactory {
  return async (graph, model, externalData) => {
    if (backend === 'webgpu') {
      if (!capabilities.webgpu) {
        throw new CapabilityError('no-webgpu', 'This browser has no usable WebGPU adapter.');
      }
      const missing = operatorsMissingOnWebGpu(operatorTypes(model));
      if (missing.length > 0) {
        throw new ModelFormatError(
          `The ${graph} graph uses operators the WebGPU backend does not have: ${missing.join(', ')}. ` +
            'This looks like an export optimized for CUDA/DirectML; use a standard ONNX export, or the WebAssembly backend.',
        );
      }
      if (!capabilities.shaderF16 && modelUsesFloat16(model)) {
        throw new CapabilityError(
          'no-shader-f16',
          `The ${graph} graph is fp16, and this GPU/browser does not offer 16-bit float shaders (shader-f16).`,
        );
      }
    }
    const session = await ort.InferenceSession.create(model, {
      executionProviders: [backend],
      externalData: externalData.map((f) => ({ path: f.path, data: f.data })),
      graphOptimizationLevel: 'all',
    });
    return new OrtGraphSession(ort, session);
  };
}

/** 'auto' picks WebGPU when present; the model's own dtype is checked per graph on load. */
export function resolveBackend(choice: 'auto' | Backend, capabilities: Capabilities): Backend {
  if (choice === 'auto') return capabilities.webgpu ? 'webgpu' : 'wasm';
  return choice;
}
