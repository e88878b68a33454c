import { float32ToHalf, halfToFloat32 } from './float16.ts';
import type { GraphSession, HostTensor, ValueInfo } from './graph-session.ts';

/** A model file that does not have what the pipeline needs. The message names the graph. */
export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

export function requireInput(session: GraphSession, graph: string, name: string): ValueInfo {
  const info = session.inputs.find((i) => i.name === name);
  if (!info) {
    const have = session.inputs.map((i) => i.name).join(', ');
    throw new ModelFormatError(`${graph} has no input "${name}" (it has: ${have})`);
  }
  return info;
}

export function requireOutput(session: GraphSession, graph: string, name: string): ValueInfo {
  const info = session.outputs.find((o) => o.name === name);
  if (!info) {
    const have = session.outputs.map((o) => o.name).join(', ');
    throw new ModelFormatError(`${graph} has no output "${name}" (it has: ${have})`);
  }
  return info;
}

/** The float input as the graph declares it: float32 as is, float16 converted. */
export function floatTensor(
  info: ValueInfo,
  graph: string,
  dims: readonly number[],
  values: Float32Array,
): HostTensor {
  switch (info.type) {
    case 'float32':
      return { type: 'float32', dims, data: values };
    case 'float16':
      return { type: 'float16', dims, data: float32ToHalf(values) };
    default:
      throw new ModelFormatError(
        `${graph} input "${info.name}" has type ${info.type}; expected a float type`,
      );
  }
}

/** Token ids as int32 or int64, whichever the graph declares. */
export function idsTensor(info: ValueInfo, graph: string, ids: readonly number[]): HostTensor {
  const dims = [1, ids.length];
  switch (info.type) {
    case 'int32':
      return { type: 'int32', dims, data: Int32Array.from(ids) };
    case 'int64':
      return { type: 'int64', dims, data: BigInt64Array.from(ids, (id) => BigInt(id)) };
    default:
      throw new ModelFormatError(
        `${graph} input "${info.name}" has type ${info.type}; expected int32 or int64 ids`,
      );
  }
}

/**
 * A number input whose shape differs between exports: a scalar, [1], or [batch].
 * Integer and float timesteps both occur.
 */
export function scalarTensor(info: ValueInfo, graph: string, value: number): HostTensor {
  const dims = info.shape && info.shape.length === 0 ? [] : [1];
  switch (info.type) {
    case 'int64':
      return { type: 'int64', dims, data: BigInt64Array.of(BigInt(Math.round(value))) };
    case 'int32':
      return { type: 'int32', dims, data: Int32Array.of(Math.round(value)) };
    default:
      return floatTensor(info, graph, dims, Float32Array.of(value));
  }
}

export function toFloat32(tensor: HostTensor): Float32Array {
  switch (tensor.type) {
    case 'float32':
      return tensor.data as Float32Array;
    case 'float16':
      return halfToFloat32(tensor.data as Uint16Array);
    default:
      return Float32Array.from(tensor.data as ArrayLike<number>, Number);
  }
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
