import type { BackendChoice, GenerateParams, WorkerRequest } from './messages.ts';

/**
 * Checks a message received by the worker. Anything that is not a well-formed request
 * yields null: the worker logs and ignores it rather than trusting its shape.
 */
export function parseWorkerRequest(data: unknown): WorkerRequest | null {
  if (typeof data !== 'object' || data === null) return null;
  const msg = data as Record<string, unknown>;
  if (typeof msg['id'] !== 'number' || !Number.isSafeInteger(msg['id'])) return null;
  const id = msg['id'];
  switch (msg['type']) {
    case 'load-model': {
      const { baseUrl, backend } = msg;
      if (typeof baseUrl !== 'string' || !isBackendChoice(backend)) return null;
      return { type: 'load-model', id, baseUrl, backend };
    }
    case 'generate': {
      const params = parseParams(msg['params']);
      const live = msg['live'] ?? false;
      if (!params || typeof live !== 'boolean') return null;
      return { type: 'generate', id, params, live };
    }
    case 'cancel':
      return { type: 'cancel', id };
    default:
      return null;
  }
}

function isBackendChoice(value: unknown): value is BackendChoice {
  return value === 'auto' || value === 'webgpu' || value === 'wasm';
}

function parseParams(value: unknown): GenerateParams | null {
  if (typeof value !== 'object' || value === null) return null;
  const p = value as Record<string, unknown>;
  const { prompt, seed, steps, width, height } = p;
  if (typeof prompt !== 'string') return null;
  for (const n of [seed, steps, width, height])
    if (typeof n !== 'number' || !Number.isFinite(n)) return null;
  return {
    prompt,
    seed: seed as number,
    steps: steps as number,
    width: width as number,
    height: height as number,
  };
}
