import type * as OrtApi from 'onnxruntime-web/webgpu';
import type { Backend, Capabilities } from '../protocol/messages.ts';
import type { SessionFactory } from '../pipeline/model-loader.ts';
import { OrtGraphSession } from '../pipeline/ort/ort-session.ts';
import { modelUsesFloat16 } from '../pipeline/onnx/dtypes.ts';
import { operatorTypes } from '../pipeline/onnx/inspect.ts';
import { operatorsMissingOnWebGpu } from '../pipeline/onnx/webgpu-operators.ts';
import { ModelFormatError } from '../pipeline/tensors.ts';
import { CapabilityError } from './capability-error.ts';
import { asOutOfMemory, checkFitsGpuLimits } from './gpu-fit.ts';

/** Whether this browser has JavaScript Promise Integration for WebAssembly. */
export const HAS_JSPI = typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function';

/**
 * onnxruntime-web's JSPI build where the browser has JSPI: it reads Blob external data range by
 * range as the session needs it (weights stored in IndexedDB are not first copied into one
 * big buffer). Elsewhere the asyncify build. Both carry the WebGPU and wasm EPs.
 */
const ortReady: Promise<typeof OrtApi> = (
  HAS_JSPI ? import('onnxruntime-web/jspi') : import('onnxruntime-web/webgpu')
).then((ort) => {
  // Without cross-origin isolation there are no wasm threads; asking for them only logs warnings.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated
    ? Math.min(4, navigator.hardwareConcurrency)
    : 1;
  return ort;
});

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
      checkFitsGpuLimits(graph, model, capabilities);
    }
    const ort = await ortReady;
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [backend],
        externalData: externalData.map((f) => ({ path: f.path, data: f.data })),
        graphOptimizationLevel: 'all',
      });
      return new OrtGraphSession(ort, session);
    } catch (error) {
      throw asOutOfMemory(graph, model, error) ?? error;
    }
  };
}

/** 'auto' picks WebGPU when present; the model's own dtype is checked per graph on load. */
export function resolveBackend(choice: 'auto' | Backend, capabilities: Capabilities): Backend {
  if (choice === 'auto') return capabilities.webgpu ? 'webgpu' : 'wasm';
  return choice;
}

/** The GPUDevice onnxruntime-web's WebGPU EP runs on (call once a WebGPU session exists). */
export async function ortWebGpuDevice(): Promise<GPUDevice> {
  const ort = await ortReady;
  return (await ort.env.webgpu.device) as GPUDevice;
}
