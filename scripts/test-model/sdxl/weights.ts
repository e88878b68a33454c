/**
 * Fast deterministic weights for the full-size replicas: one xorshift32 step per value
 * (about 2.6 billion values for the UNet), uniform with the requested standard deviation.
 * Each tensor is seeded by its name, so its bytes do not depend on generation order.
 */
import { float32ToHalf } from '../../../src/pipeline/float16.ts';

/** FNV-1a of a string: a stable, non-zero seed per tensor. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0 || 1;
}

/** `count` values uniform in [-√3·std, √3·std) (variance std²), plus `mean`. */
export function uniformFloats(seed: number, count: number, std: number, mean = 0): Float32Array {
  const out = new Float32Array(count);
  const scale = (std * Math.sqrt(3)) / 2147483648;
  let s = seed | 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s * scale + mean;
  }
  return out;
}

/** `count` random bytes (4-bit weights: two uniform nibbles per byte). */
export function randomBytes(seed: number, count: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(count / 4));
  let s = seed | 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  return new Uint8Array(words.buffer, 0, count);
}

/** Little-endian bytes of float32 values (the platform order of typed arrays on x86/ARM). */
export function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Little-endian bytes of float32 values rounded to float16. */
export function float16Bytes(values: Float32Array): Uint8Array {
  const half = float32ToHalf(values);
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}
