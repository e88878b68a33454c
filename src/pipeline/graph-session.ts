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

export interface GraphSession {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  run(
    feeds: Record<string, HostTensor>,
    outputNames: readonly string[],
  ): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}
