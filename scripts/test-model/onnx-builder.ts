/**
 * A small ONNX graph builder for the test model generator: named inputs and outputs, nodes,
 * initializers, and serialization with the weights inline or in one external data file
 * (the layout onnx.save_model(..., save_as_external_data=True) writes).
 */
import {
  AttributeType,
  DataLocation,
  ModelProto,
  TensorDataType,
  type Attribute,
  type Model,
  type Node,
  type Tensor,
  type ValueInfo,
  valueInfo,
} from '../../src/pipeline/onnx/schema.ts';
import { float32ToHalf } from '../../src/pipeline/float16.ts';
import { elementBits } from '../../src/pipeline/onnx/element-types.ts';

export type FloatType = 'fp32' | 'fp16';
/** A dimension: a fixed size or a symbolic name (dim_param). */
export type Dim = number | string;

export const OPSET_VERSION = 17;
export const IR_VERSION = 8;
/** Offsets of tensors in an external data file are multiples of this (as onnx aligns them). */
export const EXTERNAL_DATA_ALIGNMENT = 4096;

type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] };

export const attr = {
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  ints: (value: number[]): AttributeValue => ({ kind: 'ints', value }),
};

interface PendingInitializer {
  name: string;
  dims: number[];
  dataType: number;
  byteLength: number;
  /** The tensor's bytes, produced when serialized (large replicas never hold them all). */
  bytes: () => Uint8Array;
}

/** ONNX element size in bytes, for the types the builder writes (whole bytes only). */
export function elementBytes(dataType: number): number {
  const bits = elementBits(dataType);
  if (bits === null || bits % 8 !== 0) throw new Error(`no element size for ONNX type ${dataType}`);
  return bits / 8;
}

/** Where serialized initializer bytes go: the pieces a streaming writer needs. */
export interface ModelParts {
  /** The model without its initializers (its graph has none). */
  model: Model;
  initializers: ReadonlyArray<Readonly<PendingInitializer>>;
  /** Opset imports, including com.microsoft where a contrib op is used. */
  opsetImport: Model['opsetImport'];
}

function toAttribute(name: string, a: AttributeValue): Attribute {
  switch (a.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.value };
  }
}

function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

function uint16Bytes(values: Uint16Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, values[i]!, true);
  return bytes;
}

function int64Bytes(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
  return bytes;
}

export class GraphBuilder {
  /** ONNX element type of the graph's float tensors (FLOAT or FLOAT16). */
  readonly floatElem: number;
  private readonly nodes: Node[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers: PendingInitializer[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  private readonly domains = new Set<string>();
  /** Trained parameters the network declares (see `countParameters`), for size checks. */
  parameterCount = 0;

  constructor(
    readonly name: string,
    readonly floatType: FloatType,
  ) {
    this.floatElem = floatType === 'fp16' ? TensorDataType.FLOAT16 : TensorDataType.FLOAT;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate tensor name ${name}`);
    this.names.add(name);
    return name;
  }

  private fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.names.has(name));
    return this.claim(name);
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, dims));
    return name;
  }

  /** Declares a graph output; `name` must be produced by a node. */
  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A weight in the graph's float type (converted to float16 for fp16 graphs). */
  weight(name: string, dims: number[], values: ArrayLike<number>): string {
    if (this.floatType === 'fp16') {
      return this.raw(name, dims, TensorDataType.FLOAT16, uint16Bytes(float32ToHalf(values)));
    }
    return this.raw(name, dims, TensorDataType.FLOAT, float32Bytes(values));
  }

  /** A float32 constant whatever the graph's float type (for ops that compute in float32). */
  float32(name: string, dims: number[], values: ArrayLike<number>): string {
    return this.raw(name, dims, TensorDataType.FLOAT, float32Bytes(values));
  }

  int64(name: string, dims: number[], values: ArrayLike<number>): string {
    return this.raw(name, dims, TensorDataType.INT64, int64Bytes(values));
  }

  private raw(name: string, dims: number[], dataType: number, bytes: Uint8Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count * elementBytes(dataType) !== bytes.length)
      throw new Error(`${name}: ${dims} does not match data`);
    this.initializers.push({
      name: this.claim(name),
      dims,
      dataType,
      byteLength: bytes.length,
      bytes: () => bytes,
    });
    return name;
  }

  /**
   * An initializer whose bytes are produced only when the model is written, so that a
   * multi-GB replica is generated tensor by tensor and never held whole.
   */
  lazy(name: string, dims: number[], dataType: number, bytes: () => Uint8Array): string {
    const byteLength = dims.reduce((a, b) => a * b, 1) * elementBytes(dataType);
    this.initializers.push({ name: this.claim(name), dims, dataType, byteLength, bytes });
    return name;
  }

  /** Adds `count` to the network's trained parameters (see `parameterCount`). */
  countParameters(count: number): void {
    this.parameterCount += count;
  }

  /** A node of a contrib domain (com.microsoft); the domain is imported on serialization. */
  domainOp(
    domain: string,
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
  ): string {
    this.domains.add(domain);
    const output = this.fresh(opType);
    this.nodes.push({
      name: `${opType}_node_${this.nodes.length}`,
      opType,
      domain,
      input: inputs,
      output: [output],
      attribute: Object.entries(attributes).map(([k, v]) => toAttribute(k, v)),
    });
    return output;
  }

  /** Number of nodes so far. */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The graph's inputs and outputs as declared. */
  get signature(): { inputs: readonly ValueInfo[]; outputs: readonly ValueInfo[] } {
    return { inputs: this.inputs, outputs: this.outputs };
  }

  /** The model without initializers, and the initializers, for a streaming writer. */
  parts(producerVersion = ''): ModelParts {
    const opsetImport = [
      { domain: '', version: OPSET_VERSION },
      ...[...this.domains].map((domain) => ({ domain, version: 1 })),
    ];
    const model: Model = {
      irVersion: IR_VERSION,
      opsetImport,
      producerName: 'sdxl-turbo-web make-test-model',
      producerVersion,
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: [],
        input: this.inputs,
        output: this.outputs,
      },
    };
    return { model, initializers: this.initializers, opsetImport };
  }

  /**
   * Adds a node; returns its output names. `outputs` names them (graph outputs need fixed
   * names), otherwise they are generated from the op type.
   */
  ops(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    outputs: string[] | number = 1,
  ): string[] {
    const outputNames =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.fresh(opType))
        : outputs.map((n) => this.claim(n));
    this.nodes.push({
      name: `${opType}_node_${this.nodes.length}`,
      opType,
      domain: '',
      input: inputs,
      output: outputNames,
      attribute: Object.entries(attributes).map(([k, v]) => toAttribute(k, v)),
    });
    return outputNames;
  }

  /** Adds a single-output node; returns the output name. */
  op(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    output?: string,
  ): string {
    return this.ops(opType, inputs, attributes, output === undefined ? 1 : [output])[0]!;
  }

  private tanhBounds: [string, string] | undefined;

  /**
   * Tanh of x clipped to [-10, 10] (tanh(10) is 1 in fp32 and fp16). Some WebGPU tanh
   * implementations compute through exp(2x) and give NaN past |x| ~ 44, which the tiny VAE's
   * first layer reaches at one step (latents / 0.13025 are in the hundreds).
   */
  tanh(x: string, output?: string): string {
    this.tanhBounds ??= [
      this.weight('tanh_clip_min', [], [-10]),
      this.weight('tanh_clip_max', [], [10]),
    ];
    return this.op('Tanh', [this.op('Clip', [x, ...this.tanhBounds])], {}, output);
  }

  /** Converts a float-type tensor to float32 (a no-op in fp32 graphs). */
  toFloat32(x: string): string {
    if (this.floatType === 'fp32') return x;
    return this.op('Cast', [x], { to: attr.int(TensorDataType.FLOAT) });
  }

  /** Converts a float32 tensor to the graph's float type (a no-op in fp32 graphs). */
  fromFloat32(x: string): string {
    if (this.floatType === 'fp32') return x;
    return this.op('Cast', [x], { to: attr.int(TensorDataType.FLOAT16) });
  }

  /** Total bytes of initializer data. */
  get weightBytes(): number {
    return this.initializers.reduce((sum, t) => sum + t.byteLength, 0);
  }

  /**
   * Serializes the model. With `externalData`, every float initializer's bytes go to one file
   * of that name (returned as `data`), referenced by location/offset/length entries. With
   * several names, the tensors are spread over that many files of about equal size, in order
   * (as a sharded export is: SDXL-Lightning's web build has model.onnx_data, _1, _2); each
   * file's bytes are in `files`.
   */
  serialize(
    options: { externalData?: string | readonly string[]; producerVersion?: string } = {},
  ): {
    model: Uint8Array;
    data?: Uint8Array;
    files?: Array<{ location: string; data: Uint8Array }>;
  } {
    const locations =
      options.externalData === undefined
        ? []
        : typeof options.externalData === 'string'
          ? [options.externalData]
          : options.externalData;
    const external = this.initializers.filter((t) => t.dataType !== TensorDataType.INT64);
    const externalBytes = external.reduce((sum, t) => sum + t.byteLength, 0);
    const shardTarget = Math.ceil(externalBytes / Math.max(1, locations.length));
    const tensors: Tensor[] = [];
    const shards = locations.map((location) => ({
      location,
      chunks: [] as Array<{ offset: number; bytes: Uint8Array }>,
      end: 0,
    }));
    let shardIndex = 0;
    for (const t of this.initializers) {
      const tensor: Tensor = { name: t.name, dims: t.dims, dataType: t.dataType };
      // int64 tensors (Reshape shapes and the like) stay inline: ONNX shape inference reads
      // them while loading, before external data is resolved, and onnxruntime refuses
      // ("Cannot parse data from external tensors"). onnx itself keeps tensors < 1 KB inline.
      if (shards.length > 0 && t.dataType !== TensorDataType.INT64) {
        // The next file once this one has its share (the last takes what is left).
        if (shardIndex < shards.length - 1 && shards[shardIndex]!.end >= shardTarget) shardIndex++;
        const shard = shards[shardIndex]!;
        const offset = Math.ceil(shard.end / EXTERNAL_DATA_ALIGNMENT) * EXTERNAL_DATA_ALIGNMENT;
        const bytes = t.bytes();
        shard.chunks.push({ offset, bytes });
        shard.end = offset + bytes.length;
        tensor.dataLocation = DataLocation.EXTERNAL;
        tensor.externalData = [
          { key: 'location', value: shard.location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.length) },
        ];
      } else {
        tensor.rawData = t.bytes();
      }
      tensors.push(tensor);
    }
    const model: Model = {
      irVersion: IR_VERSION,
      opsetImport: [
        { domain: '', version: OPSET_VERSION },
        ...[...this.domains].map((domain) => ({ domain, version: 1 })),
      ],
      producerName: 'sdxl-turbo-web make-test-model',
      producerVersion: options.producerVersion ?? '',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: tensors,
        input: this.inputs,
        output: this.outputs,
      },
    };
    const bytes = ModelProto.encode(ModelProto.fromObject(model)).finish();
    if (shards.length === 0) return { model: bytes };
    const files = shards.map((shard) => {
      const data = new Uint8Array(shard.end);
      for (const c of shard.chunks) data.set(c.bytes, c.offset);
      return { location: shard.location, data };
    });
    return { model: bytes, data: files[0]!.data, files };
  }
}
