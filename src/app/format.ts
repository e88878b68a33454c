/** Small display helpers shared by the components. */
import type { Backend, ModelDtype } from '../protocol/messages';

export function backendLabel(backend: Backend): string {
  return backend === 'webgpu' ? 'WebGPU' : 'WebAssembly';
}

export function dtypeLabel(dtype: ModelDtype): string {
  return dtype === 'float16' ? 'fp16' : 'fp32';
}

/** "Model loaded on WebGPU (fp32) in 1.2 s" / "... on WebAssembly (slow fallback) (fp16) in ..." */
export function modelLoadedText(backend: Backend, dtype: ModelDtype, loadMs: number): string {
  const where = backend === 'webgpu' ? 'WebGPU' : 'WebAssembly (slow fallback)';
  return `Model loaded on ${where} (${dtypeLabel(dtype)}) in ${formatSeconds(loadMs)}`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms).toLocaleString('en-US')} ms`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'] as const;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
