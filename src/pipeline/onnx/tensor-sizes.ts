/**
 * How many bytes an ONNX graph's weights take, read from the tensor headers (dims and data
 * type) without touching the data, so it works the same for inline and external weights.
 */
import { decodeModel } from './inspect.ts';
import { tensorByteLength } from './element-types.ts';
import { int64ToNumber, type Tensor } from './schema.ts';

export function tensorBytes(tensor: Tensor): number {
  const elements = (tensor.dims ?? []).reduce<number>((n, d) => n * int64ToNumber(d), 1);
  // A type without a known size counts as 4 bytes an element: this is an estimate, not a read.
  return tensorByteLength(tensor.dataType ?? 0, elements) ?? elements * 4;
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
