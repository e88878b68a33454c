/**
 * Moves a graph's inline initializers into one external data file, at the protobuf wire level.
 *
 * onnxruntime-web copies a model buffer whole into the wasm heap before it parses it, and that
 * heap never shrinks: a 1.97 GB graph with its weights inline (the webnn q4f16 UNet) takes half
 * of wasm32's 4 GiB for the session's life. With its initializers external, the graph is a few
 * MB and the runtime reads the weights range by range from a Blob, uploading each to the GPU.
 *
 * Only the main graph's initializers with raw_data of at least `minBytes` move (onnx keeps
 * tensors under 1 KB inline, and the runtime's optimizers read small constants before external
 * data is resolved). Everything else is copied byte for byte. The data file's pieces are views
 * into the input (no copy) at offsets aligned like onnx's (4096).
 */
import protobuf from 'protobufjs/light';

const LENGTH_DELIMITED = 2;
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const EXTERNAL = 1;

export interface InlineToExternalResult {
  /** The rewritten graph (the input itself when nothing moved). */
  model: Uint8Array;
  /** The external data file as pieces (views of the input and zero padding), in order. */
  dataPieces: Uint8Array[];
  dataBytes: number;
  movedTensors: number;
}

export interface InlineToExternalOptions {
  minBytes?: number;
  alignment?: number;
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

function frame(field: number, body: Uint8Array): Uint8Array[] {
  return [
    protobuf.Writer.create()
      .uint32((field << 3) | LENGTH_DELIMITED)
      .uint32(body.byteLength)
      .finish(),
    body,
  ];
}

export function moveInitializersToExternal(
  model: Uint8Array,
  location: string,
  options: InlineToExternalOptions = {},
): InlineToExternalResult {
  const minBytes = options.minBytes ?? 1024;
  const alignment = options.alignment ?? 4096;
  const dataPieces: Uint8Array[] = [];
  let dataBytes = 0;
  let movedTensors = 0;

  /** The tensor without raw_data, pointing at the data file; null when it stays inline. */
  const moveTensor = (tensor: Uint8Array): Uint8Array | null => {
    const reader = protobuf.Reader.create(tensor);
    const kept: Uint8Array[] = [];
    let raw: Uint8Array | null = null;
    while (reader.pos < reader.len) {
      const start = reader.pos;
      const tag = reader.uint32();
      if (tag >>> 3 === TENSOR_RAW_DATA && (tag & 7) === LENGTH_DELIMITED) {
        const length = reader.uint32();
        raw = tensor.subarray(reader.pos, reader.pos + length);
        reader.pos += length;
        continue;
      }
      if (tag >>> 3 === TENSOR_DATA_LOCATION || tag >>> 3 === TENSOR_EXTERNAL_DATA) return null;
      reader.skipType(tag & 7);
      kept.push(tensor.subarray(start, reader.pos));
    }
    if (raw === null || raw.byteLength < minBytes) return null;
    const offset = Math.ceil(dataBytes / alignment) * alignment;
    if (offset > dataBytes) dataPieces.push(new Uint8Array(offset - dataBytes));
    dataPieces.push(raw);
    dataBytes = offset + raw.byteLength;
    movedTensors++;
    const writer = protobuf.Writer.create();
    for (const [key, value] of [
      ['location', location],
      ['offset', String(offset)],
      ['length', String(raw.byteLength)],
    ] as const) {
      writer.uint32((TENSOR_EXTERNAL_DATA << 3) | LENGTH_DELIMITED).fork();
      writer.uint32((1 << 3) | LENGTH_DELIMITED).string(key);
      writer.uint32((2 << 3) | LENGTH_DELIMITED).string(value);
      writer.ldelim();
    }
    writer.uint32(TENSOR_DATA_LOCATION << 3).int32(EXTERNAL);
    return concat([...kept, writer.finish()]);
  };

  /** Copies a message, replacing the length-delimited `field` children through `visit`. */
  const rewrite = (
    bytes: Uint8Array,
    field: number,
    visit: (child: Uint8Array) => Uint8Array | null,
  ): Uint8Array | null => {
    const reader = protobuf.Reader.create(bytes);
    const pieces: Uint8Array[] = [];
    let copiedUpTo = 0;
    let changed = false;
    while (reader.pos < reader.len) {
      const start = reader.pos;
      const tag = reader.uint32();
      if (tag >>> 3 !== field || (tag & 7) !== LENGTH_DELIMITED) {
        reader.skipType(tag & 7);
        continue;
      }
      const length = reader.uint32();
      const body = bytes.subarray(reader.pos, reader.pos + length);
      reader.pos += length;
      const replaced = visit(body);
      if (replaced === null) continue;
      changed = true;
      pieces.push(bytes.subarray(copiedUpTo, start), ...frame(field, replaced));
      copiedUpTo = reader.pos;
    }
    if (!changed) return null;
    pieces.push(bytes.subarray(copiedUpTo));
    return concat(pieces);
  };

  const rewritten = rewrite(model, MODEL_GRAPH, (graph) =>
    rewrite(graph, GRAPH_INITIALIZER, moveTensor),
  );
  return { model: rewritten ?? model, dataPieces, dataBytes, movedTensors };
}
