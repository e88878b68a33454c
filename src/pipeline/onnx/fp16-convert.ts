/**
 * float32 -> float16 conversion of an ONNX graph (in the spirit of onnxconverter-common's
 * float16 conversion), pure TypeScript for the worker and Node.
 *
 * The graph file is converted here in one piece (graph files of external-data models are small;
 * inline ones are below protobuf's 2 GB). Its external data is only *planned* here: the layout
 * of each converted external data file comes back with the graph, and fp16-external-data.ts
 * converts the bytes as a stream, tensor by tensor, from any resume point.
 *
 * What stays float32, with Cast nodes at its edges:
 *  - inputs that are parameters rather than data (Resize's roi and scales, Upsample's scales),
 *    including when a Constant node or an initializer feeds them;
 *  - operators without a float16 kernel on the WebGPU EP (or on the CPU it would fall back to),
 *    and operators kept for accuracy (Sin/Cos of the timestep embedding: angles reach 999 rad,
 *    where float16 resolves 0.5), together with the nodes that only feed them;
 *  - with `keepFloat32Io`, the graph's inputs and outputs.
 * Everything else float32 becomes float16: initializers, Constant values, value types, Cast
 * targets and the dtype attributes of generator operators.
 */
import { decodeModelToEdit } from './inspect.ts';
import { unknownModelFields } from './known-fields.ts';
import { convertFloat32Bytes, convertFloat32Values } from './fp16-values.ts';
import {
  planExternalFiles,
  type ExternalFileLayout,
  type ExternalTensorPlan,
} from './fp16-external-data.ts';
import { FLOAT, FLOAT16, attribute, inferElementTypes } from './fp16-types.ts';
import { tensorBytes } from './tensor-sizes.ts';
import {
  AttributeType,
  DataLocation,
  ModelProto,
  int64ToNumber,
  type Node,
  type Tensor,
} from './schema.ts';

/** Inputs (by index) that are float32 parameters whatever the data's type. */
export const FLOAT32_PARAMETER_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Resize: [1, 2],
  Upsample: [1],
};

/**
 * Operators kept float32 by default, as "domain:op" (see operatorTypes). Range and the random
 * generators have no float16 kernel on onnxruntime's CPU EP, where the WebGPU EP places the
 * operators it does not implement; Sin and Cos are kept for accuracy (module comment).
 */
export const DEFAULT_FLOAT32_OPERATORS: readonly string[] = [
  'ai.onnx:Sin',
  'ai.onnx:Cos',
  'ai.onnx:Range',
  'ai.onnx:RandomNormal',
  'ai.onnx:RandomUniform',
  'ai.onnx:RandomNormalLike',
  'ai.onnx:RandomUniformLike',
];

/** Inputs that take any element type (no Cast is needed in front of them). */
const ANY_TYPE_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Cast: [0],
  CastLike: [0],
  Shape: [0],
  Size: [0],
};

/** Operators with subgraphs, which this converter does not walk into. */
const SUBGRAPH_OPERATORS = new Set(['If', 'Loop', 'Scan']);

export interface Float16Options {
  /** Keep the graph's float inputs and outputs float32 (Cast nodes inside). Default: false. */
  keepFloat32Io?: boolean;
  /** Operators ("domain:op") to keep float32; default {@link DEFAULT_FLOAT32_OPERATORS}. */
  float32Operators?: readonly string[];
}

export interface Float16Report {
  /** Tensors (initializers and Constant values) converted to float16. */
  float16Tensors: number;
  /** Float tensors kept float32 (they feed only float32 inputs). */
  float32Tensors: string[];
  /** Nodes computed in float32. */
  float32Nodes: string[];
  /** Cast nodes added. */
  castNodes: number;
  /** Inline values clamped to ±65504 (external data counts its own as it streams). */
  clampedValues: number;
}

export interface Float16Conversion {
  /** The converted graph file. */
  model: Uint8Array;
  /** How each external data file of the output is made from the source's (same names). */
  externalFiles: ExternalFileLayout[];
  report: Float16Report;
}

type Precision = 16 | 32;

interface Use {
  node: Node;
  index: number;
}

/** Converts an fp32 ONNX graph file to fp16 (see the module comment). */
export function convertModelToFloat16(
  modelBytes: Uint8Array,
  options: Float16Options = {},
): Float16Conversion {
  const unknown = unknownModelFields(modelBytes);
  if (unknown.length) {
    throw new Error(
      `The fp16 converter cannot keep every part of this model (unsupported fields ${unknown.join(', ')}).`,
    );
  }
  // Its own copy: the conversion rewrites the model in place.
  const model = decodeModelToEdit(modelBytes);
  const graph = model.graph;
  const nodes = graph.node ?? [];
  const subgraphs = nodes.filter((n) => SUBGRAPH_OPERATORS.has(n.opType ?? ''));
  if (subgraphs.length) {
    throw new Error(
      `The fp16 converter does not convert subgraphs (${subgraphs[0]!.opType} node).`,
    );
  }
  const ioPrecision: Precision = options.keepFloat32Io ? 32 : 16;
  const float32Operators = new Set(options.float32Operators ?? DEFAULT_FLOAT32_OPERATORS);

  const types = inferElementTypes(graph);
  const isFloat = (name: string) => name !== '' && types.get(name) === FLOAT;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const constantOutputs = new Map<string, Node>();
  const producer = new Map<string, Node>();
  const uses = new Map<string, Use[]>();
  for (const node of nodes) {
    for (const out of node.output ?? []) producer.set(out, node);
    if (node.opType === 'Constant' && !node.domain)
      constantOutputs.set(node.output?.[0] ?? '', node);
    (node.input ?? []).forEach((name, index) => {
      if (name) uses.set(name, [...(uses.get(name) ?? []), { node, index }]);
    });
  }
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));

  // Nodes computed in float32: the listed operators, then (to a fixed point) every producer
  // whose float outputs go only to float32 nodes, so an fp32 island starts at fp32 sources.
  const float32Nodes = new Set<Node>(
    nodes.filter(
      (n) =>
        n.opType !== 'Constant' && float32Operators.has(`${n.domain || 'ai.onnx'}:${n.opType}`),
    ),
  );
  const pending = [...float32Nodes];
  while (pending.length) {
    const node = pending.pop()!;
    for (const name of node.input ?? []) {
      const source = producer.get(name);
      if (!source || !isFloat(name) || float32Nodes.has(source) || source.opType === 'Constant')
        continue;
      const floatOutputs = (source.output ?? []).filter(isFloat);
      const onlyFeedsFloat32 = floatOutputs.every(
        (out) =>
          !graphOutputs.has(out) &&
          (uses.get(out) ?? []).every((use) => float32Nodes.has(use.node)),
      );
      if (onlyFeedsFloat32) {
        float32Nodes.add(source);
        pending.push(source);
      }
    }
  }

  /** The precision an input slot needs; null when it takes any. */
  const slotPrecision = (use: Use): Precision | null => {
    const op = use.node.domain ? '' : (use.node.opType ?? '');
    if (ANY_TYPE_INPUTS[op]?.includes(use.index)) return null;
    if (float32Nodes.has(use.node) || FLOAT32_PARAMETER_INPUTS[op]?.includes(use.index)) return 32;
    return 16;
  };

  // The precision each float value has after conversion.
  const precision = new Map<string, Precision>();
  const graphInputNames = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  for (const name of types.keys()) {
    if (!isFloat(name)) continue;
    if (initializers.has(name) || constantOutputs.has(name)) {
      // A float tensor stays float32 only when nothing that uses it wants float16.
      const wanted = (uses.get(name) ?? []).map(slotPrecision);
      if (graphOutputs.has(name)) wanted.push(ioPrecision);
      precision.set(name, wanted.some((p) => p === 16) || wanted.length === 0 ? 16 : 32);
    } else if (graphInputNames.has(name)) {
      precision.set(name, ioPrecision);
    } else {
      const source = producer.get(name);
      precision.set(name, source && float32Nodes.has(source) ? 32 : 16);
    }
  }

  const names = new Set<string>([...types.keys(), ...nodes.map((n) => n.name ?? '')]);
  const fresh = (hint: string) => {
    let name = hint;
    for (let i = 1; names.has(name); i++) name = `${hint}_${i}`;
    names.add(name);
    return name;
  };
  let castNodes = 0;
  const castNode = (input: string, output: string, to: Precision): Node => {
    castNodes++;
    return {
      name: fresh(`fp16_convert/Cast_${output}`),
      opType: 'Cast',
      domain: '',
      input: [input],
      output: [output],
      attribute: [{ name: 'to', type: AttributeType.INT, i: to === 16 ? FLOAT16 : FLOAT }],
    };
  };

  // Graph outputs whose precision differs from the I/O precision: the producer writes an inner
  // value, and a Cast at the end writes the output under its own name.
  const tail: Node[] = [];
  for (const output of graph.output ?? []) {
    const name = output.name ?? '';
    if (!isFloat(name) || precision.get(name) === ioPrecision) continue;
    const source = producer.get(name);
    if (!source || constantOutputs.has(name)) {
      throw new Error(
        `The fp16 converter cannot retype graph output ${name} (not computed by a node).`,
      );
    }
    const inner = fresh(`${name}_fp${precision.get(name)}`);
    source.output = (source.output ?? []).map((o) => (o === name ? inner : o));
    for (const use of uses.get(name) ?? []) use.node.input![use.index] = inner;
    precision.set(inner, precision.get(name)!);
    precision.set(name, ioPrecision);
    uses.set(inner, uses.get(name) ?? []);
    tail.push(castNode(inner, name, ioPrecision));
  }

  // Cast nodes in front of the inputs that need the other precision, one per value and target,
  // placed just before the first node that needs it (so the order stays topological).
  const casts = new Map<string, string>();
  const converted: Node[] = [];
  for (const node of nodes) {
    const inputs = node.input ?? [];
    inputs.forEach((name, index) => {
      const has = precision.get(name);
      const wants = has === undefined ? null : slotPrecision({ node, index });
      if (has === undefined || wants === null || wants === has) return;
      const key = `${name}\u0000${wants}`;
      let cast = casts.get(key);
      if (!cast) {
        cast = fresh(`${name}_fp${wants}`);
        casts.set(key, cast);
        converted.push(castNode(name, cast, wants));
      }
      inputs[index] = cast;
    });
    if (!float32Nodes.has(node)) retypeNodeAttributes(node, precision);
    converted.push(node);
  }
  graph.node = [...converted, ...tail];

  // Value types.
  const retype = (name: string | undefined, elemType: number | undefined) => {
    if (elemType !== FLOAT || !name) return elemType;
    return precision.get(name) === 16 ? FLOAT16 : FLOAT;
  };
  for (const list of [graph.input, graph.output, graph.valueInfo]) {
    for (const value of list ?? []) {
      const tensorType = value.type?.tensorType;
      if (tensorType) tensorType.elemType = retype(value.name, tensorType.elemType);
    }
  }

  // Tensors: inline ones converted here, external ones planned.
  let float16Tensors = 0;
  let clampedValues = 0;
  const float32Tensors: string[] = [];
  const external: Array<{ tensor: Tensor; plan: ExternalTensorPlan }> = [];
  const visitTensor = (tensor: Tensor, valueName: string) => {
    const toHalf = tensor.dataType === FLOAT && precision.get(valueName) === 16;
    if (tensor.dataType === FLOAT) {
      if (toHalf) float16Tensors++;
      else float32Tensors.push(valueName);
    }
    if (tensor.dataLocation === DataLocation.EXTERNAL) {
      external.push({ tensor, plan: externalPlan(tensor, toHalf) });
      if (toHalf) tensor.dataType = FLOAT16;
      return;
    }
    if (toHalf) clampedValues += convertInlineTensor(tensor);
  };
  for (const tensor of graph.initializer ?? []) visitTensor(tensor, tensor.name ?? '');
  for (const [name, node] of constantOutputs) {
    const value = node.attribute?.[0];
    if (value?.t) visitTensor(value.t, name);
  }

  const externalFiles = planExternalFiles(external.map((e) => e.plan));
  const segmentOf = new Map(
    externalFiles.flatMap((file) =>
      file.segments.map(
        (s) => [`${file.location}\u0000${s.sourceStart}\u0000${s.sourceEnd}`, s] as const,
      ),
    ),
  );
  for (const { tensor, plan } of external) {
    const segment = segmentOf.get(
      `${plan.location}\u0000${plan.offset}\u0000${plan.offset + plan.length}`,
    )!;
    tensor.externalData = [
      { key: 'location', value: plan.location },
      { key: 'offset', value: String(segment.outputStart) },
      { key: 'length', value: String(segment.outputEnd - segment.outputStart) },
    ];
  }

  const bytes = ModelProto.encode(model).finish();
  return {
    model: bytes,
    externalFiles,
    report: {
      float16Tensors,
      float32Tensors,
      float32Nodes: nodes.filter((n) => float32Nodes.has(n)).map((n) => n.name || n.opType || ''),
      castNodes,
      clampedValues,
    },
  };
}

/** Cast targets and dtype attributes of a node computed in float16. */
function retypeNodeAttributes(node: Node, precision: Map<string, Precision>): void {
  const op = node.domain ? '' : node.opType;
  const output = node.output?.[0] ?? '';
  if (precision.get(output) !== 16) return;
  if (op === 'Cast') {
    const to = attribute(node, 'to');
    if (to && int64ToNumber(to.i) === FLOAT) to.i = FLOAT16;
  } else if (op === 'ConstantOfShape') {
    const value = attribute(node, 'value');
    if (value?.t) {
      convertInlineTensor(value.t);
    } else {
      // Without a value the operator makes float32 zeros; say float16 zeros instead.
      node.attribute = [
        ...(node.attribute ?? []),
        {
          name: 'value',
          type: AttributeType.TENSOR,
          t: { dims: [1], dataType: FLOAT16, rawData: new Uint8Array(2) },
        },
      ];
    }
  } else if (op === 'EyeLike' || op === 'RandomNormalLike' || op === 'RandomUniformLike') {
    const dtype = attribute(node, 'dtype');
    if (dtype && int64ToNumber(dtype.i) === FLOAT) dtype.i = FLOAT16;
  } else if (op === 'Constant') {
    const value = node.attribute?.[0];
    if (value?.name === 'value_float' || value?.name === 'value_floats') {
      const values = value.name === 'value_float' ? [value.f ?? 0] : (value.floats ?? []);
      const rawData = new Uint8Array(values.length * 2);
      convertFloat32Values(values, rawData);
      node.attribute = [
        {
          name: 'value',
          type: AttributeType.TENSOR,
          t: {
            dims: value.name === 'value_float' ? [] : [values.length],
            dataType: FLOAT16,
            rawData,
          },
        },
      ];
    }
  }
}

/** An inline float32 tensor made float16 in place; returns the clamp count. */
function convertInlineTensor(tensor: Tensor): number {
  if (tensor.dataType !== FLOAT) return 0;
  const count = (tensor.dims ?? []).reduce<number>((n, d) => n * int64ToNumber(d), 1);
  const half = new Uint8Array(count * 2);
  let clamped: number;
  if (tensor.rawData && tensor.rawData.byteLength) {
    clamped = convertFloat32Bytes(tensor.rawData, half);
  } else {
    clamped = convertFloat32Values(tensor.floatData ?? [], half).clamped;
  }
  tensor.dataType = FLOAT16;
  tensor.rawData = half;
  tensor.floatData = [];
  return clamped;
}

function externalPlan(tensor: Tensor, toHalf: boolean): ExternalTensorPlan {
  const entry = (key: string) => tensor.externalData?.find((e) => e.key === key)?.value;
  const location = entry('location');
  if (!location)
    throw new Error(`ONNX tensor ${tensor.name ?? '(unnamed)'} is external but has no location.`);
  const length = entry('length') === undefined ? tensorBytes(tensor) : Number(entry('length'));
  const offset = Number(entry('offset') ?? 0);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new Error(
      `ONNX tensor ${tensor.name}: bad external data offset/length ${offset}/${length}`,
    );
  }
  return { name: tensor.name ?? '', location, offset, length, toHalf };
}
