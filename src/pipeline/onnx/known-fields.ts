/**
 * Which parts of an ONNX file the subset schema (schema.ts) does not know. A decode/encode round
 * trip through that schema silently drops unknown fields (subgraphs of If/Loop, model-local
 * functions, string or double tensors, sequence types ...); a converter that rewrites a model
 * that way first asks this module, and refuses a model it would damage.
 */
import protobuf from 'protobufjs/light';

type Kind =
  | 'model'
  | 'graph'
  | 'node'
  | 'attribute'
  | 'tensor'
  | 'valueInfo'
  | 'type'
  | 'tensorType'
  | 'shape'
  | 'dimension'
  | 'leaf';

/** Per message: the field numbers schema.ts knows, each with the kind of message it holds. */
const KNOWN: Record<Exclude<Kind, 'leaf'>, { name: string; fields: Record<number, Kind> }> = {
  model: {
    name: 'ModelProto',
    fields: { 1: 'leaf', 2: 'leaf', 3: 'leaf', 4: 'leaf', 5: 'leaf', 6: 'leaf', 7: 'graph', 8: 'leaf', 14: 'leaf' },
  },
  graph: {
    name: 'GraphProto',
    fields: { 1: 'node', 2: 'leaf', 5: 'tensor', 10: 'leaf', 11: 'valueInfo', 12: 'valueInfo', 13: 'valueInfo' },
  },
  node: {
    name: 'NodeProto',
    fields: { 1: 'leaf', 2: 'leaf', 3: 'leaf', 4: 'leaf', 5: 'attribute', 6: 'leaf', 7: 'leaf' },
  },
  attribute: {
    name: 'AttributeProto',
    fields: { 1: 'leaf', 2: 'leaf', 3: 'leaf', 4: 'leaf', 5: 'tensor', 7: 'leaf', 8: 'leaf', 10: 'tensor', 13: 'leaf', 20: 'leaf' },
  },
  tensor: {
    name: 'TensorProto',
    fields: { 1: 'leaf', 2: 'leaf', 4: 'leaf', 5: 'leaf', 7: 'leaf', 8: 'leaf', 9: 'leaf', 12: 'leaf', 13: 'leaf', 14: 'leaf' },
  },
  valueInfo: { name: 'ValueInfoProto', fields: { 1: 'leaf', 2: 'type', 3: 'leaf' } },
  type: { name: 'TypeProto', fields: { 1: 'tensorType', 6: 'leaf' } },
  tensorType: { name: 'TypeProto.Tensor', fields: { 1: 'leaf', 2: 'shape' } },
  shape: { name: 'TensorShapeProto', fields: { 1: 'dimension' } },
  dimension: { name: 'TensorShapeProto.Dimension', fields: { 1: 'leaf', 2: 'leaf', 3: 'leaf' } },
}; // prettier-ignore

/**
 * The fields of the model that schema.ts would drop, as "Message.field_number", distinct, in
 * first-seen order. Empty when a round trip keeps everything.
 */
export function unknownModelFields(modelBytes: Uint8Array): string[] {
  const found = new Set<string>();
  scan(modelBytes, 'model', found);
  return [...found];
}

function scan(bytes: Uint8Array, kind: Exclude<Kind, 'leaf'>, found: Set<string>): void {
  const { name, fields } = KNOWN[kind];
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    const child = fields[field];
    if (child === undefined) found.add(`${name}.${field}`);
    if (child === undefined || child === 'leaf' || wireType !== 2) {
      reader.skipType(wireType);
      continue;
    }
    const length = reader.uint32();
    scan(bytes.subarray(reader.pos, reader.pos + length), child, found);
    reader.pos += length;
  }
}
