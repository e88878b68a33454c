import type { InferenceSession, Tensor } from 'onnxruntime-web';
import {
  isDeviceTensor,
  type DeviceTensor,
  type ElementType,
  type GraphSession,
  type HostTensor,
  type SessionTensor,
  type ValueInfo,
} from '../graph-session.ts';

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

export interface OrtGraphSessionOptions {
  /**
   * The session was created with `preferredOutputLocation: 'gpu-buffer'`: its outputs stay on
   * the GPU unless read back, and `runOnDevice` is offered.
   */
  deviceOutputs?: boolean;
  /** Waits for the GPU to finish submitted work (for per-stage timings). */
  sync?: () => Promise<void>;
}

export class OrtGraphSession implements GraphSession {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly runOnDevice?: GraphSession['runOnDevice'];
  readonly sync?: () => Promise<void>;

  constructor(
    private readonly ort: OrtModule,
    /** The runtime's session itself (the benchmark times bare `run` calls on it). */
    readonly session: InferenceSession,
    options: OrtGraphSessionOptions = {},
  ) {
    this.inputs = session.inputMetadata.map(valueInfo);
    this.outputs = session.outputMetadata.map(valueInfo);
    if (options.deviceOutputs) {
      this.runOnDevice = (feeds, outputNames, keepOnDevice) =>
        this.runMixed(feeds, outputNames, keepOnDevice);
    }
    if (options.sync) this.sync = options.sync;
  }

  async run(
    feeds: Record<string, HostTensor>,
    outputNames: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    return (await this.runMixed(feeds, outputNames, [])) as Record<string, HostTensor>;
  }

  private async runMixed(
    feeds: Record<string, SessionTensor>,
    outputNames: readonly string[],
    keepOnDevice: readonly string[],
  ): Promise<Record<string, SessionTensor>> {
    const ortFeeds: Record<string, Tensor> = {};
    const created: Tensor[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      if (isDeviceTensor(t)) {
        if (!(t.handle instanceof this.ort.Tensor)) {
          throw new Error(`feed "${name}" is a device tensor of another runtime`);
        }
        ortFeeds[name] = t.handle;
      } else {
        const tensor = new this.ort.Tensor(t.type, t.data, t.dims);
        ortFeeds[name] = tensor;
        created.push(tensor);
      }
    }
    const results = await this.session.run(ortFeeds, outputNames);
    const out: Record<string, SessionTensor> = {};
    for (const name of outputNames) {
      const tensor = results[name];
      if (!tensor) throw new Error(`session returned no output "${name}"`);
      if (tensor.location === 'cpu' || tensor.location === 'cpu-pinned') {
        out[name] = toHost(tensor);
      } else if (keepOnDevice.includes(name)) {
        out[name] = this.deviceTensor(tensor);
      } else {
        // A GPU output nobody wants there: read it back to host memory and free the buffer.
        const data = await tensor.getData(true);
        out[name] = toHost(
          new this.ort.Tensor(tensor.type as 'float32', data as Float32Array, tensor.dims),
        );
      }
    }
    // Inputs we created are ours to release; device feeds belong to the caller.
    for (const t of created) t.dispose();
    return out;
  }

  private deviceTensor(tensor: Tensor): DeviceTensor {
    const type = elementType(tensor.type);
    if (type === 'other') throw new Error(`unsupported output tensor type ${tensor.type}`);
    return {
      location: 'device',
      type,
      dims: [...tensor.dims],
      handle: tensor,
      download: async () => {
        const data = await tensor.getData(false);
        return toHost(
          new this.ort.Tensor(tensor.type as 'float32', data as Float32Array, tensor.dims),
        );
      },
      dispose: () => tensor.dispose(),
    };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
