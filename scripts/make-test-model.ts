/**
 * Writes a tiny SDXL-shaped ONNX model set for tests:
 *   npm run make-test-model -- --out DIR [--dtype fp32|fp16]
 */
import { parseArgs } from 'node:util';
import { writeModelSet } from './test-model/write-model-set.ts';

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      dtype: { type: 'string', default: 'fp32' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const usage = 'usage: npm run make-test-model -- --out DIR [--dtype fp32|fp16]';
  if (values.help) {
    console.log(usage);
    return;
  }
  if (!values.out) throw new Error(`--out is required\n${usage}`);
  if (values.dtype !== 'fp32' && values.dtype !== 'fp16') {
    throw new Error(`--dtype must be fp32 or fp16, not ${values.dtype}\n${usage}`);
  }
  const started = performance.now();
  const summary = writeModelSet(values.out, values.dtype);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const megabytes = (summary.totalBytes / 1e6).toFixed(2);
  console.log(
    `wrote ${summary.files.length} files (${megabytes} MB, ${summary.dtype}) to ${summary.dir} in ${seconds} s`,
  );
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
