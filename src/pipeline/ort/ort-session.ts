import type { InferenceSession, Tensor } from 'onnxruntime-web';
import type { ElementType, GraphSession, HostTensor, ValueInfo } from '../graph-session.ts';

/**
 * Wraps an onnxruntime-web InferenceSession (browser WebGPU/wasm or Node wasm) as a
 * GraphSession. The ort module is passed in, so this file is free of any one ORT build.
 */
export interface OrtModule {
  Tensor: typeof Tensor;
  InferenceSession: typeof InferenceSession;
}

function elementType(type: string): ElementType {
  return type === 'float32' || type === 'float16' || type === 'int32' || type === 'int64'
    ? type
    : 'other';
}

function valueInfo(meta: InferenceSession.ValueMetadata): ValueInfo {
  if (!meta.isTensor) return { name: meta.name, type: 'other', shape: null };
  // ORT reports an undeclared shape as [] too; exports declare their inputs, so [] is a scalar.
  return { name: meta.name, type: elementType(meta.type), shape: meta.shape };
}

function toHost(tensor: Tensor): HostTensor {
  const type = elementType(tensor.type);
  const dims = [...tensor.dims];
  switch (type) {
    case 'float32':
      return { type, dims, data: tensor.data as Float32Array };
    case 'float16': {
      // ORT hands fp16 out as Uint16Array bits, or as a Float16Array where the JS engine has one.
      const data = tensor.data as unknown as ArrayLike<number> & {
        buffer: ArrayBufferLike;
        byteOffset: number;
        length: number;
      };
      const bits =
        data instanceof Uint16Array
          ? data
          : new Uint16Array(data.buffer, data.byteOffset, data.length);
      return { type, dims, data: bits };
    }
    case 'int32':
      return { type, dims, data: tensor.data as Int32Array };
    case 'int64':
      return { type, dims, data: tensor.data as BigInt64Array };
    default:
      throw new Error(`unsupported output tensor type ${tensor.type}`);
  }
}

export class OrtGraphSession implements GraphSession {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];

  constructor(
    private readonly ort: OrtModule,
    private readonly session: InferenceSession,
  ) {
    this.inputs = session.inputMetadata.map(valueInfo);
    this.outputs = session.outputMetadata.map(valueInfo);
  }

  async run(
    feeds: Record<string, HostTensor>,
    outputNames: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new this.ort.Tensor(t.type, t.data, t.dims);
    }
    const results = await this.session.run(ortFeeds, outputNames);
    const out: Record<string, HostTensor> = {};
    for (const name of outputNames) {
      const tensor = results[name];
      if (!tensor) throw new Error(`session returned no output "${name}"`);
      // Outputs may live on the GPU (preferredOutputLocation); read them back to host memory.
      if (tensor.location !== 'cpu' && tensor.location !== 'cpu-pinned') {
        const data = await tensor.getData(true);
        out[name] = toHost(
          new this.ort.Tensor(tensor.type as 'float32', data as Float32Array, tensor.dims),
        );
      } else {
        out[name] = toHost(tensor);
      }
    }
    // Inputs are ours to release; wasm-backed input tensors hold no GPU memory, but be tidy.
    for (const t of Object.values(ortFeeds)) t.dispose();
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
