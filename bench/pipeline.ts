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
import type { BareResult, ImageRequest, ImageResult, LoadResult } from './pipeline-page.ts';
import {
  measureMode,
  printResults,
  writeResults,
  type BenchCalls,
  type Mode,
  type ModeResult,
} from './pipeline-measure.ts';
import { chromium } from '@playwright/test';
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ORT_DIST = path.join(HERE, '../node_modules/onnxruntime-web/dist');

/** The functions bench/pipeline-page.ts puts on the page's globalThis. */
interface PageBench {
  benchLoad(baseUrl: string, gpuResident: boolean): Promise<LoadResult>;
  benchImage(request: ImageRequest): Promise<ImageResult>;
  benchBare(): Promise<BareResult>;
}

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
    const calls: BenchCalls = {
      userAgent: async () => (await page.evaluate(() => navigator.userAgent)) as string,
      load: (gpu) =>
        page.evaluate((a) => (globalThis as unknown as PageBench).benchLoad(a.url, a.gpu), {
          url: `${origin}/model/`,
          gpu,
        }),
      image: (request) =>
        page.evaluate((r) => (globalThis as unknown as PageBench).benchImage(r), request),
      bare: () => page.evaluate(() => (globalThis as unknown as PageBench).benchBare()),
    };
    return await measureMode(mode, calls, opts);
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const opts = options();
  const script = await bundlePage(path.join(HERE, 'pipeline-page.ts'));
  const { server, origin } = await startServer(script, opts.modelDir);
  try {
    const results: ModeResult[] = [];
    for (const mode of opts.modes) results.push(await benchMode(mode, origin, opts));
    printResults(results, opts);
    writeResults(
      opts.out,
      opts,
      {},
      'Page thread of headless Chromium. host = every stage read back and scheduler on the CPU; gpu = GPU-resident. ratioToBare = median over N alternating pairs of (pipeline image ms / sum of bare session.run times of the model graphs (text encoders, UNet steps, VAE decoder) with the same feeds, each timed to GPU idle, outputs left where the session puts them). readBytes/writeBytes: GPUBuffer.mapAsync(READ) / writeBuffer+mapAsync(WRITE) bytes.',
      results,
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
