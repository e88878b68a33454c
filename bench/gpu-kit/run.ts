/**
 * The pipeline benchmark without a browser: onnxruntime-web's WebGPU EP in Node on Dawn's Node
 * bindings (npm `webgpu`), running the same page functions as `npm run bench -- --only pipeline`
 * (bench/pipeline-page.ts) and printing the same table.
 *
 *   npm run gpu-kit -- --model DIR [--steps 1] [--size 512] [--images 3] [--modes gpu]
 *     [--decoder vae|taesd] [--dawn-option backend=vulkan ...] [--out FILE.json]
 *
 * Packed (npm run gpu-kit:pack) it runs as `node run.mjs --model DIR ...` on a machine with
 * Node and a GPU but no browser and no package registry (README, "Real-GPU benchmark kit").
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { create, globals } from 'webgpu';
import { directorySource } from '../../src/cli/node-model.ts';
import {
  measureMode,
  printResults,
  writeResults,
  type Mode,
  type ModeResult,
} from '../pipeline-measure.ts';
import { installNodeWebGpu } from './node-webgpu.ts';

function options() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      images: { type: 'string', default: '3' },
      steps: { type: 'string', default: '1' },
      size: { type: 'string', default: '512' },
      modes: { type: 'string', default: 'gpu' },
      decoder: { type: 'string', default: 'vae' },
      'dawn-option': { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (!values.model) throw new Error('--model DIR is required (a model set in the export layout)');
  const modes = values.modes!.split(',').map((m) => m.trim());
  for (const m of modes) if (m !== 'host' && m !== 'gpu') throw new Error(`unknown mode ${m}`);
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  if (values.decoder !== 'vae' && values.decoder !== 'taesd')
    throw new Error('--decoder must be vae or taesd');
  return {
    modelDir: path.resolve(values.model),
    images: int('images', values.images, 1),
    steps: int('steps', values.steps, 1),
    size: int('size', values.size, 64),
    modes: modes as Mode[],
    decoder: values.decoder as 'vae' | 'taesd',
    dawnOptions: values['dawn-option']!,
    out: values.out ? path.resolve(values.out) : undefined,
  };
}

/** Progress on stderr: on a slow adapter (SwiftShader) the first image takes many minutes. */
function progress(line: string): void {
  console.error(`[gpu-kit] ${line}`);
}

async function main(): Promise<void> {
  const opts = options();
  installNodeWebGpu({ create, globals }, opts.dawnOptions);
  // Imported only now: the page module wraps the GPU* classes when it loads.
  const page = await import('../pipeline-page.ts');
  const source = directorySource(opts.modelDir);
  const results: ModeResult[] = [];
  for (const mode of opts.modes) {
    results.push(
      await measureMode(
        mode,
        {
          userAgent: async () => `Node.js ${process.version}, Dawn (npm webgpu)`,
          load: async (gpuResident) => {
            const loaded = await page.benchLoadFrom(source, gpuResident);
            progress(`${mode}: loaded in ${loaded.loadMs.toFixed(0)} ms on ${loaded.adapter}`);
            return loaded;
          },
          image: async (request) => {
            const image = await page.benchImage(request);
            progress(`${mode}: image (seed ${request.seed}) ${image.ms.toFixed(0)} ms`);
            return image;
          },
          bare: () => page.benchBare(),
        },
        opts,
      ),
    );
  }
  printResults(results, opts);
  if (opts.out) {
    writeResults(
      opts.out,
      opts,
      { node: process.version, vkIcd: process.env['VK_ICD_FILENAMES'] ?? null },
      'Node.js with onnxruntime-web 1.30 WebGPU EP on Dawn (npm webgpu); same measurements as bench/pipeline.ts.',
      results,
    );
    console.log(`wrote ${opts.out}`);
  }
}

main().then(
  // Dawn keeps the event loop alive; the benchmark is done.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
