import { decodeModel } from './inspect.ts';
import { TensorDataType } from './schema.ts';

/**
 * Whether a graph computes in fp16: any fp16 graph input, output or weight. WebGPU needs the
 * adapter's shader-f16 feature for such a graph; checked before a session is created so the
 * user gets a plain message instead of onnxruntime-web's shader compilation error.
 */
export function modelUsesFloat16(modelBytes: Uint8Array): boolean {
  const { graph } = decodeModel(modelBytes);
  const values = [...(graph.input ?? []), ...(graph.output ?? [])];
  if (values.some((v) => v.type?.tensorType?.elemType === TensorDataType.FLOAT16)) return true;
  return (graph.initializer ?? []).some((t) => t.dataType === TensorDataType.FLOAT16);
}
