/**
 * Deterministic pseudo-random numbers for the test model's weights. Only integer and basic
 * float arithmetic is used (no Math.log/sin), so the bytes are identical on every platform.
 */
import { mulberry32 } from '../../src/pipeline/random.ts';

/** Approximately standard normal numbers (Irwin-Hall sum of 4 uniforms, unit variance). */
export function normalSource(seed: number): () => number {
  const uniform = mulberry32(seed);
  const scale = Math.sqrt(3);
  return () => (uniform() + uniform() + uniform() + uniform() - 2) * scale;
}

/** `count` normal samples times `std`. */
export function randn(seed: number, count: number, std = 1): Float32Array {
  const next = normalSource(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = next() * std;
  return out;
}
