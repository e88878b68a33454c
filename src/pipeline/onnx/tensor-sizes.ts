/**
 * How many bytes an ONNX graph's weights take, read from the tensor headers (dims and data
 * type) without touching the data, so it works the same for inline and external weights.
 */
import { decodeModel } from './inspect.ts';
import { int64ToNumber, type Tensor } from './schema.ts';

/** Bits per element of onnx.TensorProto.DataType (4-bit types pack two to a byte). */
const BITS_PER_ELEMENT: Record<number, number> = {
  1: 32, // FLOAT
  2: 8, // UINT8
  3: 8, // INT8
  4: 16, // UINT16
  5: 16, // INT16
  6: 32, // INT32
  7: 64, // INT64
  9: 8, // BOOL
  10: 16, // FLOAT16
  11: 64, // DOUBLE
  12: 32, // UINT32
  13: 64, // UINT64
  16: 16, // BFLOAT16
  21: 4, // UINT4
  22: 4, // INT4
};

export function tensorBytes(tensor: Tensor): number {
  const elements = (tensor.dims ?? []).reduce<number>((n, d) => n * int64ToNumber(d), 1);
  const bits = BITS_PER_ELEMENT[tensor.dataType ?? 0] ?? 32;
  return Math.ceil((elements * bits) / 8);
}

export interface WeightSizes {
  totalBytes: number;
  largest: { name: string; bytes: number } | null;
}

/** The graph's initializers: their total size and the largest one (one GPU buffer each). */
export function weightSizes(modelBytes: Uint8Array): WeightSizes {
  let totalBytes = 0;
  let largest: WeightSizes['largest'] = null;
  for (const tensor of decodeModel(modelBytes).graph.initializer ?? []) {
    const bytes = tensorBytes(tensor);
    totalBytes += bytes;
    if (!largest || bytes > largest.bytes) largest = { name: tensor.name ?? '(unnamed)', bytes };
  }
  return { totalBytes, largest };
}
