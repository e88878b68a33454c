/**
 * The benchmarks' default model: the tiny fp32 test model set, written here when it is missing
 * or was written by an older generator, so `npm run bench` works on a fresh clone after `npm ci`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GENERATOR_VERSION, writeModelSet } from '../scripts/test-model/write-model-set.ts';
import { MODEL_FILES } from '../src/pipeline/model-layout.ts';

export const DEFAULT_BENCH_MODEL_DIR = path.resolve(
  import.meta.dirname,
  '../.test-models/tiny-fp32',
);

function writtenVersion(dir: string): number | undefined {
  const marker = path.join(dir, 'test-model.json');
  if (!existsSync(marker)) return undefined;
  try {
    return (JSON.parse(readFileSync(marker, 'utf8')) as { version?: number }).version;
  } catch {
    return undefined;
  }
}

/** Writes the tiny fp32 model set to `dir` unless an up-to-date one is already there. */
export function ensureTinyTestModel(dir: string = DEFAULT_BENCH_MODEL_DIR): string {
  // The TAESDXL file joined the set without a version bump (the other files are unchanged).
  if (writtenVersion(dir) !== GENERATOR_VERSION || !existsSync(path.join(dir, MODEL_FILES.taesd))) {
    console.log(`writing the tiny fp32 test model set to ${dir}`);
    writeModelSet(dir, 'fp32');
  }
  return dir;
}
