import type * as OrtApi from 'onnxruntime-web/webgpu';
import type { Backend, Capabilities } from '../protocol/messages.ts';
import type { SessionFactory } from '../pipeline/model-loader.ts';
import { OrtGraphSession } from '../pipeline/ort/ort-session.ts';
import { operatorRefusal } from '../pipeline/onnx/webgpu-operators.ts';
import { ModelFormatError } from '../pipeline/tensors.ts';
import { asOutOfMemory } from './gpu-fit.ts';
import { checkGraphForWebGpu } from './webgpu-graph-checks.ts';

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

/** The onnxruntime-web module the sessions use (the benchmark times bare runs on it). */
export function ortModule(): Promise<typeof OrtApi> {
  return ortReady;
}

/**
 * Symbolic dimensions whose size the pipeline fixes: one image per run, 77 tokens. Knowing them
 * when the session is created lets the runtime plan shapes once. (Latent height and width vary
 * with the chosen size, so they stay free.)
 */
export const FIXED_DIMENSIONS = { batch_size: 1, sequence_length: 77 } as const;

export interface SessionFactoryOptions {
  /**
   * WebGPU: leave every output in a GPU buffer (read back only when the pipeline asks), so
   * tensors pass between sessions on the GPU. Default true; false is the old host round trip
   * per stage (the benchmark's "before").
   */
  gpuResident?: boolean;
}

/**
 * Waits until the GPU has finished the work submitted so far. onnxruntime-web's sessions share
 * one GPUDevice (its own); its `env.webgpu.device` getter hands it out once a session exists.
 */
async function gpuIdle(ort: typeof OrtApi): Promise<void> {
  const device = await ort.env.webgpu.device;
  await device.queue.onSubmittedWorkDone();
}

/**
 * Session factory for one backend. WebGPU sessions get only the 'webgpu' EP: if WebGPU cannot
 * start, session creation fails loudly instead of silently running on the CPU.
 */
export function browserSessionFactory(
  backend: Backend,
  capabilities: Capabilities,
  options: SessionFactoryOptions = {},
): SessionFactory {
  const gpuResident = backend === 'webgpu' && (options.gpuResident ?? true);
  return async (graph, model, externalData) => {
    if (backend === 'webgpu') checkGraphForWebGpu(graph, model, capabilities);
    if (backend === 'wasm') {
      const refusal = operatorRefusal(graph, model, 'wasm');
      if (refusal) throw new ModelFormatError(refusal);
    }
    const ort = await ortReady;
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [backend],
        externalData: externalData.map((f) => ({ path: f.path, data: f.data })),
        graphOptimizationLevel: 'all',
        freeDimensionOverrides: FIXED_DIMENSIONS,
        ...(gpuResident ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
      });
      return new OrtGraphSession(
        ort,
        session,
        backend === 'webgpu' ? { deviceOutputs: gpuResident, sync: () => gpuIdle(ort) } : {},
      );
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
