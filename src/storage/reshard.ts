/**
 * Re-sharding at load time: a browser cannot hand onnxruntime-web one external data file over
 * about 2 GB (one ArrayBuffer), and one over 4 GiB even computes wrong numbers (DESIGN.md). So
 * a graph whose external data file is larger than the limit is rewritten to point at slices of
 * that file, each under the limit and each holding whole tensors; the loader passes
 * `blob.slice(start, end)` for each slice, which costs nothing until the runtime reads it.
 */
import { tensorByteLength } from '../pipeline/onnx/element-types.ts';
import { GiB } from './byte-units.ts';
import {
  readExternalTensor,
  rewriteTensors,
  withExternalEntries,
  type ExternalTensorInfo,
} from './onnx-tensor-rewrite.ts';

/** Just under 2 GiB: the largest ArrayBuffer some browsers allow is 2^31 - 1 bytes. */
export const DEFAULT_SHARD_LIMIT = 2 * GiB - 1;

/** One external data file the rewritten graph needs: bytes [start, end) of `source`. */
export interface ShardSlice {
  /** The name the rewritten graph uses (its external-data `location`). */
  path: string;
  /** The original external data file. */
  source: string;
  start: number;
  end: number;
}

export interface ReshardResult {
  /** The rewritten graph (the input bytes themselves when nothing needed splitting). */
  model: Uint8Array;
  /** Every external data file of the rewritten graph, in first-use order of their sources. */
  files: ShardSlice[];
  changed: boolean;
}

interface TensorRef {
  name: string;
  location: string;
  offset: number;
  length: number;
}

function entry(info: ExternalTensorInfo, key: string): string | undefined {
  return info.entries.find((e) => e.key === key)?.value;
}

function toRef(info: ExternalTensorInfo): TensorRef {
  const location = entry(info, 'location');
  if (!location)
    throw new Error(`ONNX tensor ${info.name || '(unnamed)'} is external but has no location`);
  const offset = Number(entry(info, 'offset') ?? 0);
  let length = Number(entry(info, 'length') ?? NaN);
  if (entry(info, 'length') === undefined) {
    // No length: the tensor's own size (dims x element size), as onnxruntime computes it.
    const bytes = tensorByteLength(
      info.dataType,
      info.dims.reduce((n, d) => n * d, 1),
    );
    if (bytes === null) {
      throw new Error(
        `ONNX tensor ${info.name}: external, no length, and data type ${info.dataType}`,
      );
    }
    length = bytes;
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new Error(
      `ONNX tensor ${info.name}: bad external data offset/length ${offset}/${length}`,
    );
  }
  return { name: info.name, location, offset, length };
}

/** Every external tensor reference of the model, in file order. */
export function externalTensorRefs(model: Uint8Array): TensorRef[] {
  const refs: TensorRef[] = [];
  rewriteTensors(model, (tensor) => {
    const info = readExternalTensor(tensor);
    if (info) refs.push(toRef(info));
    return null;
  });
  return refs;
}

function refKey(location: string, offset: number, length: number): string {
  return `${location}\u0000${offset}\u0000${length}`;
}

/**
 * Cuts one file into slices of at most `limit` bytes at tensor boundaries: greedy, in offset
 * order, each slice starting at its first tensor (so offsets keep the file's alignment).
 */
function planSlices(location: string, refs: TensorRef[], limit: number) {
  const sorted = [...refs].sort((a, b) => a.offset - b.offset || a.length - b.length);
  const slices: Array<{ start: number; end: number }> = [];
  const sliceOf = new Map<string, number>();
  for (const ref of sorted) {
    if (ref.length > limit) {
      throw new Error(
        `ONNX tensor ${ref.name} in ${location} is ${ref.length} bytes, more than the ${limit}-byte shard limit`,
      );
    }
    const current = slices[slices.length - 1];
    const end = ref.offset + ref.length;
    if (
      current &&
      ref.offset >= current.start &&
      Math.max(current.end, end) - current.start <= limit
    ) {
      current.end = Math.max(current.end, end);
    } else {
      slices.push({ start: ref.offset, end });
    }
    sliceOf.set(refKey(location, ref.offset, ref.length), slices.length - 1);
  }
  return { slices, sliceOf };
}

/**
 * Rewrites `model` so that no external data file it names is larger than `limitBytes`.
 * `fileSizes` gives the size of every external data file (by the name the graph uses).
 */
export function reshardExternalData(
  model: Uint8Array,
  fileSizes: ReadonlyMap<string, number> | Record<string, number>,
  limitBytes = DEFAULT_SHARD_LIMIT,
): ReshardResult {
  const sizes = fileSizes instanceof Map ? fileSizes : new Map(Object.entries(fileSizes));
  const refs = externalTensorRefs(model);
  const byFile = new Map<string, TensorRef[]>();
  for (const ref of refs) {
    const size = sizes.get(ref.location);
    if (size === undefined)
      throw new Error(`ONNX tensor ${ref.name} names ${ref.location}, which was not given`);
    if (ref.offset + ref.length > size) {
      throw new Error(
        `ONNX tensor ${ref.name} reaches past the end of ${ref.location} (${size} bytes)`,
      );
    }
    byFile.set(ref.location, [...(byFile.get(ref.location) ?? []), ref]);
  }

  const files: ShardSlice[] = [];
  const moved = new Map<string, { path: string; offset: number }>();
  for (const [location, fileRefs] of byFile) {
    const size = sizes.get(location)!;
    if (size <= limitBytes) {
      files.push({ path: location, source: location, start: 0, end: size });
      continue;
    }
    const { slices, sliceOf } = planSlices(location, fileRefs, limitBytes);
    slices.forEach((slice, index) =>
      files.push({ path: `${location}.shard${index}`, source: location, ...slice }),
    );
    for (const ref of fileRefs) {
      const index = sliceOf.get(refKey(location, ref.offset, ref.length))!;
      moved.set(refKey(location, ref.offset, ref.length), {
        path: `${location}.shard${index}`,
        offset: ref.offset - slices[index]!.start,
      });
    }
  }
  if (moved.size === 0) return { model, files, changed: false };

  const rewritten = rewriteTensors(model, (tensor) => {
    const info = readExternalTensor(tensor);
    if (!info) return null;
    const ref = toRef(info);
    const target = moved.get(refKey(ref.location, ref.offset, ref.length));
    if (!target) return null;
    const entries = [
      { key: 'location', value: target.path },
      { key: 'offset', value: String(target.offset) },
      { key: 'length', value: String(ref.length) },
      ...info.entries.filter((e) => !['location', 'offset', 'length'].includes(e.key)),
    ];
    return withExternalEntries(tensor, entries);
  });
  return { model: rewritten, files, changed: true };
}

/** Blob or bytes: either can be sliced without copying. */
export type WeightData = Uint8Array | Blob;

function sizeOf(data: WeightData): number {
  return data instanceof Blob ? data.size : data.byteLength;
}

function sliceOf<D extends WeightData>(data: D, start: number, end: number): D {
  return (data instanceof Blob ? data.slice(start, end) : data.subarray(start, end)) as D;
}

/**
 * Wraps a session factory so that external data files larger than `limitBytes` reach it as
 * slices (with the graph rewritten to match); everything else passes through untouched.
 */
export function reshardingSessionFactory<G extends string, D extends WeightData, S>(
  inner: (
    graph: G,
    model: Uint8Array,
    externalData: Array<{ path: string; data: D }>,
  ) => Promise<S>,
  limitBytes = DEFAULT_SHARD_LIMIT,
): (graph: G, model: Uint8Array, externalData: Array<{ path: string; data: D }>) => Promise<S> {
  return async (graph, model, externalData) => {
    if (!externalData.some((file) => sizeOf(file.data) > limitBytes)) {
      return inner(graph, model, externalData);
    }
    const byPath = new Map(externalData.map((file) => [file.path, file.data]));
    const plan = reshardExternalData(
      model,
      new Map(externalData.map((file) => [file.path, sizeOf(file.data)])),
      limitBytes,
    );
    return inner(
      graph,
      plan.model,
      plan.files.map((slice) => ({
        path: slice.path,
        data: sliceOf(byPath.get(slice.source)!, slice.start, slice.end),
      })),
    );
  };
}
