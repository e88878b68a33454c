/**
 * The one table of ONNX element types: for each onnx.TensorProto.DataType, its size in bits
 * and its name as an onnxruntime tensor type. Weight sizes, external-data lengths, the
 * test-model builder and error messages all read sizes and names from here, so a type that
 * is added (or a 4-bit type's half byte) is right everywhere at once.
 *
 * Codes and sizes: onnx/onnx.proto, `TensorProto.DataType` (onnx 1.17). Names: the keys of
 * onnxruntime-common's `Tensor.DataTypeMap` (onnxruntime-web 1.30), for the types it has.
 */
import type { Tensor } from 'onnxruntime-web';

interface ElementType {
  /** Bits per element; null for STRING (no fixed size). 4-bit types pack two to a byte. */
  bits: number | null;
  /** The onnxruntime tensor type, where onnxruntime-web has one. */
  ort: Tensor.Type | null;
}

/** By onnx.TensorProto.DataType code. */
const BY_CODE: Readonly<Record<number, ElementType>> = {
  1: { bits: 32, ort: 'float32' }, // FLOAT
  2: { bits: 8, ort: 'uint8' }, // UINT8
  3: { bits: 8, ort: 'int8' }, // INT8
  4: { bits: 16, ort: 'uint16' }, // UINT16
  5: { bits: 16, ort: 'int16' }, // INT16
  6: { bits: 32, ort: 'int32' }, // INT32
  7: { bits: 64, ort: 'int64' }, // INT64
  8: { bits: null, ort: 'string' }, // STRING
  9: { bits: 8, ort: 'bool' }, // BOOL
  10: { bits: 16, ort: 'float16' }, // FLOAT16
  11: { bits: 64, ort: 'float64' }, // DOUBLE
  12: { bits: 32, ort: 'uint32' }, // UINT32
  13: { bits: 64, ort: 'uint64' }, // UINT64
  14: { bits: 64, ort: null }, // COMPLEX64
  15: { bits: 128, ort: null }, // COMPLEX128
  16: { bits: 16, ort: null }, // BFLOAT16
  17: { bits: 8, ort: null }, // FLOAT8E4M3FN
  18: { bits: 8, ort: null }, // FLOAT8E4M3FNUZ
  19: { bits: 8, ort: null }, // FLOAT8E5M2
  20: { bits: 8, ort: null }, // FLOAT8E5M2FNUZ
  21: { bits: 4, ort: 'uint4' }, // UINT4
  22: { bits: 4, ort: 'int4' }, // INT4
  23: { bits: 4, ort: null }, // FLOAT4E2M1
};

/** Bits per element of a TensorProto data type; null when unknown or without a fixed size. */
export function elementBits(dataType: number): number | null {
  return BY_CODE[dataType]?.bits ?? null;
}

/** Bytes of `elements` values of a TensorProto data type (4-bit types round up); null when unknown. */
export function tensorByteLength(dataType: number, elements: number): number | null {
  const bits = elementBits(dataType);
  return bits === null ? null : Math.ceil((elements * bits) / 8);
}

/** The onnxruntime tensor type of a TensorProto data type; null where there is none. */
export function ortTypeOf(dataType: number): Tensor.Type | null {
  return BY_CODE[dataType]?.ort ?? null;
}

/** Bytes per element of an onnxruntime tensor type; null for 'string' and unknown names. */
export function ortElementBytes(type: string): number | null {
  const entry = Object.values(BY_CODE).find((e) => e.ort === type);
  return entry?.bits ? entry.bits / 8 : null;
}
