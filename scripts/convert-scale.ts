/**
 * Scale check of `cli convert` (not run in CI: it writes about 7 GB):
 *
 *   npm run convert-scale -- [--dir /tmp/convert-scale] [--gib 4.5625] [--keep]
 *
 * Generates a model folder whose unet/model.onnx_data is ONE file of the given size (64 MiB
 * float32 tensors, values from a formula, written as a stream), runs `cli convert` on it in a
 * child process, reports that process's peak RSS, and checks values past the 2 GiB and 4 GiB
 * marks of the source: each must be the exact float16 (float16.ts's scalar rounding) of the
 * float32 at that place. The folder is deleted afterwards unless --keep.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { toHalfBits } from '../src/pipeline/float16.ts';
import { ModelProto, TensorDataType, valueInfo, type Model } from '../src/pipeline/onnx/schema.ts';

const TENSOR_ELEMENTS = 16 * 1024 * 1024; // 64 MiB of float32
const TENSOR_BYTES = TENSOR_ELEMENTS * 4;
const GiB = 1024 ** 3;

/** The value of float32 number `index` of the file: spread over ±8, some beyond ±65504. */
function valueAt(index: number): number {
  const hash = Math.imul(index ^ (index >>> 15), 0x2c1b3c6d) >>> 0;
  if (hash % 1_000_003 === 0) return (hash & 1 ? -1 : 1) * 1e5; // clamped to ±65504
  return (hash / 2 ** 32) * 16 - 8;
}

async function writeSource(dir: string, tensors: number): Promise<void> {
  const unet = path.join(dir, 'unet');
  await mkdir(unet, { recursive: true });
  const nodes = [];
  const initializers = [];
  let previous = 'x';
  for (let t = 0; t < tensors; t++) {
    const name = `w${t}`;
    initializers.push({
      name,
      dims: [TENSOR_ELEMENTS],
      dataType: TensorDataType.FLOAT,
      dataLocation: 1,
      externalData: [
        { key: 'location', value: 'model.onnx_data' },
        { key: 'offset', value: String(t * TENSOR_BYTES) },
        { key: 'length', value: String(TENSOR_BYTES) },
      ],
    });
    const out = t === tensors - 1 ? 'y' : `a${t}`;
    nodes.push({
      name: `add${t}`,
      opType: 'Add',
      domain: '',
      input: [previous, name],
      output: [out],
    });
    previous = out;
  }
  const model: Model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'convert-scale',
    graph: {
      name: 'scale_unet',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('x', TensorDataType.FLOAT, [TENSOR_ELEMENTS])],
      output: [valueInfo('y', TensorDataType.FLOAT, [TENSOR_ELEMENTS])],
    },
  };
  await writeFile(
    path.join(unet, 'model.onnx'),
    ModelProto.encode(ModelProto.fromObject(model)).finish(),
  );
  const stream = createWriteStream(path.join(unet, 'model.onnx_data'));
  const block = new Float32Array(1024 * 1024);
  for (let index = 0; index < tensors * TENSOR_ELEMENTS; index += block.length) {
    for (let i = 0; i < block.length; i++) block[i] = valueAt(index + i);
    if (!stream.write(new Uint8Array(block.buffer.slice(0)))) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'close');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: '/tmp/convert-scale' },
      gib: { type: 'string', default: '4.5625' },
      keep: { type: 'boolean', default: false },
    },
  });
  const tensors = Math.ceil((Number(values.gib) * GiB) / TENSOR_BYTES);
  const source = path.join(values.dir, 'fp32');
  const out = path.join(values.dir, 'fp16');
  await rm(values.dir, { recursive: true, force: true });
  let started = performance.now();
  await writeSource(source, tensors);
  const sourceBytes = tensors * TENSOR_BYTES;
  console.log(
    `source: unet/model.onnx_data ${(sourceBytes / GiB).toFixed(3)} GiB (${tensors} tensors) written in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );

  started = performance.now();
  const report = JSON.parse(
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'convert', '--model', source, '--out', out],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  ) as { peakRssBytes: number; graphs: Array<{ outputBytes: number; clamped: number }> };
  const seconds = (performance.now() - started) / 1000;

  // Spot checks: the output layout packs 64 MiB tensors into 32 MiB ones back to back.
  const sourceFile = await open(path.join(source, 'unet', 'model.onnx_data'));
  const outputFile = await open(path.join(out, 'unet', 'model.onnx_data'));
  const checks = [2 * GiB + 12, 2 * GiB + TENSOR_BYTES + 4, 4 * GiB + 8, sourceBytes - 4].filter(
    (offset) => offset < sourceBytes,
  );
  let checked = 0;
  for (const sourceOffset of checks) {
    const f32 = Buffer.alloc(4);
    await sourceFile.read(f32, 0, 4, sourceOffset);
    const f16 = Buffer.alloc(2);
    await outputFile.read(f16, 0, 2, sourceOffset / 2);
    const original = f32.readFloatLE(0);
    const expected =
      Math.abs(original) > 65504 ? (original < 0 ? 0xfbff : 0x7bff) : toHalfBits(original);
    if (f16.readUInt16LE(0) !== expected || original !== Math.fround(valueAt(sourceOffset / 4))) {
      throw new Error(
        `value at source byte ${sourceOffset}: ${original} -> 0x${f16.readUInt16LE(0).toString(16)}, expected 0x${expected.toString(16)}`,
      );
    }
    checked++;
  }
  await sourceFile.close();
  await outputFile.close();
  console.log(
    JSON.stringify({
      sourceGiB: Number((sourceBytes / GiB).toFixed(3)),
      outputGiB: Number((report.graphs[0]!.outputBytes / GiB).toFixed(3)),
      seconds: Number(seconds.toFixed(1)),
      peakRssMiB: Number((report.peakRssBytes / 1024 ** 2).toFixed(0)),
      clamped: report.graphs[0]!.clamped,
      spotChecks: `${checked}/${checks.length} exact (source bytes ${checks.join(', ')})`,
    }),
  );
  if (!values.keep) await rm(values.dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
