/**
 * Pipeline benchmark (a measurement, not a test):
 *
 *   npm run bench -- --only pipeline [--model-dir .test-models/tiny-fp32] [--images 5]
 *     [--steps 1] [--size 512] [--modes host,gpu] [--decoder vae|taesd] [--browser /usr/bin/chromium]
 *     [--browser-arg --use-angle=vulkan ...] [--out bench/results/pipeline.json]
 *
 * Serves a page, onnxruntime-web's wasm files and the model directory from node:http on
 * 127.0.0.1 and opens the page in headless Chromium with WebGPU. For each mode, in a fresh
 * browser (so no shader compiled by the other mode is reused):
 *   host - the pipeline as it was: every session output read back, scheduler on the CPU
 *   gpu  - GPU-resident: outputs stay in GPU buffers, helper graphs for concat/step/pixels
 * it measures the model load, the first image after load (cold: shader compilation), N
 * steady-state images (distinct prompts, so the prompt cache never hides the text encoders),
 * the bytes read back from / written to the GPU per image (wrapped mapAsync/writeBuffer), one
 * image with a GPU sync after every stage (ms per stage), and then the same graphs with the
 * same feeds (recorded from one pipeline image) as bare `session.run` calls, each timed to GPU
 * idle. The ratio pipeline / bare is the pipeline's overhead over the runtime itself.
 */
import { bundlePage } from './bundle-page.ts';
import type { ImageRequest } from './pipeline-page.ts';
import { chromium } from '@playwright/test';
import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { StageTimings } from '../src/pipeline/text-to-image.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ORT_DIST = path.join(HERE, '../node_modules/onnxruntime-web/dist');

type Mode = 'host' | 'gpu';

function options() {
  const { values } = parseArgs({
    options: {
      'model-dir': { type: 'string', default: path.join(HERE, '../.test-models/tiny-fp32') },
      images: { type: 'string', default: '5' },
      steps: { type: 'string', default: '1' },
      size: { type: 'string', default: '512' },
      modes: { type: 'string', default: 'host,gpu' },
      decoder: { type: 'string', default: 'vae' },
      browser: { type: 'string', default: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium' },
      'browser-arg': { type: 'string', multiple: true, default: [] },
      headed: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join(HERE, 'results', 'pipeline.json') },
    },
    strict: true,
  });
  const modes = values.modes!.split(',').map((m) => m.trim());
  for (const m of modes) if (m !== 'host' && m !== 'gpu') throw new Error(`unknown mode ${m}`);
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  return {
    modelDir: path.resolve(values['model-dir']!),
    images: int('images', values.images, 1),
    steps: int('steps', values.steps, 1),
    size: int('size', values.size, 64),
    modes: modes as Mode[],
    decoder: values.decoder === 'taesd' ? ('taesd' as const) : ('vae' as const),
    browser: values.browser!,
    browserArgs: values['browser-arg']!,
    headed: values.headed!,
    out: path.resolve(values.out!),
  };
}

/** The page, onnxruntime-web's runtime files (beside the page, where its bundle looks) and /model/. */
async function startServer(script: string, modelDir: string) {
  const sendFile = (res: http.ServerResponse, file: string, type: string) => {
    let size: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a file');
      size = stat.size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': size,
      'Cache-Control': 'no-store',
      'Access-Control-Allow-Origin': '*',
    });
    createReadStream(file).pipe(res);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const pathname = decodeURIComponent(url.pathname);
    if (pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(
        '<!doctype html><meta charset="utf-8"><title>pipeline bench</title><script type="module" src="/bench.js"></script>',
      );
    }
    if (pathname === '/bench.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(script);
    }
    if (/^\/ort-wasm[\w.-]+\.(mjs|wasm)$/.test(pathname)) {
      const type = pathname.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      return sendFile(res, path.join(ORT_DIST, pathname.slice(1)), type);
    }
    if (pathname.startsWith('/model/')) {
      const file = path.resolve(modelDir, `.${pathname.slice('/model'.length)}`);
      if (!file.startsWith(modelDir + path.sep)) return res.writeHead(403).end();
      return sendFile(res, file, 'application/octet-stream');
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface ImageResult {
  ms: number;
  timings: StageTimings;
  readBytes: number;
  writeBytes: number;
  checksum: number;
}

interface Bench {
  benchLoad(
    baseUrl: string,
    gpuResident: boolean,
  ): Promise<{
    loadMs: number;
    adapter: string | null;
    shaderF16: boolean;
    dtype: string;
    gpuResident: boolean;
  }>;
  benchImage(request: ImageRequest): Promise<ImageResult>;
  benchBare(): Promise<{ calls: Array<{ graph: string; ms: number }>; readBytes: number }>;
  browserInfo(): { userAgent: string };
}

const MODEL_GRAPHS = new Set(['textEncoder', 'textEncoder2', 'unet', 'vaeDecoder']);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function benchMode(mode: Mode, origin: string, opts: ReturnType<typeof options>) {
  const browser = await chromium.launch({
    executablePath: opts.browser,
    headless: !opts.headed,
    args: ['--enable-unsafe-webgpu', ...opts.browserArgs],
    chromiumSandbox: false,
  });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error('page error:', error.message));
    page.on('console', (m) => {
      if (m.type() === 'error') console.error('page console:', m.text());
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (globalThis as { benchReady?: boolean }).benchReady === true);
    const userAgent = (await page.evaluate(() => navigator.userAgent)) as string;
    const loaded = await page.evaluate(
      (a) => (globalThis as unknown as Bench).benchLoad(a.url, a.gpu),
      { url: `${origin}/model/`, gpu: mode === 'gpu' },
    );
    const image = (
      prompt: string,
      seed: number,
      extra: { syncStages?: boolean; record?: boolean } = {},
    ) =>
      page.evaluate((r) => (globalThis as unknown as Bench).benchImage(r), {
        prompt,
        seed,
        steps: opts.steps,
        width: opts.size,
        height: opts.size,
        decoder: opts.decoder,
        ...extra,
      });
    const first = await image('a photo of a cat, first image', 1);
    const staged = await image('a photo of a cat, synced stages', 7, { syncStages: true });
    await image('a photo of a cat, reference', 42, { record: true });
    // Pipeline images and bare replays alternate, so that a change in machine load (this
    // machine's WebGPU runs on shared CPU cores) hits both sides of each ratio alike.
    const steady: ImageResult[] = [];
    const bareRuns: Array<{ calls: Array<{ graph: string; ms: number }>; readBytes: number }> = [];
    const pairRatios: number[] = [];
    const modelSum = (run: { calls: Array<{ graph: string; ms: number }> }) =>
      run.calls.filter((c) => MODEL_GRAPHS.has(c.graph)).reduce((s, c) => s + c.ms, 0);
    for (let i = 0; i < opts.images; i++) {
      const img = await image(`a photo of a cat number ${i}`, 100 + i);
      const bare = await page.evaluate(() => (globalThis as unknown as Bench).benchBare());
      steady.push(img);
      bareRuns.push(bare);
      pairRatios.push(img.ms / modelSum(bare));
    }
    const bareModel = median(bareRuns.map(modelSum));
    const bareAll = median(bareRuns.map((run) => run.calls.reduce((s, c) => s + c.ms, 0)));
    const bareByGraph: Record<string, number> = {};
    for (const run of bareRuns) {
      for (const c of run.calls)
        bareByGraph[c.graph] = (bareByGraph[c.graph] ?? 0) + c.ms / bareRuns.length;
    }
    const steadyMs = median(steady.map((s) => s.ms));
    const meanMs = steady.reduce((s, x) => s + x.ms, 0) / steady.length;
    return {
      mode,
      userAgent,
      ...loaded,
      firstImageMs: first.ms,
      steadyImageMs: steadyMs,
      steadyImagesPerSecond: 1000 / meanMs,
      steadyImageMsAll: steady.map((s) => s.ms),
      readBytesPerImage: median(steady.map((s) => s.readBytes)),
      writeBytesPerImage: median(steady.map((s) => s.writeBytes)),
      bareModelGraphsMs: bareModel,
      bareAllGraphsMs: bareAll,
      bareByGraphMs: bareByGraph,
      bareCalls: bareRuns[0]!.calls.map((c) => c.graph),
      ratioToBare: median(pairRatios),
      pairRatios,
      ratioToBareAllGraphs: steadyMs / bareAll,
      stagesSynced: staged.timings,
      stagesUnsynced: steady[steady.length - 1]!.timings,
    };
  } finally {
    await browser.close();
  }
}

type ModeResult = Awaited<ReturnType<typeof benchMode>>;

function stageRows(t: StageTimings): Array<[string, number]> {
  return [
    ['tokenize', t.tokenize],
    ['text encoders', t.textEncoders],
    ...t.unetSteps.map((ms, i): [string, number] => [`unet step ${i + 1}`, ms]),
    ['vae decode', t.vaeDecode],
    ...(t.readback !== undefined ? [['readback', t.readback] as [string, number]] : []),
    ['to pixels', t.toPixels],
    ['total', t.total],
  ];
}

function print(results: ModeResult[], opts: ReturnType<typeof options>): void {
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  console.log(
    `model ${opts.modelDir} (${results[0]?.dtype}), ${opts.size}x${opts.size}, ${opts.steps} step(s), ${opts.images} steady images; adapter: ${results[0]?.adapter}`,
  );
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(26) : c.padStart(14))).join('');
  console.log(row(['', ...results.map((r) => r.mode)]));
  const line = (name: string, f: (r: ModeResult) => string) =>
    console.log(row([name, ...results.map(f)]));
  line('load (ms)', (r) => r.loadMs.toFixed(0));
  line('first image (ms)', (r) => r.firstImageMs.toFixed(0));
  line('steady image (ms, median)', (r) => r.steadyImageMs.toFixed(1));
  line('images per second', (r) => r.steadyImagesPerSecond.toFixed(2));
  line('bare session.run sum (ms)', (r) => r.bareModelGraphsMs.toFixed(1));
  line('  + helper graphs (ms)', (r) => r.bareAllGraphsMs.toFixed(1));
  line('pipeline / bare (median)', (r) => r.ratioToBare.toFixed(3));
  line('read back per image', (r) => kib(r.readBytesPerImage));
  line('uploaded per image', (r) => kib(r.writeBytesPerImage));
  console.log('ms per stage (GPU synced after each stage):');
  const stageNames = stageRows(results[0]!.stagesSynced).map(([n]) => n);
  const names = new Set([
    ...stageNames,
    ...results.flatMap((r) => stageRows(r.stagesSynced).map(([n]) => n)),
  ]);
  for (const name of names) {
    line(`  ${name}`, (r) => {
      const v = stageRows(r.stagesSynced).find(([n]) => n === name)?.[1];
      return v === undefined ? '-' : v.toFixed(1);
    });
  }
  console.log('bare session.run by graph (ms):');
  const graphs = new Set(results.flatMap((r) => Object.keys(r.bareByGraphMs)));
  for (const g of graphs) line(`  ${g}`, (r) => r.bareByGraphMs[g]?.toFixed(1) ?? '-');
}

async function main(): Promise<void> {
  const opts = options();
  const script = await bundlePage(path.join(HERE, 'pipeline-page.ts'));
  const { server, origin } = await startServer(script, opts.modelDir);
  try {
    const results: ModeResult[] = [];
    for (const mode of opts.modes) results.push(await benchMode(mode, origin, opts));
    print(results, opts);
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(
      opts.out,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          modelDir: opts.modelDir,
          size: opts.size,
          steps: opts.steps,
          images: opts.images,
          machine: {
            cpus: os.cpus().length,
            cpuModel: os.cpus()[0]?.model,
            memoryGB: os.totalmem() / 1e9,
          },
          note: 'Page thread of headless Chromium. host = every stage read back and scheduler on the CPU; gpu = GPU-resident. ratioToBare = median over N alternating pairs of (pipeline image ms / sum of bare session.run times of the model graphs (text encoders, UNet steps, VAE decoder) with the same feeds, each timed to GPU idle, outputs left where the session puts them). readBytes/writeBytes: GPUBuffer.mapAsync(READ) / writeBuffer+mapAsync(WRITE) bytes.',
          results,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`wrote ${path.relative(process.cwd(), opts.out)}`);
  } finally {
    server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
