/**
 * Reference images from the Node runner (the same pipeline on onnxruntime-web's wasm backend),
 * and pixel comparison helpers for the browser tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode } from 'fast-png';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const TEST_MODELS_DIR =
  process.env['TEST_MODELS_DIR'] ?? path.join(REPO_ROOT, '.test-models');

export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface ReferenceParams {
  model: string;
  prompt: string;
  seed: number;
  steps: number;
  width?: number;
  height?: number;
  /** Image-to-image: the input PNG and the strength. */
  image?: string;
  strength?: number;
  /** The seeded generator (the runner's default, torch-cpu, when absent). */
  noise?: 'torch-cpu' | 'mulberry32';
}

/** Runs the Node runner's `generate` command (with --image/--strength for image-to-image) and decodes the PNG it writes. */
export function nodeRunnerImage(p: ReferenceParams): RgbaImage {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'ref-')), 'ref.png');
  const args = [
    'tsx',
    'src/cli/main.ts',
    'generate',
    '--model',
    path.join(TEST_MODELS_DIR, p.model),
  ];
  args.push('--prompt', p.prompt, '--seed', String(p.seed), '--steps', String(p.steps));
  args.push('--width', String(p.width ?? 512), '--height', String(p.height ?? 512), '--out', out);
  if (p.image !== undefined) args.push('--image', p.image, '--strength', String(p.strength));
  if (p.noise !== undefined) args.push('--noise', p.noise);
  execFileSync('npx', args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const png = decode(readFileSync(out));
  if (png.channels !== 4 || png.depth !== 8) {
    throw new Error(`unexpected PNG format: ${png.channels} channels, ${png.depth} bit`);
  }
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}

export interface PixelDiff {
  maxAbs: number;
  meanAbs: number;
  /** Share of channel values that differ at all. */
  changedShare: number;
}

export function pixelDiff(a: RgbaImage, b: RgbaImage): PixelDiff {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`size ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  let max = 0;
  let sum = 0;
  let changed = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs((a.data[i] as number) - (b.data[i] as number));
    if (d > max) max = d;
    sum += d;
    if (d > 0) changed++;
  }
  return { maxAbs: max, meanAbs: sum / a.data.length, changedShare: changed / a.data.length };
}
