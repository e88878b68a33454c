/**
 * The generation parameters written into exported PNGs, shared by the app and the Node runner
 * so that both write byte-identical text chunks for the same image.
 *
 * Two tEXt chunks:
 * - `parameters`: the AUTOMATIC1111 text that common tools (A1111/Forge "PNG Info", ComfyUI
 *   loaders, exiftool, Civitai) already read: the prompt on its own line, then
 *   `Steps: 4, Sampler: Euler a, CFG scale: 0, Seed: N, Size: WxH, Model: ...`.
 * - `sdxl-turbo-web`: the same parameters as JSON, for programs that want exact values.
 *
 * PNG tEXt is Latin-1 only. The JSON is written with every non-ASCII character as a \u escape,
 * so it stays exact; in the A1111 text a character outside Latin-1 becomes '?' (the JSON chunk
 * keeps the real prompt).
 */
import type { TextToImageParams } from './text-to-image.ts';
import { UNNAMED_NOISE_GENERATOR, isNoiseGeneratorName } from './noise/noise-generators.ts';

/** What one image was made with, as stored in the PNG and in the history. */
export interface ImageParameters extends TextToImageParams {
  /** A short model name (a hosted build's id, or the folder's last path segment). */
  model: string;
  /** Where the model came from (base URL or directory), when known. */
  modelUrl?: string;
}

export const PARAMETERS_KEYWORD = 'parameters';
export const JSON_KEYWORD = 'sdxl-turbo-web';
/** diffusers' EulerAncestralDiscreteScheduler is what A1111 calls "Euler a". */
export const SAMPLER_NAME = 'Euler a';

/** Latin-1 can carry it; anything else becomes '?'. */
function toLatin1(text: string): string {
  let out = '';
  for (const ch of text) out += ch.codePointAt(0)! <= 0xff ? ch : '?';
  return out;
}

/** JSON with every non-ASCII character escaped, so it survives a Latin-1 chunk unchanged. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A1111-style "parameters" text: the prompt, then one line of `Key: value` pairs. */
export function parametersText(p: ImageParameters): string {
  const fields: [string, string | number][] = [
    ['Steps', p.steps],
    ['Sampler', SAMPLER_NAME],
    // SDXL Turbo runs without classifier-free guidance: A1111 writes that as CFG scale 0.
    ['CFG scale', 0],
    ['Seed', p.seed],
    ...(p.noise !== undefined ? [['Noise', p.noise] as [string, string]] : []),
    ['Size', `${p.width}x${p.height}`],
    ...(p.strength !== undefined ? [['Denoising strength', p.strength] as [string, number]] : []),
    // A1111 quotes values that contain its separators.
    ['Model', /[,:\n"]/.test(p.model) ? JSON.stringify(p.model) : p.model],
  ];
  const line = fields.map(([k, v]) => `${k}: ${v}`).join(', ');
  return toLatin1(`${p.prompt.replace(/\r?\n/g, ' ')}\n${line}`);
}

/** The JSON chunk's object: every field, nothing optional left as `undefined`. */
export function parametersJson(p: ImageParameters): string {
  return asciiJson({
    prompt: p.prompt,
    seed: p.seed,
    ...(p.noise !== undefined ? { noise: p.noise } : {}),
    steps: p.steps,
    width: p.width,
    height: p.height,
    ...(p.strength !== undefined ? { strength: p.strength } : {}),
    sampler: SAMPLER_NAME,
    cfgScale: 0,
    model: p.model,
    ...(p.modelUrl !== undefined ? { modelUrl: p.modelUrl } : {}),
  });
}

/** Both chunks, keyed by keyword, as fast-png's `encode({ text })` takes them. */
export function pngTextChunks(p: ImageParameters): Record<string, string> {
  return { [PARAMETERS_KEYWORD]: parametersText(p), [JSON_KEYWORD]: parametersJson(p) };
}

/** Reads the JSON chunk back; null when missing or not what this app writes. */
export function readParametersChunk(text: Record<string, string>): ImageParameters | null {
  const raw = text[JSON_KEYWORD];
  if (raw === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const int = (x: unknown) => typeof x === 'number' && Number.isInteger(x);
  if (typeof v['prompt'] !== 'string' || typeof v['model'] !== 'string') return null;
  if (!int(v['seed']) || !int(v['steps']) || !int(v['width']) || !int(v['height'])) return null;
  if (v['strength'] !== undefined && typeof v['strength'] !== 'number') return null;
  // A generator this app does not know cannot make the image again: not ours to restore.
  if (v['noise'] !== undefined && !isNoiseGeneratorName(v['noise'])) return null;
  return {
    prompt: v['prompt'],
    seed: v['seed'] as number,
    noise: isNoiseGeneratorName(v['noise']) ? v['noise'] : UNNAMED_NOISE_GENERATOR,
    steps: v['steps'] as number,
    width: v['width'] as number,
    height: v['height'] as number,
    ...(typeof v['strength'] === 'number' ? { strength: v['strength'] } : {}),
    model: v['model'],
    ...(typeof v['modelUrl'] === 'string' ? { modelUrl: v['modelUrl'] } : {}),
  };
}

/**
 * A short model name from its base URL or directory: the last non-empty path segment
 * ("https://host/models/tiny-fp32/" -> "tiny-fp32").
 */
export function modelNameFromLocation(location: string): string {
  const path = location.replace(/[?#].*$/, '');
  const segments = path.split(/[\\/]/).filter((s) => s !== '');
  return segments.at(-1) ?? location;
}
