/**
 * Facts read from the bytes of an .onnx file without creating a session: which external data
 * files it needs and which operators it uses. Pure functions; browser, worker and Node.
 */
import {
  DataLocation,
  ModelProto,
  int64ToNumber,
  type Graph,
  type Model,
  type Tensor,
} from './schema.ts';

export type DecodedModel = Model & { graph: Graph };

/**
 * Decoded models by their bytes: a graph is checked by several modules on its way to a session
 * (inputs, external data, operators, dtypes, buffer limits) and a large graph costs seconds and
 * its own size again to decode, so each byte array is decoded once. The entry lives as long as
 * the bytes do (the loader drops them once the session exists).
 */
const decoded = new WeakMap<Uint8Array, DecodedModel>();
let decodes = 0;

/** How many times model bytes were actually decoded (tests count them). */
export function decodeCount(): number {
  return decodes;
}

/**
 * Decodes an ONNX model, or throws an Error that says why the bytes are not one. The result is
 * shared by every caller with the same bytes: read it, never change it (see decodeModelToEdit).
 */
export function decodeModel(modelBytes: Uint8Array): DecodedModel {
  let model = decoded.get(modelBytes);
  if (!model) {
    model = decodeUncached(modelBytes);
    decoded.set(modelBytes, model);
  }
  return model;
}

/** A decoded model of the caller's own, for code that rewrites it (not cached, not shared). */
export function decodeModelToEdit(modelBytes: Uint8Array): DecodedModel {
  return decodeUncached(modelBytes);
}

function decodeUncached(modelBytes: Uint8Array): DecodedModel {
  decodes++;
  if (modelBytes.length === 0) throw new Error('Not an ONNX model: the file is empty.');
  // Text is checked first: protobuf decoding of an HTML page can "succeed" with garbage.
  const text = recognizeText(modelBytes);
  if (text) throw new Error(`Not an ONNX model: ${text}.`);
  let model: Model;
  try {
    model = ModelProto.decode(modelBytes) as unknown as Model;
  } catch (error) {
    throw new Error(
      `Not an ONNX model: the ${modelBytes.length}-byte file does not decode as one (${errorMessage(error)}).`,
    );
  }
  if (!model.graph || int64ToNumber(model.irVersion) <= 0) {
    throw new Error(
      `Not an ONNX model: the ${modelBytes.length}-byte file has no ${model.graph ? 'IR version' : 'graph'}.`,
    );
  }
  return model as Model & { graph: Graph };
}

/**
 * The external data files the model's tensors point to (`location` of tensors stored with
 * data_location EXTERNAL), distinct, in first-seen order. Empty when all weights are inline.
 */
export function externalDataFiles(modelBytes: Uint8Array | DecodedModel): string[] {
  const files = new Set<string>();
  const model = modelBytes instanceof Uint8Array ? decodeModel(modelBytes) : modelBytes;
  for (const tensor of allTensors(model.graph)) {
    if (tensor.dataLocation !== DataLocation.EXTERNAL) continue;
    const location = tensor.externalData?.find((entry) => entry.key === 'location')?.value;
    if (!location) {
      throw new Error(`ONNX tensor ${tensor.name ?? '(unnamed)'} is external but has no location.`);
    }
    files.add(location);
  }
  return [...files];
}

/**
 * The distinct operators of the model's main graph as "domain:op_type", in first-seen order;
 * the default domain '' is shown as 'ai.onnx' (e.g. 'ai.onnx:Conv', 'com.microsoft:MatMulNBits').
 */
export function operatorTypes(modelBytes: Uint8Array): string[] {
  const ops = new Set<string>();
  for (const node of decodeModel(modelBytes).graph.node ?? []) {
    const domain = node.domain || 'ai.onnx';
    ops.add(`${domain}:${node.opType ?? ''}`);
  }
  return [...ops];
}

/** One input a graph is fed at run time, as its file declares it. */
export interface GraphInput {
  name: string;
  /** onnx.TensorProto.DataType, or null when the file does not say. */
  elemType: number | null;
  /** Each dimension: a number when fixed, its symbolic name, or null; null when no shape. */
  dims: Array<number | string | null> | null;
}

/**
 * The graph's run-time inputs with their declared types and shapes. Initializers that old
 * exports also list as inputs (they have defaults) are left out.
 */
export function graphInputs(modelBytes: Uint8Array | DecodedModel): GraphInput[] {
  const { graph } = modelBytes instanceof Uint8Array ? decodeModel(modelBytes) : modelBytes;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  return (graph.input ?? [])
    .filter((input) => !initializers.has(input.name))
    .map((input) => {
      const tensor = input.type?.tensorType;
      const shape = tensor?.shape;
      return {
        name: input.name ?? '',
        elemType: tensor?.elemType ?? null,
        dims: shape
          ? // protobufjs puts field defaults on the prototype: only own fields were in the file.
            (shape.dim ?? []).map((d) =>
              d.dimParam
                ? d.dimParam
                : Object.hasOwn(d, 'dimValue')
                  ? int64ToNumber(d.dimValue)
                  : null,
            )
          : null,
      };
    });
}

/** Initializers plus tensors held in node attributes (Constant nodes), which may be external. */
function* allTensors(graph: Graph): Generator<Tensor> {
  yield* graph.initializer ?? [];
  for (const node of graph.node ?? []) {
    for (const attribute of node.attribute ?? []) {
      if (attribute.t) yield attribute.t;
      yield* attribute.tensors ?? [];
    }
  }
}

/** What the bytes are when they are text rather than protobuf (an error page, a pointer). */
function recognizeText(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().toLowerCase();
  if (head.startsWith('<')) {
    return 'the file is an HTML or XML page (a wrong URL, or an error or login page?)';
  }
  if (head.startsWith('{') || head.startsWith('[')) return 'the file is JSON';
  if (head.startsWith('version https://git-lfs')) {
    return 'the file is a Git LFS pointer, not the model itself';
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
