/**
 * Storage benchmark (a measurement, not a test):
 *
 *   npm run bench -- [--only storage] [--size-mb 1024] [--chunk-mb 16] [--out bench/results/storage.json]
 *
 * Serves a page and a synthetic weight file (deterministic bytes, streamed, Range-capable) from
 * node:http on 127.0.0.1, opens the page in headless Chromium (the system browser, with an
 * on-disk profile so IndexedDB really writes to disk) and times, over the same bytes:
 *   fetch  - plain fetch read to the end (the baseline)
 *   raw-idb - the same bytes put as Blob chunks into a bare IndexedDB store (the ceiling)
 *   store  - the download manager streaming the file into the chunk store
 *   reload - the stored file as one Blob, streamed through to the end
 * While each phase runs it polls the page's JS heap (CDP Runtime.getHeapUsage) and the resident
 * memory of all Chromium processes, and reports the peaks. Prints a table; writes JSON.
 */
import { bundlePage } from './bundle-page.ts';
import { chromium, type CDPSession } from '@playwright/test';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { testBytes } from '../src/storage/testing/weight-server.ts';

const MiB = 1024 * 1024;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

interface Phase {
  name: 'fetch' | 'raw-idb' | 'store' | 'reload';
  bytes: number;
  ms: number;
  mbPerSecond: number;
  ratioToFetch: number;
  peakJsHeapMB: number;
  peakChromiumRssMB: number;
}

function options() {
  const { values } = parseArgs({
    options: {
      'size-mb': { type: 'string', default: '1024' },
      'chunk-mb': { type: 'string', default: '16' },
      out: { type: 'string', default: path.join(HERE, 'results', 'storage.json') },
    },
    strict: true,
  });
  const sizeMb = Number(values['size-mb']);
  const chunkMb = Number(values['chunk-mb']);
  if (!Number.isInteger(sizeMb) || sizeMb <= 0)
    throw new Error('--size-mb must be a positive integer');
  if (!(chunkMb > 0)) throw new Error('--chunk-mb must be positive');
  return { size: sizeMb * MiB, chunkSize: Math.round(chunkMb * MiB), out: values.out! };
}

/**
 * Block k of the synthetic file: 1 MiB of fixed pseudo-random bytes whose first 4 bytes hold k
 * (little-endian), so the reload can check it got every block back in order.
 */
const PATTERN = Buffer.from(testBytes(MiB, 2463534242));

function block(index: number): Buffer {
  const copy = Buffer.from(PATTERN);
  copy.writeUInt32LE(index, 0);
  return copy;
}

/** Streams bytes [start, end) of the synthetic file, respecting backpressure. */
function streamSynthetic(res: http.ServerResponse, start: number, end: number): void {
  let at = start;
  const pump = () => {
    while (at < end) {
      const index = Math.floor(at / MiB);
      const from = at - index * MiB;
      const to = Math.min(MiB, end - index * MiB);
      const piece = block(index).subarray(from, to);
      at += piece.byteLength;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.on('close', () => (at = end));
  pump();
}

async function startServer(size: number, script: string) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(
        '<!doctype html><meta charset="utf-8"><title>storage bench</title><script type="module" src="/bench.js"></script>',
      );
    }
    if (url.pathname === '/bench.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(script);
    }
    if (url.pathname === '/weights.bin') {
      const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      const start = match ? Number(match[1]) : 0;
      const end = match?.[2] ? Number(match[2]) + 1 : size;
      const headers: Record<string, string | number> = {
        'Content-Type': 'application/octet-stream',
        'Content-Length': end - start,
        'Accept-Ranges': 'bytes',
        'Cache-Control': 'no-store',
      };
      if (match) headers['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
      res.writeHead(match ? 206 : 200, headers);
      if (req.method === 'HEAD') return res.end();
      return streamSynthetic(res, start, end);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Resident memory (bytes) of every process below this one: Chromium's browser, GPU, renderers. */
function descendantRss(): number {
  const parents = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      rss.set(Number(entry), Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  for (const [pid, bytes] of rss) {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p === process.pid) {
        total += bytes;
        break;
      }
    }
  }
  return total;
}

/** Runs `work` while sampling the page's JS heap and Chromium's memory; returns the peaks. */
async function withPeaks<T>(cdp: CDPSession, work: () => Promise<T>) {
  let heap = 0;
  let rss = 0;
  let running = true;
  const sample = async () => {
    while (running) {
      try {
        // usedSize is the V8 heap; ArrayBuffer contents (the chunk buffers) are counted apart,
        // in backingStorageSize (Chrome 120+).
        const usage = (await cdp.send('Runtime.getHeapUsage')) as {
          usedSize: number;
          backingStorageSize?: number;
        };
        heap = Math.max(heap, usage.usedSize + (usage.backingStorageSize ?? 0));
      } catch {
        // the page is busy closing
      }
      rss = Math.max(rss, descendantRss());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const sampler = sample();
  try {
    const result = await work();
    return { result, peakHeap: heap, peakRss: rss };
  } finally {
    running = false;
    await sampler;
  }
}

async function phase(
  cdp: CDPSession,
  name: Phase['name'],
  call: () => Promise<{ bytes: number; ms: number }>,
): Promise<Omit<Phase, 'ratioToFetch'>> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { result, peakHeap, peakRss } = await withPeaks(cdp, call);
  return {
    name,
    bytes: result.bytes,
    ms: result.ms,
    mbPerSecond: result.bytes / 1e6 / (result.ms / 1000),
    peakJsHeapMB: peakHeap / 1e6,
    peakChromiumRssMB: peakRss / 1e6,
  };
}

async function main(): Promise<void> {
  const { size, chunkSize, out } = options();
  const script = await bundlePage(path.join(HERE, 'storage-page.ts'));
  const { server, origin } = await startServer(size, script);
  const profile = mkdtempSync(path.join(os.tmpdir(), 'storage-bench-profile-'));
  // A persistent (on-disk) profile: a fresh incognito-like context keeps IndexedDB in memory.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--enable-unsafe-webgpu'],
    chromiumSandbox: false,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => console.error('page error:', error.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (globalThis as { benchReady?: boolean }).benchReady === true);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Runtime.enable');
    const url = `${origin}/weights.bin`;
    type Bench = {
      benchFetch(url: string): Promise<{ bytes: number; ms: number }>;
      benchRawIdb(url: string, chunk: number): Promise<{ bytes: number; ms: number }>;
      benchStore(url: string, size: number, chunk: number): Promise<{ bytes: number; ms: number }>;
      benchReload(): Promise<{ bytes: number; ms: number; verifiedBlocks: number }>;
      storageEstimate(): Promise<{ quota?: number; usage?: number }>;
    };
    const estimate = await page.evaluate(() => (globalThis as unknown as Bench).storageEstimate());
    console.log(
      `synthetic file ${size / MiB} MiB, chunks ${chunkSize / MiB} MiB; quota ${((estimate.quota ?? 0) / 1e9).toFixed(1)} GB`,
    );

    const fetched = await phase(cdp, 'fetch', () =>
      page.evaluate((u) => (globalThis as unknown as Bench).benchFetch(u), url),
    );
    const raw = await phase(cdp, 'raw-idb', () =>
      page.evaluate(([u, c]) => (globalThis as unknown as Bench).benchRawIdb(u, c), [
        url,
        chunkSize,
      ] as const),
    );
    const stored = await phase(cdp, 'store', () =>
      page.evaluate(([u, s, c]) => (globalThis as unknown as Bench).benchStore(u, s, c), [
        url,
        size,
        chunkSize,
      ] as const),
    );
    let verifiedBlocks = 0;
    const reloaded = await phase(cdp, 'reload', async () => {
      const r = await page.evaluate(() => (globalThis as unknown as Bench).benchReload());
      verifiedBlocks = r.verifiedBlocks;
      return r;
    });
    for (const p of [fetched, raw, stored, reloaded]) {
      if (p.bytes !== size) throw new Error(`${p.name}: ${p.bytes} bytes, expected ${size}`);
    }
    const phases: Phase[] = [fetched, raw, stored, reloaded].map((p) => ({
      ...p,
      ratioToFetch: p.mbPerSecond / fetched.mbPerSecond,
    }));

    const row = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(14))).join('');
    console.log(row(['phase', 'MB/s', 'x fetch', 'seconds', 'peak JS mem', 'peak RSS']));
    for (const p of phases) {
      console.log(
        row([
          p.name,
          p.mbPerSecond.toFixed(0),
          p.ratioToFetch.toFixed(2),
          (p.ms / 1000).toFixed(2),
          `${p.peakJsHeapMB.toFixed(0)} MB`,
          `${p.peakChromiumRssMB.toFixed(0)} MB`,
        ]),
      );
    }
    console.log(`reload verified ${verifiedBlocks} of ${size / MiB} block headers`);

    const browserVersion = await page.evaluate(() => navigator.userAgent);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(
      out,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          sizeBytes: size,
          chunkSize,
          machine: {
            cpus: os.cpus().length,
            cpuModel: os.cpus()[0]?.model,
            memoryGB: os.totalmem() / 1e9,
          },
          browser: browserVersion,
          quotaBytes: estimate.quota ?? null,
          note: 'Page main thread, localhost, headless Chromium with an on-disk profile. Peaks are polled every 50 ms: JS memory of the page (CDP Runtime.getHeapUsage usedSize + backingStorageSize, i.e. V8 heap plus ArrayBuffer contents), RSS summed over all Chromium processes.',
          phases,
          verifiedBlocks,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await context.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
