/**
 * Bulk float32 -> float16 conversion of little-endian tensor bytes, as the fp16 converter needs
 * it: round to nearest even (subnormals included), NaN and ±Infinity kept, finite values beyond
 * the largest half (±65504) clamped to it and counted rather than turned into infinities (an
 * infinite weight poisons every sum it enters; a clamped one is merely wrong by the excess).
 */
import { float32BitsToHalfBits } from '../float16.ts';

/** float32 bits of 65504, the largest finite float16. */
const HALF_MAX_AS_FLOAT32_BITS = 0x477fe000;
const HALF_MAX_BITS = 0x7bff;
const FLOAT32_INFINITY_BITS = 0x7f800000;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // ONNX raw data is little-endian; typed arrays use the platform's order.
  throw new Error('The fp16 converter needs a little-endian platform.');
}

/** One float32 (as its bits) to float16 bits, clamping finite overflow; `clamped` counts. */
export function clampedHalfBits(bits: number): { half: number; clamped: boolean } {
  const magnitude = bits & 0x7fffffff;
  if (magnitude > HALF_MAX_AS_FLOAT32_BITS && magnitude < FLOAT32_INFINITY_BITS) {
    return { half: ((bits >>> 16) & 0x8000) | HALF_MAX_BITS, clamped: true };
  }
  return { half: float32BitsToHalfBits(bits), clamped: false };
}

/**
 * Converts `source` (float32 little-endian bytes, a multiple of 4 long) into `target`
 * (float16 bytes, half as long). Returns how many values were clamped to ±65504.
 */
export function convertFloat32Bytes(source: Uint8Array, target: Uint8Array): number {
  if (source.byteLength % 4 !== 0 || target.byteLength * 2 !== source.byteLength) {
    throw new Error(
      `fp16 conversion: ${source.byteLength} float32 bytes cannot fill ${target.byteLength} float16 bytes`,
    );
  }
  const count = source.byteLength / 4;
  const words = aligned(source, 4);
  const input = new Uint32Array(words.buffer, words.byteOffset, count);
  const halfBytes = target.byteOffset % 2 === 0 ? target : new Uint8Array(target.byteLength);
  const output = new Uint16Array(halfBytes.buffer, halfBytes.byteOffset, count);
  let clamped = 0;
  for (let i = 0; i < count; i++) {
    const bits = input[i] as number;
    const magnitude = bits & 0x7fffffff;
    if (magnitude > HALF_MAX_AS_FLOAT32_BITS && magnitude < FLOAT32_INFINITY_BITS) {
      output[i] = ((bits >>> 16) & 0x8000) | HALF_MAX_BITS;
      clamped++;
    } else {
      output[i] = float32BitsToHalfBits(bits);
    }
  }
  if (halfBytes !== target) target.set(halfBytes);
  return clamped;
}

/** float32 values (e.g. a TensorProto's float_data) to float16 bytes; returns the clamp count. */
export function convertFloat32Values(
  values: ArrayLike<number>,
  target: Uint8Array,
): { clamped: number } {
  const source = new Uint8Array(Float32Array.from(values).buffer);
  return { clamped: convertFloat32Bytes(source, target) };
}

/** The bytes themselves when their offset suits a typed array of `width`, else a copy. */
function aligned(bytes: Uint8Array, width: number): Uint8Array {
  if (bytes.byteOffset % width === 0) return bytes;
  // A copy by hand: Node's Buffer#slice would return a view at the same offset.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
