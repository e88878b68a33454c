import type { WorkerError } from '../protocol/messages.ts';
import { ModelFormatError } from '../pipeline/tensors.ts';
import { DownloadError } from './fetch-source.ts';
import { CapabilityError } from './capability-error.ts';

/** Maps anything thrown in the worker to the fixed set of codes the UI can explain. */
export function toWorkerError(error: unknown): WorkerError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof CapabilityError) return { code: error.code, message };
  if (error instanceof DownloadError) return { code: 'download-failed', message };
  if (error instanceof ModelFormatError) return { code: 'bad-model', message };
  if (error instanceof RangeError) return { code: 'bad-request', message };
  if (/requires f16|shader-f16/i.test(message)) return { code: 'no-shader-f16', message };
  if (/device (was )?lost|GPUDevice.*lost/i.test(message)) return { code: 'device-lost', message };
  // onnxruntime-web reports a graph it cannot parse as a protobuf failure.
  if (/protobuf|failed to load model|invalid model/i.test(message))
    return { code: 'bad-model', message };
  return { code: 'internal', message };
}
