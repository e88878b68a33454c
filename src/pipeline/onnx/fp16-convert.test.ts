/**
 * The fp32 -> fp16 converter on graphs with the operator patterns of a torch export of SDXL:
 * graph rewrites (what stays float32, where Casts go), external data streaming and resuming,
 * determinism, the WebGPU operator check, and accuracy on onnxruntime-web's wasm EP.
 */
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { fromHalfBits, halfToFloat32 } from '../float16.ts';
import { convertModelToFloat16, type Float16Conversion } from './fp16-convert.ts';
import {
  ExternalDataConverter,
  planExternalFiles,
  resumePoint,
  type ExternalFileLayout,
} from './fp16-external-data.ts';
import { decodeModel, operatorTypes } from './inspect.ts';
import { int64ToNumber, ModelProto, TensorDataType, type Graph } from './schema.ts';
import { convertFloat32Bytes } from './fp16-values.ts';
import { patternUnet, patternVaeDecoder } from './testing/sdxl-patterns.ts';
import { operatorsMissingOnWebGpu } from './webgpu-operators.ts';
import { randn } from '../../../scripts/test-model/random.ts';

const FLOAT = TensorDataType.FLOAT;
const FLOAT16 = TensorDataType.FLOAT16;

function elemTypeOf(graph: Graph, name: string): number | undefined {
  const tensor = [...(graph.initializer ?? [])].find((t) => t.name === name);
  if (tensor) return tensor.dataType;
  const constant = graph.node?.find((n) => n.opType === 'Constant' && n.output?.[0] === name);
  if (constant) return constant.attribute?.[0]?.t?.dataType;
  const producer = graph.node?.find((n) => n.output?.includes(name));
  if (producer?.opType === 'Cast') return int64ToNumber(producer.attribute?.[0]?.i);
  return [...(graph.input ?? []), ...(graph.output ?? [])].find((v) => v.name === name)?.type
    ?.tensorType?.elemType;
}

/** Converts external data in chunks of `chunkBytes` (odd sizes split float32 values). */
function convertExternal(
  layout: ExternalFileLayout,
  source: Uint8Array,
  chunkBytes: number,
  from = 0,
) {
  const start = resumePoint(layout, from);
  const converter = new ExternalDataConverter(layout, start);
  const pieces: Uint8Array[] = [];
  for (let at = start.sourceOffset; at < layout.sourceBytes; at += chunkBytes) {
    pieces.push(converter.push(source.subarray(at, Math.min(at + chunkBytes, layout.sourceBytes))));
  }
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.byteLength;
  }
  return { bytes: out, start, clamped: converter.clamped, done: converter.done };
}

async function run(
  model: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  externalData?: { path: string; data: Uint8Array },
) {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    externalData: externalData ? [externalData] : undefined,
  });
  try {
    const outputs = await session.run(feeds);
    const out = outputs[session.outputNames[0]!]!;
    return out.type === 'float16'
      ? halfToFloat32(out.data as Uint16Array)
      : Float32Array.from(out.data as Float32Array);
  } finally {
    await session.release();
  }
}

function feedsFor(
  dtype: 'float32' | 'float16',
  values: Record<string, { dims: number[]; data: Float32Array }>,
) {
  return Object.fromEntries(
    Object.entries(values).map(([name, { dims, data }]) => [
      name,
      dtype === 'float32'
        ? new ort.Tensor('float32', data, dims)
        : new ort.Tensor(
            'float16',
            Uint16Array.from(data, (v) => toHalf(v)),
            dims,
          ),
    ]),
  );
}

function toHalf(v: number): number {
  const bits = new Uint16Array(1);
  const source = new Uint8Array(new Float32Array([v]).buffer);
  convertFloat32Bytes(source, new Uint8Array(bits.buffer));
  return bits[0]!;
}

function differences(a: Float32Array, b: Float32Array) {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

const unetInputs = {
  sample: { dims: [1, 4, 8, 8], data: randn(7, 256) },
  timestep: { dims: [1], data: new Float32Array([999]) },
  encoder_hidden_states: { dims: [1, 6, 32], data: randn(8, 6 * 32) },
};

describe('fp16 conversion of a graph', () => {
  const unet = patternUnet({ externalData: 'model.onnx_data' });
  const converted = convertModelToFloat16(unet.model);
  const graph = decodeModel(converted.model).graph;

  it('makes float inputs, outputs, weights and Cast targets float16', () => {
    expect(elemTypeOf(graph, 'sample')).toBe(FLOAT16);
    expect(elemTypeOf(graph, 'timestep')).toBe(FLOAT16);
    expect(elemTypeOf(graph, 'out_sample')).toBe(FLOAT16);
    expect(elemTypeOf(graph, 'conv_in.weight')).toBe(FLOAT16);
    expect(elemTypeOf(graph, 'attn.q')).toBe(FLOAT16);
    expect(converted.report.float16Tensors).toBeGreaterThan(20);
  });

  it('keeps Resize scales float32, also when a Constant node makes them', () => {
    const resize = graph.node!.find((n) => n.opType === 'Resize')!;
    expect(resize.input![2]).toBe('up.scales');
    expect(elemTypeOf(graph, 'up.scales')).toBe(FLOAT);
    expect(converted.report.float32Tensors).toContain('up.scales');
    // and the data input is float16
    expect(graph.node!.find((n) => n.output?.includes(resize.input![0]!))?.opType).toBe('Mul');
  });

  it('keeps the timestep embedding float32 with Casts at its edges', () => {
    const kept = converted.report.float32Nodes;
    const sin = graph.node!.find((n) => n.opType === 'Sin')!;
    const cos = graph.node!.find((n) => n.opType === 'Cos')!;
    const angles = graph.node!.find((n) => n.output?.[0] === sin.input![0])!;
    expect(angles.opType).toBe('Mul');
    expect(kept).toEqual(expect.arrayContaining([sin.name, cos.name, angles.name]));
    expect(elemTypeOf(graph, 't.freqs')).toBe(FLOAT);
    // the timestep's own Cast stays a Cast to float32 (the island's entrance) ...
    const timestepCast = graph.node!.find(
      (n) => n.opType === 'Cast' && n.input?.[0] === 'timestep',
    )!;
    expect(int64ToNumber(timestepCast.attribute![0]!.i)).toBe(FLOAT);
    // ... and each exit of the island (Sin, Cos) is cast to float16 for the Concat.
    const concat = graph.node!.find((n) => n.opType === 'Concat' && n.input?.length === 2)!;
    for (const island of [sin, cos]) {
      const exits = graph.node!.filter(
        (n) => n.opType === 'Cast' && n.input?.[0] === island.output![0],
      );
      expect(exits).toHaveLength(1);
      expect(int64ToNumber(exits[0]!.attribute![0]!.i)).toBe(FLOAT16);
      expect(concat.input).toContain(exits[0]!.output![0]);
    }
    // Casts come before the nodes that read them (the node order stays topological).
    const order = new Map(
      graph.node!.flatMap((n, i) => (n.output ?? []).map((o) => [o, i] as const)),
    );
    graph.node!.forEach((n, i) => {
      for (const input of n.input ?? [])
        if (order.has(input)) expect(order.get(input)!).toBeLessThan(i);
    });
  });

  it('keeps float32 graph inputs and outputs with keepFloat32Io, Casts inside', () => {
    const io = decodeModel(convertModelToFloat16(unet.model, { keepFloat32Io: true }).model).graph;
    expect(elemTypeOf(io, 'sample')).toBe(FLOAT);
    expect(io.output![0]!.type!.tensorType!.elemType).toBe(FLOAT);
    const last = io.node![io.node!.length - 1]!;
    expect(last).toMatchObject({ opType: 'Cast', output: ['out_sample'] });
    expect(int64ToNumber(last.attribute![0]!.i)).toBe(FLOAT);
    const sampleCast = io.node!.find((n) => n.opType === 'Cast' && n.input?.[0] === 'sample')!;
    expect(int64ToNumber(sampleCast.attribute![0]!.i)).toBe(FLOAT16);
  });

  it('passes the WebGPU operator check', () => {
    expect(operatorsMissingOnWebGpu(operatorTypes(converted.model))).toEqual([]);
    const vae = convertModelToFloat16(patternVaeDecoder().model);
    expect(operatorsMissingOnWebGpu(operatorTypes(vae.model))).toEqual([]);
  });

  it('is deterministic: the same input gives byte-identical graph and data', () => {
    const again = convertModelToFloat16(patternUnet({ externalData: 'model.onnx_data' }).model);
    expect(Buffer.from(again.model).equals(Buffer.from(converted.model))).toBe(true);
    const layout = converted.externalFiles[0]!;
    const first = convertExternal(layout, unet.data!.bytes, 4096).bytes;
    const second = convertExternal(again.externalFiles[0]!, unet.data!.bytes, 777).bytes;
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true);
  });

  it('streams external data in any chunking and resumes mid-file without the earlier bytes', () => {
    const layout = converted.externalFiles[0]!;
    expect(layout.location).toBe('model.onnx_data');
    const whole = convertExternal(layout, unet.data!.bytes, 1 << 20);
    expect(whole.done).toBe(true);
    expect(whole.bytes.byteLength).toBe(layout.outputBytes);
    for (const chunk of [1, 3, 5, 4093]) {
      expect(
        Buffer.from(convertExternal(layout, unet.data!.bytes, chunk).bytes).equals(whole.bytes),
      ).toBe(true);
    }
    // Resume from output bytes in a padding gap, inside a converted tensor (odd byte: the
    // half value is remade) and inside a copied one.
    const half = layout.segments.find(
      (s, i) => s.mode === 'half' && s.outputEnd - s.outputStart > 64 && i > 0,
    )!;
    for (const stored of [
      half.outputStart - 1,
      half.outputStart + 7,
      half.outputStart + 30,
      layout.outputBytes - 3,
    ]) {
      const resumed = convertExternal(layout, unet.data!.bytes, 333, stored);
      expect(resumed.start.outputOffset).toBeLessThanOrEqual(stored);
      expect(resumed.start.outputOffset).toBeGreaterThan(stored - 2);
      const joined = Buffer.concat([
        whole.bytes.subarray(0, resumed.start.outputOffset),
        resumed.bytes,
      ]);
      expect(joined.equals(whole.bytes)).toBe(true);
    }
    // Each converted value is the float16 of its source value.
    const source = new DataView(unet.data!.bytes.buffer, unet.data!.bytes.byteOffset);
    const output = new DataView(whole.bytes.buffer, whole.bytes.byteOffset);
    for (let i = 0; i < (half.sourceEnd - half.sourceStart) / 4; i++) {
      const value = source.getFloat32(half.sourceStart + i * 4, true);
      expect(output.getUint16(half.outputStart + i * 2, true)).toBe(toHalf(value));
    }
  });

  it('lays out odd-sized tensors with padding, skips unused source bytes, resumes in padding', () => {
    // float32 [3] at 0 (12 bytes -> 6), 5 copied bytes at 20 (bytes 12..20 unused), float32 [2] at 25.
    const layout = planExternalFiles([
      { name: 'c', location: 'd', offset: 25, length: 8, toHalf: true },
      { name: 'a', location: 'd', offset: 0, length: 12, toHalf: true },
      { name: 'b', location: 'd', offset: 20, length: 5, toHalf: false },
    ])[0]!;
    expect(layout.segments.map((s) => [s.tensor, s.outputStart, s.outputEnd])).toEqual([
      ['a', 0, 6],
      ['b', 64, 69],
      ['c', 128, 132],
    ]);
    const source = new Uint8Array(33);
    const view = new DataView(source.buffer);
    [1, 2, -3].forEach((v, i) => view.setFloat32(i * 4, v, true));
    source.set([9, 8, 7, 6, 5], 20);
    [0.5, 1e6].forEach((v, i) => view.setFloat32(25 + i * 4, v, true));
    const whole = convertExternal(layout, source, 7);
    expect(whole.clamped).toBe(1);
    const out = new DataView(whole.bytes.buffer);
    expect([0, 2, 4].map((o) => out.getUint16(o, true))).toEqual([0x3c00, 0x4000, 0xc200]);
    expect([...whole.bytes.subarray(6, 64)].every((b) => b === 0)).toBe(true);
    expect([...whole.bytes.subarray(64, 69)]).toEqual([9, 8, 7, 6, 5]);
    expect([out.getUint16(128, true), out.getUint16(130, true)]).toEqual([0x3800, 0x7bff]);
    for (const stored of [3, 30, 66, 100, 131]) {
      const resumed = convertExternal(layout, source, 2, stored);
      const joined = Buffer.concat([
        whole.bytes.subarray(0, resumed.start.outputOffset),
        resumed.bytes,
      ]);
      expect(joined.equals(whole.bytes)).toBe(true);
    }
    expect(resumePoint(layout, 30)).toEqual({ outputOffset: 30, sourceOffset: 20 });
    expect(resumePoint(layout, 3)).toEqual({ outputOffset: 2, sourceOffset: 4 });
  });

  it('refuses models it would damage: subgraphs, fields the schema does not know', () => {
    const model = decodeModel(patternVaeDecoder().model);
    model.graph.node!.push({
      name: 'branch',
      opType: 'If',
      domain: '',
      input: ['c'],
      output: ['o'],
    });
    expect(() => convertModelToFloat16(ModelProto.encode(model).finish())).toThrow(
      /does not convert subgraphs \(If node\)/,
    );
    // ModelProto.functions (field 25, tag bytes 0xca 0x01, 2 bytes long): appended raw, as a
    // newer exporter would write it.
    const plain = patternVaeDecoder().model;
    const withFunctions = new Uint8Array([...plain, 0xca, 0x01, 0x02, 0x0a, 0x00]);
    expect(() => convertModelToFloat16(withFunctions)).toThrow(/unsupported fields ModelProto\.25/);
  });

  it('counts clamped values in streamed and inline tensors', () => {
    const big = patternVaeDecoder();
    const model = decodeModel(big.model);
    const bias = model.graph.initializer!.find((t) => t.name === 'conv_in.bias')!;
    new DataView(bias.rawData!.buffer, bias.rawData!.byteOffset).setFloat32(0, 1e6, true);
    new DataView(bias.rawData!.buffer, bias.rawData!.byteOffset).setFloat32(4, -Infinity, true);
    const result = convertModelToFloat16(ModelProto.encode(model).finish());
    expect(result.report.clampedValues).toBe(1);
    const converted = decodeModel(result.model).graph.initializer!.find(
      (t) => t.name === 'conv_in.bias',
    )!;
    const bits = new DataView(converted.rawData!.buffer, converted.rawData!.byteOffset);
    expect(bits.getUint16(0, true)).toBe(0x7bff);
    expect(fromHalfBits(bits.getUint16(2, true))).toBe(-Infinity);
  });
});

describe('fp16 accuracy on the wasm EP (torch-export SDXL patterns)', () => {
  it('UNet-like graph: fp16 output within 3e-3 mean / 1.5e-2 max of fp32', async () => {
    const unet = patternUnet({ externalData: 'model.onnx_data' });
    const converted: Float16Conversion = convertModelToFloat16(unet.model);
    const data = convertExternal(converted.externalFiles[0]!, unet.data!.bytes, 65536).bytes;
    const reference = await run(unet.model, feedsFor('float32', unetInputs), {
      path: 'model.onnx_data',
      data: unet.data!.bytes,
    });
    const half = await run(converted.model, feedsFor('float16', unetInputs), {
      path: 'model.onnx_data',
      data,
    });
    const { mean, max } = differences(reference, half);
    console.log(
      `pattern UNet fp16 vs fp32: mean |d| ${mean.toExponential(2)}, max ${max.toExponential(2)}`,
    );
    expect(reference.length).toBe(256);
    expect(mean).toBeLessThan(3e-3);
    expect(max).toBeLessThan(1.5e-2);
  });

  it('VAE-decoder-like graph (fp32 I/O kept): pixels within 1/255 mean, 4/255 max', async () => {
    const vae = patternVaeDecoder();
    const converted = convertModelToFloat16(vae.model, { keepFloat32Io: true });
    const inputs = { latent_sample: { dims: [1, 4, 8, 8], data: randn(9, 256) } };
    const reference = await run(vae.model, feedsFor('float32', inputs));
    const half = await run(converted.model, feedsFor('float32', inputs));
    const pixels = (v: Float32Array) => Float32Array.from(v, (x) => Math.round((x + 1) * 127.5));
    const { mean, max } = differences(pixels(reference), pixels(half));
    console.log(`pattern VAE fp16 vs fp32 pixels: mean |d| ${mean.toFixed(3)}, max ${max}`);
    expect(mean).toBeLessThan(1);
    expect(max).toBeLessThanOrEqual(4);
  });
});
