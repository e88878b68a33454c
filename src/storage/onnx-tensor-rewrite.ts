/**
 * Finds and rewrites the TensorProtos of an ONNX model at the protobuf wire level: every other
 * byte of the model is copied as it is.
 *
 * Why not decode and re-encode with src/pipeline/onnx/schema.ts: that schema is a subset of
 * onnx.proto, and protobufjs drops fields it does not know. A round trip would silently lose
 * subgraphs (If/Loop bodies), local functions, string tensors, sparse initializers, metadata
 * and whatever a newer ONNX adds. Here only the tensors are touched; containers are re-framed
 * only where a tensor inside them changed.
 */
import protobuf from 'protobufjs/light';
import { int64ToNumber, type Int64 } from '../pipeline/onnx/schema.ts';

type MessageKind = 'model' | 'graph' | 'node' | 'attribute' | 'sparse' | 'function' | 'training';

const LENGTH_DELIMITED = 2;

/** Where TensorProtos (and messages holding them) sit, by field number (onnx.proto). */
const CHILDREN: Record<MessageKind, Record<number, MessageKind | 'tensor'>> = {
  // graph, training_info, functions
  model: { 7: 'graph', 20: 'training', 25: 'function' },
  // node, initializer, sparse_initializer
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  // attribute
  node: { 5: 'attribute' },
  // t, g, tensors, graphs, sparse_tensor, sparse_tensors
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  // values, indices
  sparse: { 1: 'tensor', 2: 'tensor' },
  // FunctionProto.node
  function: { 7: 'node' },
  // TrainingInfoProto initialization, algorithm
  training: { 1: 'graph', 2: 'graph' },
};

/** Returns new bytes for a tensor, or null to keep it as it is. */
export type TensorVisitor = (tensor: Uint8Array) => Uint8Array | null;

/** The model with each tensor replaced by what `visit` returns; the same array if none was. */
export function rewriteTensors(model: Uint8Array, visit: TensorVisitor): Uint8Array {
  return rewriteMessage(model, 'model', visit) ?? model;
}

function rewriteMessage(
  bytes: Uint8Array,
  kind: MessageKind,
  visit: TensorVisitor,
): Uint8Array | null {
  const reader = protobuf.Reader.create(bytes);
  const children = CHILDREN[kind];
  const pieces: Uint8Array[] = [];
  let copiedUpTo = 0;
  while (reader.pos < reader.len) {
    const fieldStart = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    const child = children[field];
    if (wireType !== LENGTH_DELIMITED || child === undefined) {
      reader.skipType(wireType);
      continue;
    }
    const length = reader.uint32();
    const body = bytes.subarray(reader.pos, reader.pos + length);
    reader.pos += length;
    const replaced = child === 'tensor' ? visit(body) : rewriteMessage(body, child, visit);
    if (replaced === null) continue;
    pieces.push(bytes.subarray(copiedUpTo, fieldStart));
    pieces.push(protobuf.Writer.create().uint32(tag).uint32(replaced.byteLength).finish());
    pieces.push(replaced);
    copiedUpTo = reader.pos;
  }
  if (pieces.length === 0) return null;
  pieces.push(bytes.subarray(copiedUpTo));
  return concat(pieces);
}

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.byteLength, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.byteLength;
  }
  return out;
}

/** TensorProto.data_location EXTERNAL. */
const EXTERNAL = 1;

export interface ExternalTensorInfo {
  name: string;
  dims: number[];
  dataType: number;
  /** The external_data entries in order (location, offset, length, checksum ...). */
  entries: Array<{ key: string; value: string }>;
}

/** The external-data facts of a TensorProto, or null when its data is inline. */
export function readExternalTensor(tensor: Uint8Array): ExternalTensorInfo | null {
  const reader = protobuf.Reader.create(tensor);
  const info: ExternalTensorInfo = { name: '', dims: [], dataType: 0, entries: [] };
  let location = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 1 && wireType === 0) {
      info.dims.push(int64ToNumber(reader.int64() as unknown as Int64));
    } else if (field === 1 && wireType === LENGTH_DELIMITED) {
      // packed dims (proto2 writers do not pack them, but parsers must accept it)
      const end = reader.uint32() + reader.pos;
      while (reader.pos < end) info.dims.push(int64ToNumber(reader.int64() as unknown as Int64));
    } else if (field === 2 && wireType === 0) {
      info.dataType = reader.int32();
    } else if (field === 8 && wireType === LENGTH_DELIMITED) {
      info.name = reader.string();
    } else if (field === 13 && wireType === LENGTH_DELIMITED) {
      info.entries.push(readEntry(reader.bytes()));
    } else if (field === 14 && wireType === 0) {
      location = reader.int32();
    } else {
      reader.skipType(wireType);
    }
  }
  return location === EXTERNAL ? info : null;
}

function readEntry(bytes: Uint8Array): { key: string; value: string } {
  const reader = protobuf.Reader.create(bytes);
  const entry = { key: '', value: '' };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === ((1 << 3) | LENGTH_DELIMITED)) entry.key = reader.string();
    else if (tag === ((2 << 3) | LENGTH_DELIMITED)) entry.value = reader.string();
    else reader.skipType(tag & 7);
  }
  return entry;
}

/** The tensor with its external_data entries replaced; every other field is kept as it is. */
export function withExternalEntries(
  tensor: Uint8Array,
  entries: ReadonlyArray<{ key: string; value: string }>,
): Uint8Array {
  const reader = protobuf.Reader.create(tensor);
  const pieces: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    reader.skipType(tag & 7);
    if (tag >>> 3 !== 13) pieces.push(tensor.subarray(start, reader.pos));
  }
  const writer = protobuf.Writer.create();
  for (const { key, value } of entries) {
    writer.uint32((13 << 3) | LENGTH_DELIMITED).fork();
    writer.uint32((1 << 3) | LENGTH_DELIMITED).string(key);
    writer.uint32((2 << 3) | LENGTH_DELIMITED).string(value);
    writer.ldelim();
  }
  pieces.push(writer.finish());
  return concat(pieces);
}
