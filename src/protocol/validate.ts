import type {
  BackendChoice,
  GenerateParams,
  InputImage,
  StorageRequest,
  WarmUpSize,
  WorkerRequest,
} from './messages.ts';
import { isNoiseGeneratorName } from '../pipeline/noise/noise-generators.ts';
import { isFamilyId } from '../pipeline/families/registry.ts';

/**
 * Checks a message received by the worker. Anything that is not a well-formed request
 * yields null: the worker logs and ignores it rather than trusting its shape.
 */
/** Requests about stored weights, handled beside the engine (a download runs while generating). */
export function isStorageRequest(request: WorkerRequest): request is StorageRequest {
  return (
    request.type === 'plan-download' ||
    request.type === 'download-model' ||
    request.type === 'download-control' ||
    request.type === 'list-models' ||
    request.type === 'delete-model'
  );
}

export function parseWorkerRequest(data: unknown): WorkerRequest | null {
  if (typeof data !== 'object' || data === null) return null;
  const msg = data as Record<string, unknown>;
  if (typeof msg['id'] !== 'number' || !Number.isSafeInteger(msg['id'])) return null;
  const id = msg['id'];
  switch (msg['type']) {
    case 'load-model': {
      const { baseUrl, backend, family } = msg;
      if (typeof baseUrl !== 'string' || !isBackendChoice(backend)) return null;
      // The user's family choice for a custom URL (absent: recognised from the export).
      if (family !== undefined && !isFamilyId(family)) return null;
      const request: WorkerRequest = {
        type: 'load-model',
        id,
        baseUrl,
        backend,
        ...(family ? { family } : {}),
      };
      if (msg['warmUp'] === undefined) return request;
      const warmUp = parseWarmUpSize(msg['warmUp']);
      return warmUp ? { ...request, warmUp } : null;
    }
    case 'generate': {
      const params = parseParams(msg['params']);
      const live = msg['live'] ?? false;
      if (!params || typeof live !== 'boolean') return null;
      // Preview options (optional): which decoder, and TAESDXL pictures after each step.
      const { decoder, stepPreviews } = msg;
      if (decoder !== undefined && decoder !== 'vae' && decoder !== 'taesd') return null;
      if (stepPreviews !== undefined && typeof stepPreviews !== 'boolean') return null;
      const previews = {
        ...(decoder !== undefined ? { decoder: decoder as 'vae' | 'taesd' } : {}),
        ...(stepPreviews !== undefined ? { stepPreviews } : {}),
      };
      if (msg['image'] === undefined) {
        if (params.strength !== undefined) return null; // strength without an image
        return { type: 'generate', id, params, live, ...previews };
      }
      const image = parseInputImage(msg['image']);
      if (!image || params.strength === undefined) return null;
      return { type: 'generate', id, params, live, image, ...previews };
    }
    case 'cancel':
      return { type: 'cancel', id };
    case 'ping':
      return { type: 'ping', id };
    case 'plan-download':
    case 'download-model': {
      const { baseUrl, storeAsFp16 } = msg;
      if (typeof baseUrl !== 'string') return null;
      if (storeAsFp16 !== undefined && typeof storeAsFp16 !== 'boolean') return null;
      return { type: msg['type'], id, baseUrl, ...(storeAsFp16 ? { storeAsFp16 } : {}) };
    }
    case 'download-control': {
      const { action } = msg;
      if (action !== 'pause' && action !== 'resume' && action !== 'cancel') return null;
      return { type: 'download-control', id, action };
    }
    case 'list-models':
      return { type: 'list-models', id };
    case 'delete-model':
      return typeof msg['modelId'] === 'string'
        ? { type: 'delete-model', id, modelId: msg['modelId'] }
        : null;
    default:
      return null;
  }
}

function isBackendChoice(value: unknown): value is BackendChoice {
  return value === 'auto' || value === 'webgpu' || value === 'wasm';
}

/** Whole positive numbers: width and height multiples of 8 (the VAE's factor), 1-8 steps. */
function parseWarmUpSize(value: unknown): WarmUpSize | null {
  if (typeof value !== 'object' || value === null) return null;
  const { width, height, steps } = value as Record<string, unknown>;
  const side = (n: unknown) => Number.isInteger(n) && (n as number) >= 8 && (n as number) % 8 === 0;
  if (!side(width) || !side(height)) return null;
  if (!Number.isInteger(steps) || (steps as number) < 1 || (steps as number) > 8) return null;
  return { width: width as number, height: height as number, steps: steps as number };
}

function parseParams(value: unknown): GenerateParams | null {
  if (typeof value !== 'object' || value === null) return null;
  const p = value as Record<string, unknown>;
  const { prompt, seed, steps, width, height } = p;
  if (typeof prompt !== 'string') return null;
  for (const n of [seed, steps, width, height])
    if (typeof n !== 'number' || !Number.isFinite(n)) return null;
  const parsed: GenerateParams = {
    prompt,
    seed: seed as number,
    steps: steps as number,
    width: width as number,
    height: height as number,
  };
  if (p['strength'] !== undefined) {
    if (typeof p['strength'] !== 'number' || !Number.isFinite(p['strength'])) return null;
    parsed.strength = p['strength'];
  }
  if (p['noise'] !== undefined) {
    if (!isNoiseGeneratorName(p['noise'])) return null;
    parsed.noise = p['noise'];
  }
  return parsed;
}

/** Largest input image side accepted (the page sends it fitted to the output size). */
export const MAX_INPUT_IMAGE_SIDE = 8192;

function parseInputImage(value: unknown): InputImage | null {
  if (typeof value !== 'object' || value === null) return null;
  const { width, height, pixels, version } = value as Record<string, unknown>;
  for (const side of [width, height]) {
    if (!Number.isInteger(side) || (side as number) < 1 || (side as number) > MAX_INPUT_IMAGE_SIDE)
      return null;
  }
  if (!(pixels instanceof ArrayBuffer)) return null;
  if (pixels.byteLength !== (width as number) * (height as number) * 4) return null;
  if (typeof version !== 'number' || !Number.isSafeInteger(version)) return null;
  return { width: width as number, height: height as number, pixels, version };
}
