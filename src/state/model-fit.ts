/**
 * Which hosted SDXL Turbo build suits this browser, from the facts the worker's capability
 * probe and the storage estimate give: shader-f16 (every hosted build computes in fp16), the
 * GPU's buffer limits (the fp16 UNet's largest weights) and the free storage (to keep it).
 * One place for the rule, used by the first-run recommendation and by the capability panel.
 *
 * These are estimates: no limit read here proves that a model will run, only that it cannot
 * or probably can.
 */
import type { Capabilities, HostedModelInfo } from '../protocol/messages';
import { DEFAULT_FAMILY } from '../pipeline/families/registry';

/** Below this a GPU's largest buffer is unlikely to hold the fp16 UNet's big layers. */
export const LARGE_BUFFER = 2 * 1024 ** 3;
/** Builds above this size are the full fp16 ones (~7 GB kept); the q4f16 build is ~2.7 GB. */
const FULL_FP16_BYTES = 4e9;

export type FitVerdict = 'good' | 'tight' | 'slow' | 'unknown';

export interface ModelFit {
  verdict: FitVerdict;
  /** One short sentence per fact that decided it. */
  notes: string[];
  /** Free storage is known and below the model's size: it can only stream, not be kept. */
  storageShort: boolean;
}

/** A roomy GPU: shader-f16 and buffers of at least 2 GiB (both limits when the worker gave both). */
export function hasLargeGpu(caps: Capabilities | null): boolean {
  if (!caps?.webgpu || !caps.shaderF16) return false;
  const binding = caps.maxStorageBufferBindingSize ?? caps.maxBufferSize;
  return (caps.maxBufferSize ?? 0) >= LARGE_BUFFER && (binding ?? 0) >= LARGE_BUFFER;
}

export function assessHostedModel(
  model: HostedModelInfo,
  caps: Capabilities | null,
  freeBytes: number | null,
): ModelFit {
  const notes: string[] = [];
  // A build converted while downloading keeps less than it downloads: storage needs the kept size.
  const storageShort = freeBytes !== null && freeBytes < (model.keptBytes ?? model.approxBytes);
  if (storageShort) notes.push('Not enough free storage to keep it: it can only stream.');
  if (!caps) return { verdict: 'unknown', notes: ['Still checking this browser.'], storageShort };
  if (!caps.webgpu) {
    notes.unshift('No WebGPU: only the WebAssembly fallback (minutes per image).');
    return { verdict: 'slow', notes, storageShort };
  }
  if (!caps.shaderF16) {
    notes.unshift('The GPU lacks shader-f16: fp16 builds run only on the WebAssembly fallback.');
    return { verdict: 'slow', notes, storageShort };
  }
  if (model.approxBytes > FULL_FP16_BYTES && !hasLargeGpu(caps)) {
    notes.unshift('Buffers under 2 GiB: the full fp16 UNet may not fit; the q4f16 build should.');
    return { verdict: 'tight', notes, storageShort };
  }
  notes.unshift('shader-f16 and large enough buffers: should run on the GPU.');
  return { verdict: storageShort ? 'tight' : 'good', notes, storageShort };
}

/**
 * The build to suggest: the fp16 build (converted from stabilityai/sdxl-turbo) on a GPU with
 * shader-f16 and room for it (best quality), the q4f16 build everywhere else (smaller download
 * and buffers). Never a build that cannot run: those are not listed (hosted-models.ts).
 * Undefined when neither is listed.
 */
export function recommendHostedModel(
  hosted: readonly HostedModelInfo[],
  caps: Capabilities | null,
): HostedModelInfo | undefined {
  // Only the default family's builds are suggested: another family (SDXL-Lightning: 4 steps at
  // 1024², against Turbo's one step at 512²) is a choice the user makes.
  const isDefaultFamily = (m: HostedModelInfo) =>
    (m.family ?? DEFAULT_FAMILY.id) === DEFAULT_FAMILY.id;
  const isQ4 = (m: HostedModelInfo) => isDefaultFamily(m) && /q4f16/.test(m.modelId);
  const isFp16 = (m: HostedModelInfo) => isDefaultFamily(m) && /fp16/.test(m.modelId) && !isQ4(m);
  return hasLargeGpu(caps) ? (hosted.find(isFp16) ?? hosted.find(isQ4)) : hosted.find(isQ4);
}
