import type { WorkerError } from '../protocol/messages.ts';
import { LoadStalledError } from '../pipeline/load-watchdog.ts';
import { ModelFormatError } from '../pipeline/tensors.ts';
import {
  StorageQuotaError,
  StoredChunkDamagedError,
  StoredChunkUnreadableError,
  WeightDownloadError,
  WeightFileError,
  WeightStoreUnavailableError,
} from '../storage/errors.ts';
import { StoredFileMissingError } from '../storage/stored-source.ts';
import { DownloadError } from './fetch-source.ts';
import { StorageUnavailableError } from './storage-service.ts';
import { CapabilityError } from './capability-error.ts';

/** The browser says it has no network (navigator.onLine is false in workers too). */
function isOffline(): boolean {
  return (globalThis.navigator as { onLine?: boolean } | undefined)?.onLine === false;
}

/** Maps anything thrown in the worker to the fixed set of codes the UI can explain. */
export function toWorkerError(error: unknown): WorkerError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof CapabilityError) return { code: error.code, message };
  if (error instanceof LoadStalledError) return { code: 'load-stalled', message };
  // Offline, every fetch fails before an answer: say so instead of blaming the URL or CORS.
  if ((error instanceof DownloadError || error instanceof WeightDownloadError) && isOffline()) {
    return { code: 'offline', message };
  }
  if (error instanceof DownloadError) return { code: 'download-failed', message };
  if (error instanceof StorageQuotaError) return { code: 'quota', message };
  if (error instanceof WeightDownloadError) return { code: 'download-failed', message };
  if (error instanceof WeightFileError || error instanceof StoredFileMissingError) {
    return { code: 'bad-model', message };
  }
  if (error instanceof StorageUnavailableError || error instanceof WeightStoreUnavailableError) {
    return { code: 'storage-unavailable', message };
  }
  if (error instanceof StoredChunkDamagedError) return { code: 'bad-model', message };
  if (error instanceof StoredChunkUnreadableError) return { code: 'storage-unreadable', message };
  // A stored Blob the browser will not hand back (Chromium's off-the-record profiles hold
  // IndexedDB's Blobs in memory up to a limit; past it they read as NotReadableError).
  if (error instanceof DOMException && error.name === 'NotReadableError') {
    return { code: 'storage-unreadable', message };
  }
  if (error instanceof ModelFormatError) return { code: 'bad-model', message };
  if (error instanceof RangeError) return { code: 'bad-request', message };
  if (/requires f16|shader-f16/i.test(message)) return { code: 'no-shader-f16', message };
  if (/device (was )?lost|GPUDevice.*lost/i.test(message)) return { code: 'device-lost', message };
  // onnxruntime-web reports a graph it cannot parse as a protobuf failure.
  if (/protobuf|failed to load model|invalid model/i.test(message))
    return { code: 'bad-model', message };
  return { code: 'internal', message };
}
