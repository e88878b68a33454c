/**
 * The weights-heavy model set: the tiny SDXL-shaped set whose UNet also carries, in its one
 * external data file, `tensors` float32 tensors of `tensorBytes` each (issue #15's case: forty
 * of 125 MiB, a 4.9 GiB single file). It loads like a real SDXL UNet (GiB of weights read from
 * one file, one GPU buffer per tensor) but generates as fast as the tiny model, and its images
 * are the tiny model's, byte for byte.
 *
 * Every big tensor is read by a Gather whose index is computed from the `timestep` input
 * (timestep × 0), so onnxruntime cannot fold it away when the session is created and must
 * upload it; the gathered rows' means are multiplied by 0 and added to out_sample, an exact
 * zero since the values are finite.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TensorDataType } from '../../src/pipeline/onnx/schema.ts';
import { attr, type GraphBuilder } from './onnx-builder.ts';
import { buildUnet, type UnetExtraTerm } from './networks.ts';
import { randn } from './random.ts';
import { writeModelStreaming } from './stream-model.ts';
import {
  GENERATOR_VERSION,
  UNET_EXTERNAL_DATA,
  json,
  writeModelSet,
  type ModelSetSummary,
} from './write-model-set.ts';

export interface HeavySpec {
  /** How many big tensors the UNet carries (0: none, the plain tiny UNet, as a baseline). */
  tensors: number;
  /** Bytes of each (a multiple of one row, 4 KiB). */
  tensorBytes: number;
}

/**
 * Issue #15's case: forty tensors of 125 MiB (4.88 GiB), each under WebGPU's default
 * maxStorageBufferBindingSize (128 MiB), so every one fits a GPU buffer on any adapter.
 */
export const HEAVY_UNET: HeavySpec = { tensors: 40, tensorBytes: 125 * 2 ** 20 };

/** Floats per row of a big tensor; the Gather reads one row. */
const ROW = 1024;

/** Name of the i-th big tensor in the UNet graph. */
export function heavyTensorName(index: number): string {
  return `heavy.${index}.weight`;
}

/**
 * A big tensor's bytes: one seeded random row repeated (finite, deterministic, and cheap: a
 * 125 MiB tensor is filled by doubling copies, not element by element).
 */
function heavyTensorBytes(index: number, floats: number): Uint8Array {
  const values = new Float32Array(floats);
  values.set(randn(0x5eed0000 + index, ROW));
  for (let filled = ROW; filled < floats; filled *= 2)
    values.copyWithin(filled, 0, Math.min(filled, floats - filled));
  return new Uint8Array(values.buffer);
}

/** The UNet's extra term: zero, computed from every big tensor (see the module comment). */
export function heavyUnetTerm(spec: HeavySpec): UnetExtraTerm {
  if (spec.tensors < 1 || spec.tensorBytes <= 0 || spec.tensorBytes % (ROW * 4) !== 0)
    throw new Error(`heavy UNet: ${spec.tensors} tensors of ${spec.tensorBytes} bytes`);
  const rows = spec.tensorBytes / (ROW * 4);
  return (g: GraphBuilder, { timestep }) => {
    const zero = g.float32('heavy_zero', [], [0]);
    // Depends on a graph input, so constant folding cannot precompute the Gathers.
    const index = g.op('Cast', [g.op('Mul', [g.toFloat32(timestep), zero])], {
      to: attr.int(TensorDataType.INT32),
    }); // [1], 0
    let sum: string | undefined;
    for (let i = 0; i < spec.tensors; i++) {
      const table = g.lazy(heavyTensorName(i), [rows, ROW], TensorDataType.FLOAT, () =>
        heavyTensorBytes(i, rows * ROW),
      );
      const mean = g.op('ReduceMean', [g.op('Gather', [table, index], { axis: attr.int(0) })]); // [1,1]
      sum = sum === undefined ? mean : g.op('Add', [sum, mean]);
    }
    return g.fromFloat32(g.op('Mul', [sum!, zero]));
  };
}

/**
 * Writes the fp32 tiny set with the weights-heavy UNet to `dir`: the set as writeModelSet
 * writes it, then the UNet streamed over it (the big tensors are generated one at a time and
 * never all in memory) with all its weights in the one file unet/model.onnx_data.
 */
export function writeHeavyModelSet(dir: string, spec: HeavySpec = HEAVY_UNET): ModelSetSummary {
  const summary = writeModelSet(dir, 'fp32');
  // test-model.json is written last: caches (npm run scale) take it to mean a complete set.
  const manifestPath = path.join(dir, 'test-model.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  rmSync(manifestPath);
  const unetDir = path.join(dir, 'unet');
  const written = writeModelStreaming(
    buildUnet('fp32', spec.tensors > 0 ? heavyUnetTerm(spec) : undefined),
    path.join(unetDir, 'model.onnx'),
    {
      externalData: { name: UNET_EXTERNAL_DATA, path: path.join(unetDir, UNET_EXTERNAL_DATA) },
      producerVersion: String(GENERATOR_VERSION),
    },
  );
  const manifestText = json({ ...manifest, heavyUnet: spec });
  writeFileSync(manifestPath, manifestText);

  const sizes: Record<string, number> = {
    'unet/model.onnx': written.modelBytes,
    [`unet/${UNET_EXTERNAL_DATA}`]: written.dataBytes,
    'test-model.json': Buffer.byteLength(manifestText),
  };
  const files = summary.files.map((f) => ({ path: f.path, bytes: sizes[f.path] ?? f.bytes }));
  return { ...summary, files, totalBytes: files.reduce((sum, f) => sum + f.bytes, 0) };
}
