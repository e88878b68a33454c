/**
 * Writes ONNX model sets for tests:
 *   npm run make-test-model -- --out DIR [--dtype fp32|fp16]
 *     the tiny SDXL-shaped set (a few MB; the unit and browser tests' model)
 *   npm run make-test-model -- --arch sdxl --scale S --layout optimum-fp32|webnn-q4|webnn-q4f32 --out DIR
 *     a replica of the real SDXL architecture with random weights; --scale 1 is full size
 *     (UNet 2.57 B parameters: ~10.3 GB in optimum-fp32), smaller scales shrink the widths
 */
import { parseArgs } from 'node:util';
import { writeModelSet } from './test-model/write-model-set.ts';
import {
  REPLICA_LAYOUTS,
  writeReplica,
  type ReplicaLayout,
} from './test-model/sdxl/write-replica.ts';

const usage = [
  'usage: npm run make-test-model -- --out DIR [--dtype fp32|fp16]',
  `       npm run make-test-model -- --arch sdxl --scale S --layout ${REPLICA_LAYOUTS.join('|')} --out DIR`,
].join('\n');

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      dtype: { type: 'string', default: 'fp32' },
      arch: { type: 'string', default: 'tiny' },
      scale: { type: 'string', default: '1' },
      layout: { type: 'string', default: 'optimum-fp32' },
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
  if (values.arch !== 'tiny') throw new Error(`--arch must be tiny or sdxl\n${usage}`);
  if (values.dtype !== 'fp32' && values.dtype !== 'fp16') {
    throw new Error(`--dtype must be fp32 or fp16, not ${values.dtype}\n${usage}`);
  }
  const summary = writeModelSet(values.out, values.dtype);
  const megabytes = (summary.totalBytes / 1e6).toFixed(2);
  console.log(
    `wrote ${summary.files.length} files (${megabytes} MB, ${summary.dtype}) to ${summary.dir} in ${seconds()} s`,
  );
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
