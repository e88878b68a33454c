/**
 * The user-facing settings that live outside the store: the choices offered by the controls,
 * and the initial model URL / backend read from the address bar (?model=, ?backend=) or from
 * localStorage. Pure functions over strings, so they are testable without a browser.
 */
import type { BackendChoice } from '../protocol/messages';
import type { NoiseGeneratorName } from '../pipeline/noise/noise-generators';
import { DEFAULT_FAMILY } from '../pipeline/families/registry';

/** The default family's step choices (each model family declares its own: families/). */
export const STEP_CHOICES = DEFAULT_FAMILY.steps.choices;
export const DEFAULT_STEPS = DEFAULT_FAMILY.steps.default;

/**
 * Every output size some model family offers (each family lists its own, with its own labels:
 * src/pipeline/families/), all multiples of 64 (the VAE downsamples by 8 and the UNet by
 * another 8). The keys are what the store and history keep; family-choices.test.ts checks
 * that every family size has one.
 */
export const SIZE_CHOICES = {
  '512x512': { width: 512, height: 512, label: '512×512 (native)' },
  '512x768': { width: 512, height: 768, label: '512×768 (portrait)' },
  '768x512': { width: 768, height: 512, label: '768×512 (landscape)' },
  '576x448': { width: 576, height: 448, label: '576×448 (4:3-ish)' },
  '448x576': { width: 448, height: 576, label: '448×576 (3:4-ish)' },
  '640x640': { width: 640, height: 640, label: '640×640' },
  '768x768': { width: 768, height: 768, label: '768×768 (slow)' },
  '1024x1024': { width: 1024, height: 1024, label: '1024×1024' },
  '896x1152': { width: 896, height: 1152, label: '896×1152' },
  '1152x896': { width: 1152, height: 896, label: '1152×896' },
} as const;
export type SizeKey = keyof typeof SIZE_CHOICES;
export const DEFAULT_SIZE: SizeKey = '512x512';

export function isSizeKey(value: string): value is SizeKey {
  return Object.hasOwn(SIZE_CHOICES, value);
}

/** The preset for a width and height (e.g. from a history item); null when none matches. */
export function sizeKeyOf(width: number, height: number): SizeKey | null {
  const key = `${width}x${height}`;
  return isSizeKey(key) ? key : null;
}

export const BACKEND_CHOICES: readonly { value: BackendChoice; label: string }[] = [
  { value: 'auto', label: 'Auto (WebGPU when available)' },
  { value: 'webgpu', label: 'WebGPU' },
  { value: 'wasm', label: 'WebAssembly (slow fallback)' },
];

export function isBackendChoice(value: string): value is BackendChoice {
  return value === 'auto' || value === 'webgpu' || value === 'wasm';
}

/** localStorage key of the last model base URL that the user loaded. */
export const MODEL_URL_STORAGE_KEY = 'sdxl-turbo-web:model-url';

export interface UrlParams {
  /** ?model=<base URL>, trimmed; null when absent or blank. */
  modelUrl: string | null;
  /** ?backend=auto|webgpu|wasm; null when absent or not one of those. */
  backend: BackendChoice | null;
}

/** Parses the page's query string (`location.search`, with or without the leading '?'). */
export function parseUrlParams(search: string): UrlParams {
  const params = new URLSearchParams(search);
  const model = params.get('model')?.trim() ?? '';
  const backend = params.get('backend')?.trim().toLowerCase() ?? '';
  return {
    modelUrl: model === '' ? null : model,
    backend: isBackendChoice(backend) ? backend : null,
  };
}

/**
 * The page address with ?model= (and ?backend=, unless auto) set to what was just loaded,
 * keeping every other parameter and the hash, so the link can be shared.
 */
export function withModelParams(href: string, modelUrl: string, backend: BackendChoice): string {
  const url = new URL(href);
  url.searchParams.set('model', modelUrl);
  if (backend === 'auto') url.searchParams.delete('backend');
  else url.searchParams.set('backend', backend);
  return url.href;
}

export interface InitialSettings {
  modelUrl: string;
  backendChoice: BackendChoice;
  /** True when the model came from ?model=: load it as soon as the worker is ready. */
  autoLoad: boolean;
}

/** Minimal Storage surface, so tests can pass a Map-backed fake and private mode can fail. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function readInitialSettings(
  search: string,
  storage: KeyValueStorage | null,
): InitialSettings {
  const params = parseUrlParams(search);
  const backendChoice = params.backend ?? 'auto';
  if (params.modelUrl !== null) return { modelUrl: params.modelUrl, backendChoice, autoLoad: true };
  let stored: string | null = null;
  try {
    stored = storage?.getItem(MODEL_URL_STORAGE_KEY) ?? null;
  } catch {
    // Storage can throw (blocked cookies, some private modes): start empty instead.
  }
  return { modelUrl: stored?.trim() ?? '', backendChoice, autoLoad: false };
}

/**
 * The base URL the worker receives: absolute (the worker's own URL differs from the page's,
 * so a relative URL would resolve against the wrong place) and ending in '/', so that
 * `new URL('unet/model.onnx', base)` stays inside the model folder. Null if not a URL.
 */
export function resolveModelBaseUrl(modelUrl: string, pageHref: string): string | null {
  let url: URL;
  try {
    url = new URL(modelUrl.trim(), pageHref);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

/**
 * Longest prompt sent to the worker. CLIP reads at most 75 tokens (a few hundred characters);
 * beyond this the text only costs tokenizing time, so a pasted book is cut here.
 */
export const MAX_PROMPT_LENGTH = 20_000;

/** C0 controls but tab, line feed and carriage return (whitespace to CLIP), DEL and C1. */
// Matching control characters is the point of this expression.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
/** A surrogate without its partner (a cut emoji): not text, and TextEncoder would say U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The prompt as the model gets it: control characters (NUL, escape sequences, bell...) removed,
 * lone surrogates made U+FFFD, at most MAX_PROMPT_LENGTH characters. Everything else (emoji,
 * right-to-left text and its direction marks, markup) is text and stays as typed.
 */
export function cleanPrompt(prompt: string): string {
  return prompt
    .slice(0, MAX_PROMPT_LENGTH)
    .replace(CONTROL_CHARACTERS, '')
    .replace(LONE_SURROGATE, '\uFFFD');
}

/** The noise generators offered, in the words the control shows (names as in noise-generators.ts). */
export const NOISE_CHOICES: readonly { value: NoiseGeneratorName; label: string }[] = [
  { value: 'torch-cpu', label: 'PyTorch CPU (same seed as diffusers)' },
  { value: 'mulberry32', label: 'mulberry32 (images made before)' },
];
