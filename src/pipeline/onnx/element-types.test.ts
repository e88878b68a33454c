import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { elementBits, ortElementBytes, ortTypeOf, tensorByteLength } from './element-types.ts';
import { TensorDataType } from './schema.ts';

describe('ONNX element types', () => {
  it('gives each onnxruntime type the size of the typed array onnxruntime-web stores it in', () => {
    // Numeric types only: bool is a Uint8Array of one byte per value too, but int4/uint4 pack
    // two values a byte in a one-byte array, so their typed array says nothing of their size.
    const numeric = [
      'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'float16', 'float64',
      'uint32', 'uint64', 'bool',
    ] as const; // prettier-ignore
    for (const type of numeric) {
      // onnxruntime-web builds its own typed array from plain values (bigints for 64-bit
      // integers); float16 takes its bits as a Uint16Array.
      const values =
        type === 'float16'
          ? new Uint16Array(3)
          : type === 'int64' || type === 'uint64'
            ? [0n, 0n, 0n]
            : [0, 0, 0];
      const tensor = new ort.Tensor(type, values as never, [3]);
      const data = tensor.data as unknown as { BYTES_PER_ELEMENT: number };
      expect(ortElementBytes(type), type).toBe(data.BYTES_PER_ELEMENT);
    }
    expect(ortElementBytes('int4')).toBe(0.5);
    expect(ortElementBytes('string')).toBeNull();
    expect(ortElementBytes('not-a-type')).toBeNull();
  });

  it('names the TensorProto codes the schema uses as onnxruntime does', () => {
    expect(ortTypeOf(TensorDataType.FLOAT)).toBe('float32');
    expect(ortTypeOf(TensorDataType.FLOAT16)).toBe('float16');
    expect(ortTypeOf(TensorDataType.INT32)).toBe('int32');
    expect(ortTypeOf(TensorDataType.INT64)).toBe('int64');
    expect(ortTypeOf(TensorDataType.UINT8)).toBe('uint8');
    expect(ortTypeOf(TensorDataType.BOOL)).toBe('bool');
    expect(ortTypeOf(TensorDataType.DOUBLE)).toBe('float64');
    expect(ortTypeOf(16)).toBeNull(); // bfloat16: no onnxruntime-web tensor type
  });

  it('sizes tensors by TensorProto code, 4-bit types rounding up to whole bytes', () => {
    expect(tensorByteLength(TensorDataType.FLOAT16, 5)).toBe(10);
    expect(tensorByteLength(TensorDataType.INT64, 3)).toBe(24);
    expect(tensorByteLength(22, 5)).toBe(3); // INT4: five values in three bytes
    expect(tensorByteLength(15, 2)).toBe(32); // COMPLEX128
    expect(tensorByteLength(8, 2)).toBeNull(); // STRING: no fixed size
    expect(tensorByteLength(999, 2)).toBeNull();
    expect(elementBits(0)).toBeNull(); // UNDEFINED
  });
});
