/**
 * Writes a GraphBuilder's model to disk tensor by tensor, so a multi-GB replica is never held
 * in memory: at most one initializer's bytes exist at a time.
 *
 * Protobuf lets a message's fields come in any order and a repeated field be split, so the
 * model is the encoding of everything but the graph, then the graph field framed by hand:
 * the graph's own fields without initializers, then one framed TensorProto per initializer
 * (its header fields, then raw_data, or external data entries). Lengths are known before any
 * bytes are produced (each initializer's byteLength), so nothing has to be buffered.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import {
  DataLocation,
  ModelProto,
  TensorDataType,
  type Tensor,
} from '../../src/pipeline/onnx/schema.ts';
import { EXTERNAL_DATA_ALIGNMENT, type GraphBuilder } from './onnx-builder.ts';

/** Initializers smaller than this stay inline (onnx's default size_threshold). */
export const INLINE_THRESHOLD = 1024;

const GraphProto = ModelProto.root.lookupType('onnx.GraphProto');
const TensorProto = ModelProto.root.lookupType('onnx.TensorProto');

/** Wire tags: (field number << 3) | 2 (length-delimited). */
const MODEL_GRAPH_TAG = (7 << 3) | 2;
const GRAPH_INITIALIZER_TAG = (5 << 3) | 2;
const TENSOR_RAW_DATA_TAG = (9 << 3) | 2;

function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Uint8Array.from(bytes);
}

function framed(tag: number, length: number): Uint8Array {
  const len = varint(length);
  const out = new Uint8Array(1 + len.length);
  out[0] = tag;
  out.set(len, 1);
  return out;
}

export interface StreamedModel {
  modelBytes: number;
  dataBytes: number;
}

/**
 * Writes `graph` to `modelPath`; with `externalData` (a file name beside the model), every
 * initializer except int64 ones goes to that file at 4096-aligned offsets, as onnx lays it out.
 */
export function writeModelStreaming(
  graph: GraphBuilder,
  modelPath: string,
  options: { externalData?: { name: string; path: string }; producerVersion?: string } = {},
): StreamedModel {
  const { model, initializers } = graph.parts(options.producerVersion);
  const graphProto = model.graph!;
  const modelWithoutGraph = { ...model, graph: undefined };
  const headerBytes = ModelProto.encode(ModelProto.fromObject(modelWithoutGraph)).finish();
  const graphBytes = GraphProto.encode(GraphProto.fromObject(graphProto)).finish();

  // Plan: each initializer's TensorProto header and where its bytes go.
  let dataEnd = 0;
  const planned = initializers.map((t) => {
    const tensor: Tensor = { name: t.name, dims: t.dims, dataType: t.dataType };
    // Small tensors stay inline as onnx.save_model keeps them (size_threshold=1024):
    // onnxruntime's optimizers read scalar constants before external data is resolved.
    const external =
      options.externalData !== undefined &&
      t.dataType !== TensorDataType.INT64 &&
      t.byteLength >= INLINE_THRESHOLD;
    let offset = 0;
    if (external) {
      offset = Math.ceil(dataEnd / EXTERNAL_DATA_ALIGNMENT) * EXTERNAL_DATA_ALIGNMENT;
      dataEnd = offset + t.byteLength;
      tensor.dataLocation = DataLocation.EXTERNAL;
      tensor.externalData = [
        { key: 'location', value: options.externalData!.name },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(t.byteLength) },
      ];
    }
    const header = TensorProto.encode(TensorProto.fromObject(tensor)).finish();
    const rawFrame = external ? new Uint8Array(0) : framed(TENSOR_RAW_DATA_TAG, t.byteLength);
    const tensorLength = header.length + rawFrame.length + (external ? 0 : t.byteLength);
    return { t, external, offset, header, rawFrame, tensorLength };
  });
  const graphLength = planned.reduce(
    (sum, p) => sum + framed(GRAPH_INITIALIZER_TAG, p.tensorLength).length + p.tensorLength,
    graphBytes.length,
  );

  const modelFd = openSync(modelPath, 'w');
  const dataFd = options.externalData ? openSync(options.externalData.path, 'w') : undefined;
  let modelBytes = 0;
  let dataWritten = 0;
  const writeModel = (bytes: Uint8Array) => {
    let done = 0;
    while (done < bytes.length) done += writeSync(modelFd, bytes, done);
    modelBytes += bytes.length;
  };
  const writeData = (bytes: Uint8Array, offset: number) => {
    let done = 0;
    while (done < bytes.length)
      done += writeSync(dataFd!, bytes, done, bytes.length - done, offset + done);
    dataWritten = Math.max(dataWritten, offset + bytes.length);
  };
  try {
    writeModel(headerBytes);
    writeModel(framed(MODEL_GRAPH_TAG, graphLength));
    writeModel(graphBytes);
    for (const p of planned) {
      writeModel(framed(GRAPH_INITIALIZER_TAG, p.tensorLength));
      writeModel(p.header);
      const bytes = p.t.bytes();
      if (bytes.length !== p.t.byteLength) throw new Error(`${p.t.name}: wrong byte count`);
      if (p.external) {
        writeData(bytes, p.offset);
      } else {
        writeModel(p.rawFrame);
        writeModel(bytes);
      }
    }
  } finally {
    closeSync(modelFd);
    if (dataFd !== undefined) closeSync(dataFd);
  }
  return { modelBytes, dataBytes: dataWritten };
}
