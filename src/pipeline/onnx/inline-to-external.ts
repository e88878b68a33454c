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
 * data is resolved). Everything else is copied byte for byte. The data file is described as
 * ranges of the input at offsets aligned like onnx's (4096), never copied: views of a graph in
 * memory, or slices of a stored graph's Blob. Only field headers and the kept fields are read,
 * so a stored 1.97 GB graph becomes a few MB of graph and a Blob of references to its bytes.
 */
import protobuf from 'protobufjs/light';

const LENGTH_DELIMITED = 2;
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const EXTERNAL = 1;

/** Reads byte ranges of a graph file: an in-memory buffer, or a Blob read window by window. */
export interface ByteRangeReader {
  readonly size: number;
  /** Bytes [start, end) of the file. */
  read(start: number, end: number): Promise<Uint8Array>;
}

/** A piece of the external data file: a range of the input graph, or zero padding. */
export type DataPart = { from: number; to: number } | { zeros: number };

export interface InlineToExternalResult {
  /** The rewritten graph (the whole input when nothing moved). */
  model: Uint8Array;
  /** The external data file as ranges of the input and zero padding, in order. */
  dataParts: DataPart[];
  dataBytes: number;
  movedTensors: number;
}

export interface InlineToExternalOptions {
  minBytes?: number;
  alignment?: number;
}

/** The input's ranges, as views (no copy). */
export function bytesRangeReader(bytes: Uint8Array): ByteRangeReader {
  return {
    size: bytes.byteLength,
    read: (start, end) => Promise.resolve(bytes.subarray(start, end)),
  };
}

/**
 * A Blob's ranges, small ones served from a window read ahead (field headers come a few bytes
 * at a time). Returned bytes are copies, so a kept piece never pins a whole window.
 */
export function blobRangeReader(blob: Blob, windowBytes = 64 * 1024): ByteRangeReader {
  let windowStart = 0;
  let window = new Uint8Array(0);
  const readBlob = async (start: number, end: number) =>
    new Uint8Array(await blob.slice(start, end).arrayBuffer());
  return {
    size: blob.size,
    read: async (start, end) => {
      if (start < windowStart || end > windowStart + window.byteLength) {
        if (end - start >= windowBytes) return readBlob(start, end);
        windowStart = start;
        window = await readBlob(start, Math.min(blob.size, start + windowBytes));
      }
      return window.slice(start - windowStart, end - windowStart);
    },
  };
}

/** The external data file's bytes: the moved ranges of `graph` between zero padding. */
export function externalDataBlob(graph: Blob | Uint8Array, parts: DataPart[]): Blob {
  return new Blob(
    parts.map((part) => {
      if ('zeros' in part) return new Uint8Array(part.zeros);
      return graph instanceof Blob
        ? graph.slice(part.from, part.to) // a reference to the stored bytes, not a copy
        : (graph.subarray(part.from, part.to) as Uint8Array<ArrayBuffer>);
    }),
  );
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

/** A field of a message: its number and wire type, where it starts, its body and its end. */
interface Field {
  number: number;
  wire: number;
  start: number;
  bodyStart: number;
  end: number;
}

/** Enough bytes for a tag and a length (two varints of at most 10 bytes each). */
const HEADER_BYTES = 20;

async function fieldAt(reader: ByteRangeReader, start: number, limit: number): Promise<Field> {
  const head = await reader.read(start, Math.min(limit, start + HEADER_BYTES));
  const r = protobuf.Reader.create(head);
  const tag = r.uint32();
  const wire = tag & 7;
  if (wire === LENGTH_DELIMITED) {
    const length = r.uint32();
    return {
      number: tag >>> 3,
      wire,
      start,
      bodyStart: start + r.pos,
      end: start + r.pos + length,
    };
  }
  if (wire === 3 || wire === 4) throw new Error('uses protobuf groups, which ONNX never writes');
  const bodyStart = start + r.pos;
  r.skipType(wire);
  return { number: tag >>> 3, wire, start, bodyStart, end: start + r.pos };
}

async function* fieldsOf(reader: ByteRangeReader, start: number, end: number) {
  for (let pos = start; pos < end;) {
    const field = await fieldAt(reader, pos, end);
    if (field.end > end) throw new Error(`a field at byte ${pos} runs past its message`);
    yield field;
    pos = field.end;
  }
}

export async function moveInitializersToExternal(
  input: ByteRangeReader,
  location: string,
  options: InlineToExternalOptions = {},
): Promise<InlineToExternalResult> {
  const minBytes = options.minBytes ?? 1024;
  const alignment = options.alignment ?? 4096;
  const dataParts: DataPart[] = [];
  let dataBytes = 0;
  let movedTensors = 0;

  /** The tensor without raw_data, pointing at the data file; null when it stays inline. */
  const moveTensor = async (start: number, end: number): Promise<Uint8Array | null> => {
    const kept: Uint8Array[] = [];
    let raw: Field | null = null;
    for await (const field of fieldsOf(input, start, end)) {
      if (field.number === TENSOR_RAW_DATA && field.wire === LENGTH_DELIMITED) {
        raw = field; // not read: its bytes stay where they are
        continue;
      }
      if (field.number === TENSOR_DATA_LOCATION || field.number === TENSOR_EXTERNAL_DATA) {
        return null;
      }
      kept.push(await input.read(field.start, field.end));
    }
    const rawBytes = raw ? raw.end - raw.bodyStart : 0;
    if (raw === null || rawBytes < minBytes) return null;
    const offset = Math.ceil(dataBytes / alignment) * alignment;
    if (offset > dataBytes) dataParts.push({ zeros: offset - dataBytes });
    dataParts.push({ from: raw.bodyStart, to: raw.end });
    dataBytes = offset + rawBytes;
    movedTensors++;
    const writer = protobuf.Writer.create();
    for (const [key, value] of [
      ['location', location],
      ['offset', String(offset)],
      ['length', String(rawBytes)],
    ] as const) {
      writer.uint32((TENSOR_EXTERNAL_DATA << 3) | LENGTH_DELIMITED).fork();
      writer.uint32((1 << 3) | LENGTH_DELIMITED).string(key);
      writer.uint32((2 << 3) | LENGTH_DELIMITED).string(value);
      writer.ldelim();
    }
    writer.uint32(TENSOR_DATA_LOCATION << 3).int32(EXTERNAL);
    return concat([...kept, writer.finish()]);
  };

  /**
   * Copies the message in [start, end), replacing its length-delimited `number` fields through
   * `visit`; null when nothing was replaced. Runs of unchanged fields are read as one range.
   */
  const rewrite = async (
    start: number,
    end: number,
    number: number,
    visit: (bodyStart: number, bodyEnd: number) => Promise<Uint8Array | null>,
  ): Promise<Uint8Array | null> => {
    const pieces: Uint8Array[] = [];
    let copiedUpTo = start;
    let changed = false;
    for await (const field of fieldsOf(input, start, end)) {
      if (field.number !== number || field.wire !== LENGTH_DELIMITED) continue;
      const replaced = await visit(field.bodyStart, field.end);
      if (replaced === null) continue;
      changed = true;
      pieces.push(await input.read(copiedUpTo, field.start), ...frame(number, replaced));
      copiedUpTo = field.end;
    }
    if (!changed) return null;
    pieces.push(await input.read(copiedUpTo, end));
    return concat(pieces);
  };

  const rewritten = await rewrite(0, input.size, MODEL_GRAPH, (graphStart, graphEnd) =>
    rewrite(graphStart, graphEnd, GRAPH_INITIALIZER, moveTensor),
  );
  return {
    model: rewritten ?? (await input.read(0, input.size)),
    dataParts,
    dataBytes,
    movedTensors,
  };
}
