/**
 * The small interface through which the pipeline talks to ONNX. The worker and the Node
 * runner wrap onnxruntime-web sessions in it (see ort-adapter.ts); unit tests can hand in fakes.
 */

export type ElementType = 'float32' | 'float16' | 'int32' | 'int64' | 'other';

export type HostData = Float32Array | Uint16Array | Int32Array | BigInt64Array;

/** A tensor in host memory. float16 data is carried as its raw bits in a Uint16Array. */
export interface HostTensor {
  type: Exclude<ElementType, 'other'>;
  dims: readonly number[];
  data: HostData;
}

export interface ValueInfo {
  name: string;
  type: ElementType;
  /** Dimensions as declared by the graph: numbers, symbolic names, or null when unknown. */
  shape: ReadonlyArray<number | string> | null;
}

/**
 * A tensor a session left in device (GPU) memory. It can be fed to another session of the same
 * runtime without a trip through host memory; `download` is a GPU readback. Whoever holds it
 * must `dispose` it (GPU buffers are not garbage-collected).
 */
export interface DeviceTensor {
  readonly location: 'device';
  readonly type: Exclude<ElementType, 'other'>;
  readonly dims: readonly number[];
  /** The runtime's own tensor object (an onnxruntime-web Tensor): only its session reads it. */
  readonly handle: unknown;
  download(): Promise<HostTensor>;
  dispose(): void;
}

/** What a device-capable session takes and gives: host tensors, device tensors, or both. */
export type SessionTensor = HostTensor | DeviceTensor;

export function isDeviceTensor(tensor: SessionTensor): tensor is DeviceTensor {
  return (tensor as Partial<DeviceTensor>).location === 'device';
}

export interface GraphSession {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  run(
    feeds: Record<string, HostTensor>,
    outputNames: readonly string[],
  ): Promise<Record<string, HostTensor>>;
  /**
   * Sessions whose outputs can stay on the device (onnxruntime-web's WebGPU EP) offer this:
   * feeds may be device tensors, and the outputs named in `keepOnDevice` come back as device
   * tensors (the rest as host tensors). Sessions without it (wasm, fakes) only have `run`.
   */
  runOnDevice?(
    feeds: Record<string, SessionTensor>,
    outputNames: readonly string[],
    keepOnDevice: readonly string[],
  ): Promise<Record<string, SessionTensor>>;
  /** Resolves when the device has finished all work submitted so far (timing per stage). */
  sync?(): Promise<void>;
  release(): Promise<void>;
}
