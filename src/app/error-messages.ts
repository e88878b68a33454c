/** Plain-language explanations of each error code; the technical message is shown below them. */
import type { UiErrorCode } from '../state/store';

export const ERROR_EXPLANATIONS: Record<UiErrorCode, string> = {
  'no-webgpu':
    'This browser has no WebGPU. Use a recent Chrome or Edge, or choose the WebAssembly fallback (much slower).',
  'no-shader-f16':
    'Your GPU/browser lacks 16-bit float shaders (shader-f16), which this fp16 model needs. Try an fp32 or q4 model, or the WebAssembly fallback.',
  'gpu-limits':
    'A weight of this model, or the work for the chosen image size, is larger than the biggest buffer your GPU allows. Choose a smaller size or a quantized (q4f16) build, or use the WebAssembly fallback.',
  'out-of-memory':
    'The model did not fit in memory. Close other tabs and apps that use the GPU, then load it again; or try a smaller (q4f16) build.',
  'download-failed':
    'A model file could not be downloaded. Check the model URL and your connection, and that the server allows cross-origin requests (CORS), then press Load model again: what is already stored is kept.',
  offline:
    'You are offline, and this model is not (completely) stored in this browser, so its files cannot be fetched. Connect and press Load model again; what is already stored is kept.',
  'bad-model':
    'A model file is not what this app expects. It needs an SDXL Turbo export in the diffusers/optimum ONNX layout: check the model URL, then press Load model again.',
  'bad-request': 'The page asked the engine for something it cannot do.',
  'no-model': 'No model is loaded. Load a model, then generate.',
  'device-lost':
    'The GPU stopped responding (device lost), often because it ran out of memory. The app restarts its engine and loads the model again; if it keeps happening, try a smaller image size.',
  quota:
    'There is not enough storage space in this browser for the model. Free some disk space or delete a stored model, then try again; what was already downloaded is kept.',
  'storage-unavailable':
    'This browser does not let the app keep files (IndexedDB is unavailable, as in some private windows). Use "Load without storing", or a normal window.',
  'storage-unreadable':
    'This browser could not read back model files it had stored. A private (incognito) window keeps stored files in memory and can hand back only part of a large model, so a full-size model cannot load there: open the app in a normal window.',
  'load-stalled':
    'Loading stopped making progress (the detail says which graph and which stage). The engine has been restarted: press Retry to load the model again.',
  internal: 'Something went wrong inside the app. The details below can help a bug report.',
  'protocol-mismatch':
    'This page and its background engine come from different versions of the app. Reload the page.',
  'worker-failed':
    'The background engine failed to start or crashed. Reload the page; if this keeps happening, try a recent Chrome, Edge or Firefox.',
  'bad-url': 'The model base URL must be an http:// or https:// address, or a path on this site.',
};

/** Errors that the WebAssembly backend (CPU, slow) gets around, so the alert offers it. */
export const WASM_FALLBACK_HELPS: ReadonlySet<UiErrorCode> = new Set([
  'no-webgpu',
  'no-shader-f16',
  'gpu-limits',
  'out-of-memory',
]);
