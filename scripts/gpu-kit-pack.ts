/**
 * `npm run gpu-kit:pack [-- --out bench/results/sdxl-gpu-kit.tar.gz]`: packs the real-GPU
 * benchmark kit, one tarball for a Linux x64 machine with Node (>= 20.19) and a GPU but no
 * browser and no package registry:
 *
 *   sdxl-gpu-kit/run.mjs               the benchmark (bench/gpu-kit/run.ts, bundled)
 *   sdxl-gpu-kit/make-test-model.mjs   our replica generator (scripts/make-test-model.ts)
 *   sdxl-gpu-kit/cli.mjs               our CLI, for `convert` (fp32 export to fp16)
 *   sdxl-gpu-kit/bench-sdxl.sh         the one command: replicas if missing, then the benchmark
 *   sdxl-gpu-kit/ort-wasm-simd-threaded.{asyncify,jspi}.{mjs,wasm}   onnxruntime-web's runtimes
 *   sdxl-gpu-kit/dist/linux-x64/dawn.node                      Dawn's Node bindings (npm webgpu)
 *   sdxl-gpu-kit/clip-bpe-simple-vocab-16e6.txt.gz (+ LICENSE)  the CLIP merges the replicas use
 *
 * The bundles find the wasm files beside themselves (onnxruntime-web resolves them from
 * import.meta.url) and dawn.node under dist/ (the `webgpu` package's own lookup, bundled).
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KIT = 'sdxl-gpu-kit';
/** The limit for what is copied to the GPU machine. */
const MAX_BYTES = 64 * 2 ** 20;

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results', `${KIT}.tar.gz`) },
    bpe: {
      type: 'string',
      default:
        process.env.CLIP_BPE_PATH ??
        path.resolve(ROOT, '../shared/data/clip-bpe-simple-vocab-16e6.txt.gz'),
    },
  },
  strict: true,
});
const out = path.resolve(values.out!);
const staging = path.join(os.tmpdir(), `gpu-kit-${process.pid}`);
const kitDir = path.join(staging, KIT);
mkdirSync(path.join(kitDir, 'dist', 'linux-x64'), { recursive: true });

// ESM bundles for Node; CommonJS dependencies inside them need a `require`.
const bundles: Array<[string, string]> = [
  ['bench/gpu-kit/run.ts', 'run.mjs'],
  ['scripts/make-test-model.ts', 'make-test-model.mjs'],
  ['src/cli/main.ts', 'cli.mjs'],
];
for (const [entry, file] of bundles) {
  await build({
    entryPoints: [path.join(ROOT, entry)],
    outfile: path.join(kitDir, file),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'linked',
    banner: {
      js: "import { createRequire as __kitRequire } from 'node:module'; const require = __kitRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}

const require = createRequire(import.meta.url);
const ortDist = path.dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
// In Node, onnxruntime-web imports its wasm glue (.mjs) beside the bundle, not the embedded copy.
for (const variant of ['asyncify', 'jspi']) {
  for (const ext of ['mjs', 'wasm']) {
    const file = `ort-wasm-simd-threaded.${variant}.${ext}`;
    copyFileSync(path.join(ortDist, file), path.join(kitDir, file));
  }
}
const webgpuDir = path.join(ROOT, 'node_modules', 'webgpu');
copyFileSync(
  path.join(webgpuDir, 'dist', 'linux-x64', 'dawn.node'),
  path.join(kitDir, 'dist', 'linux-x64', 'dawn.node'),
);
copyFileSync(path.join(webgpuDir, 'LICENSE.md'), path.join(kitDir, 'dawn-node-LICENSE.md'));
copyFileSync(values.bpe!, path.join(kitDir, 'clip-bpe-simple-vocab-16e6.txt.gz'));
copyFileSync(
  path.join(path.dirname(values.bpe!), 'clip-bpe-LICENSE.txt'),
  path.join(kitDir, 'clip-bpe-LICENSE.txt'),
);
copyFileSync(
  path.join(ROOT, 'bench', 'gpu-kit', 'bench-sdxl.sh'),
  path.join(kitDir, 'bench-sdxl.sh'),
);
chmodSync(path.join(kitDir, 'bench-sdxl.sh'), 0o755);
writeFileSync(
  path.join(kitDir, 'README.txt'),
  'SDXL Turbo in the browser: real-GPU benchmark kit. See the project README, section "Real-GPU benchmark kit".\n' +
    'Quick start: ./bench-sdxl.sh /path/with/40GB/free   (prints ms per stage and per image for fp16 and q4 replicas)\n',
);

mkdirSync(path.dirname(out), { recursive: true });
execFileSync('tar', ['-czf', out, '-C', staging, KIT]);
rmSync(staging, { recursive: true, force: true });
const bytes = statSync(out).size;
console.log(`wrote ${path.relative(process.cwd(), out)}: ${(bytes / 2 ** 20).toFixed(1)} MiB`);
if (bytes > MAX_BYTES) {
  console.error(`the kit is over ${MAX_BYTES / 2 ** 20} MiB`);
  process.exit(1);
}
