/**
 * Plain words about models for the model panel: what a hosted build trades, why the app
 * suggests one, and how to name the model that is loaded (hosted, stored or by its URL).
 * Pure functions, so the wording is unit-tested without rendering.
 */
import type { Capabilities, HostedModelInfo, StoredModelInfo } from '../protocol/messages';
import { hasLargeGpu } from '../state/model-fit';
import { DEFAULT_FAMILY, familyOf } from '../pipeline/families/registry';

/** A build whose weights are squeezed to 4 bits (int4 MatMulNBits), computing in fp16. */
export function isQuantizedBuild(m: HostedModelInfo): boolean {
  return /q4/i.test(m.modelId) || /q4/i.test(m.displayName);
}

/** What choosing this build means, in one plain sentence. */
export function buildTradeOff(m: HostedModelInfo): string {
  // Another family than the default says what it is first (its steps and size).
  const family = familyOf(m.family);
  if (family !== DEFAULT_FAMILY) return `${family.displayName}: ${family.summary}`;
  if (isQuantizedBuild(m)) {
    return 'Smaller download and lighter on the GPU; the weights are squeezed to 4 bits, so fine detail is a little softer.';
  }
  if (/fp16/i.test(m.modelId) || /fp16/i.test(m.displayName)) {
    return 'Full picture quality; a bigger download that needs a GPU with large buffers.';
  }
  return 'An SDXL Turbo build in the ONNX layout.';
}

/** Why the app suggests this build on this device, in one plain sentence. */
export function recommendationReason(m: HostedModelInfo, caps: Capabilities | null): string {
  if (!caps) return 'Suggested while this browser is still being checked.';
  if (!caps.webgpu) {
    return 'This browser has no WebGPU, so any build runs on the slow WebAssembly fallback: the smallest download is best.';
  }
  if (!caps.shaderF16) {
    return 'This GPU lacks 16-bit float shaders (shader-f16), so builds run on the slow WebAssembly fallback: the smallest download is best.';
  }
  if (!isQuantizedBuild(m) && hasLargeGpu(caps)) {
    return 'Your GPU has 16-bit float shaders and buffers of 2 GiB or more, so the full-quality build fits.';
  }
  if (isQuantizedBuild(m) && !hasLargeGpu(caps)) {
    return "Your GPU's buffers are under 2 GiB: this build fits where the full-quality one may not.";
  }
  return 'It suits this GPU.';
}

/**
 * A readable name for a model known only by its URL: the folder's last path segment, or the
 * repository of a Hugging Face `<owner>/<repo>/resolve/<revision>/` address.
 */
export function modelNameFromUrl(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    const segments = url.pathname.split('/').filter((s) => s !== '');
    const resolve = segments.lastIndexOf('resolve');
    if (resolve >= 2)
      return segments
        .slice(resolve - 2, resolve)
        .map(decodeURIComponent)
        .join('/');
    const last = segments.at(-1);
    return last ? decodeURIComponent(last) : url.host;
  } catch {
    return baseUrl;
  }
}

export interface ActiveModelDescription {
  name: string;
  /** Loaded from this browser's storage (complete there); otherwise streamed for this visit. */
  stored: boolean;
  /** Bytes of the model; null when nothing says. */
  bytes: number | null;
}

/**
 * The loaded model as the one-line summary shows it: the hosted or stored name when the URL
 * is one of those, its folder name otherwise; stored when this browser holds all of it.
 */
export function describeActiveModel(
  baseUrl: string,
  hosted: readonly HostedModelInfo[],
  stored: readonly StoredModelInfo[],
  loadedBytes: number | null,
): ActiveModelDescription {
  const keep = stored.find((m) => m.baseUrl === baseUrl && m.complete);
  const host = hosted.find((m) => m.baseUrl === baseUrl);
  const bytes = keep?.storedBytes ?? (loadedBytes || null) ?? host?.approxBytes ?? null;
  return { name: modelName(baseUrl, hosted, stored), stored: keep !== undefined, bytes };
}

/** The hosted build's or stored model's name for this URL, else a name from the URL itself. */
export function modelName(
  baseUrl: string,
  hosted: readonly HostedModelInfo[],
  stored: readonly StoredModelInfo[],
): string {
  const host = hosted.find((m) => m.baseUrl === baseUrl);
  // A model stored from a typed URL is named by that URL: its folder name reads better.
  const kept = stored.find((m) => m.baseUrl === baseUrl && !/^https?:/i.test(m.displayName));
  return host?.displayName ?? kept?.displayName ?? modelNameFromUrl(baseUrl);
}
