/**
 * Writes ONNX model sets for tests:
 *   npm run make-test-model -- --out DIR [--dtype fp32|fp16] [--family sdxl-turbo|sdxl-lightning]
 *     the tiny SDXL-shaped set (a few MB; the unit and browser tests' model) of a model family
 *     (src/pipeline/families/). SDXL-Lightning's: no vae_encoder, its scheduler config, the UNet's
 *     external data in three shards; its fp16 set is fp16 graphs with float32 inputs and outputs
 *     (converted from the fp32 set as its web build was), not the fp16-I/O Turbo kind
 *   npm run make-test-model -- --arch sdxl --scale S --layout optimum-fp32|webnn-q4|webnn-q4f32 --out DIR
 *     a replica of the real SDXL architecture with random weights; --scale 1 is full size
 *     (UNet 2.57 B parameters: ~10.3 GB in optimum-fp32), smaller scales shrink the widths
 *   npm run make-test-model -- --arch weights-heavy --out DIR
 *     the tiny fp32 set whose UNet's one external data file also holds forty 125 MiB tensors,
 *     each read by the UNet (4.9 GiB; issue #15's single-file case: test-model/heavy-unet.ts)
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { convertModelDirectory } from '../src/cli/convert-model.ts';
import type { ModelFamily } from '../src/pipeline/families/family.ts';
import { MODEL_FAMILIES, familyOf, isFamilyId } from '../src/pipeline/families/registry.ts';
import { writeModelSet, type ModelSetSummary } from './test-model/write-model-set.ts';
import { HEAVY_UNET, writeHeavyModelSet } from './test-model/heavy-unet.ts';
import {
  REPLICA_LAYOUTS,
  writeReplica,
  type ReplicaLayout,
} from './test-model/sdxl/write-replica.ts';

const usage = [
  `usage: npm run make-test-model -- --out DIR [--dtype fp32|fp16] [--family ${MODEL_FAMILIES.map((f) => f.id).join('|')}]`,
  `       npm run make-test-model -- --arch sdxl --scale S --layout ${REPLICA_LAYOUTS.join('|')} --out DIR`,
  `       npm run make-test-model -- --arch weights-heavy [--heavy-tensors 40] --out DIR`,
].join('\n');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      dtype: { type: 'string', default: 'fp32' },
      arch: { type: 'string', default: 'tiny' },
      scale: { type: 'string', default: '1' },
      layout: { type: 'string', default: 'optimum-fp32' },
      family: { type: 'string', default: 'sdxl-turbo' },
      'heavy-tensors': { type: 'string', default: String(HEAVY_UNET.tensors) },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  if (!values.out) throw new Error(`--out is required\n${usage}`);
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  if (values.arch === 'sdxl') {
    const scale = Number(values.scale);
    if (!(scale > 0 && scale <= 1))
      throw new Error(`--scale must be in (0, 1], not ${values.scale}`);
    if (!REPLICA_LAYOUTS.includes(values.layout as ReplicaLayout)) {
      throw new Error(`--layout must be one of ${REPLICA_LAYOUTS.join(', ')}\n${usage}`);
    }
    const summary = writeReplica(values.out, {
      scale,
      layout: values.layout as ReplicaLayout,
      onGraph: (name) => console.log(`${seconds()} s: writing ${name}`),
    });
    for (const [graph, count] of Object.entries(summary.parameters)) {
      console.log(`  ${graph}: ${(count / 1e6).toFixed(2)} M parameters`);
    }
    console.log(
      `wrote ${summary.files.length} files (${(summary.totalBytes / 1e9).toFixed(3)} GB, sdxl ${values.layout}, scale ${scale}) to ${summary.dir} in ${seconds()} s`,
    );
    return;
  }
  if (values.arch === 'weights-heavy') {
    const tensors = Number(values['heavy-tensors']);
    if (!Number.isInteger(tensors) || tensors < 0)
      throw new Error(`--heavy-tensors must be a whole number, not ${values['heavy-tensors']}`);
    const summary = writeHeavyModelSet(values.out, { ...HEAVY_UNET, tensors });
    console.log(
      `wrote ${summary.files.length} files (${(summary.totalBytes / 1e9).toFixed(3)} GB, fp32, weights-heavy UNet) to ${summary.dir} in ${seconds()} s`,
    );
    return;
  }
  if (values.arch !== 'tiny')
    throw new Error(`--arch must be tiny, sdxl or weights-heavy\n${usage}`);
  if (values.dtype !== 'fp32' && values.dtype !== 'fp16') {
    throw new Error(`--dtype must be fp32 or fp16, not ${values.dtype}\n${usage}`);
  }
  if (!isFamilyId(values.family))
    throw new Error(
      `--family must be one of ${MODEL_FAMILIES.map((f) => f.id).join(', ')}\n${usage}`,
    );
  const family = familyOf(values.family);
  const summary =
    values.dtype === 'fp16' && family.graphs.floatIo === 'float32'
      ? await writeFloat32IoSet(values.out, family)
      : writeModelSet(values.out, values.dtype, family);
  const megabytes = (summary.totalBytes / 1e6).toFixed(2);
  console.log(
    `wrote ${summary.files.length} files (${megabytes} MB, ${summary.dtype}, ${summary.family}) to ${summary.dir} in ${seconds()} s`,
  );
}

/**
 * An fp16 set with float32 inputs and outputs: the fp32 set, its text encoders and UNet
 * converted by the app's own converter with float32 kept at the graphs' edges (the VAEs stay
 * fp32, as the converter keeps them).
 */
async function writeFloat32IoSet(out: string, family: ModelFamily): Promise<ModelSetSummary> {
  const fp32 = mkdtempSync(path.join(tmpdir(), 'test-model-fp32-'));
  try {
    const source = writeModelSet(fp32, 'fp32', family);
    await convertModelDirectory(fp32, out, { keepFloat32Io: true });
    const files = readdirSync(out, { recursive: true, encoding: 'utf8' })
      .filter((file) => statSync(path.join(out, file)).isFile())
      .map((file) => ({ path: file, bytes: statSync(path.join(out, file)).size }));
    const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
    return { ...source, dir: out, dtype: 'fp16', files, totalBytes };
  } finally {
    rmSync(fp32, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
