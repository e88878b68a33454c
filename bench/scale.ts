/**
 * `npm run scale`: the app with SDXL-size models (a measurement, not a test; not in CI).
 *
 *   npm run scale -- [--scale 1] [--layout webnn-q4f32|webnn-q4|optimum-fp32|weights-heavy]
 *                    [--size 512] [--loads 1] [--bare 1] [--cache .test-models/scale]
 *                    [--timeout-min 60] [--off-the-record] [--quick-reloads] [--sessions-only]
 *
 * Generates the replica once into the cache folder (scripts/test-model/sdxl), serves it from
 * localhost, and drives the built app (`npm run build` first) in Chromium: download and keep,
 * load, one image, then `--loads N` times in a row: reload, load from storage, one image. Then,
 * in a fresh browser, the same graphs from the same served bytes loaded by onnxruntime-web
 * alone (bench/scale-bare-page.ts), `--bare N` times. Prints per phase the seconds, MB/s and the
 * peak resident memory of the browser's processes (sampled from /proc every 200 ms: this
 * process's descendants, so other browsers do not count), split by process type at the peak,
 * and the app's load time (to the warm-up image) over the bare load's. Writes the rows as JSON
 * to bench/results/scale-<replica>-<size>.json.
 *
 * `--quick-reloads` (for many loads where the warm-up image is slow, as on SwiftShader): each
 * load but the last is timed until every session exists, then the page reloads without waiting
 * for its warm-up image; the first image is made only after the last load.
 *
 * `--sessions-only` (where only loading is in question, e.g. memory and the off-the-record
 * profile): every load is timed until every session exists and no image is made at all.
 *
 * `--layout weights-heavy` is not a replica but issue #15's single-file case: the tiny fp32 set
 * whose UNet's one external data file also holds forty 125 MiB tensors, each read on the GPU
 * (scripts/test-model/heavy-unet.ts; `--scale` does not apply). It loads 4.9 GiB like a real
 * UNet but generates as fast as the tiny model, so every load can make its image.
 * `--heavy-tensors N` sets how many 125 MiB tensors (0: the plain tiny set, as a baseline).
 *
 * Every request the page sends the worker is set to `--size`×`--size` (load warm-ups and
 * images), so sizes the UI does not offer (64, 128: what SwiftShader can finish) can be measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, expect, type Page } from '@playwright/test';
import {
  writeReplica,
  REPLICA_LAYOUTS,
  type ReplicaLayout,
} from '../scripts/test-model/sdxl/write-replica.ts';
import { HEAVY_UNET, writeHeavyModelSet } from '../scripts/test-model/heavy-unet.ts';
import { readCanvas } from '../e2e/support/app.ts';
import { chromiumLaunchOptions } from '../e2e/support/chromium.ts';
import { startModelServer } from '../e2e/support/model-server.ts';
import { bundlePage } from './bundle-page.ts';
import type { BareGraph, BareLoadResult } from './scale-bare-page.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    layout: { type: 'string', default: 'webnn-q4f32' },
    size: { type: 'string', default: '512' },
    loads: { type: 'string', default: '1' },
    bare: { type: 'string', default: '1' },
    'timeout-min': { type: 'string', default: '60' },
    'off-the-record': { type: 'boolean', default: false },
    'quick-reloads': { type: 'boolean', default: false },
    'sessions-only': { type: 'boolean', default: false },
    'heavy-tensors': { type: 'string', default: String(HEAVY_UNET.tensors) },
    cache: { type: 'string', default: path.join(ROOT, '.test-models/scale') },
    'preview-port': { type: 'string', default: '4373' },
    'model-port': { type: 'string', default: '4374' },
  },
});
const scale = Number(values.scale);
/** Issue #15's 4.9 GiB single-file UNet on the tiny set (see the module comment). */
const HEAVY = 'weights-heavy';
const heavy = values.layout === HEAVY;
const layout = values.layout as ReplicaLayout;
if (!heavy && !REPLICA_LAYOUTS.includes(layout))
  throw new Error(`--layout: one of ${[...REPLICA_LAYOUTS, HEAVY].join(', ')}`);
const size = Number(values.size);
const loads = Number(values.loads);
const bareLoads = Number(values.bare);
const sessionsOnly = values['sessions-only'] === true;
const quickReloads = values['quick-reloads'] === true || sessionsOnly;
const timeoutMs = Number(values['timeout-min']) * 60_000;
const ORT_DIST = path.join(ROOT, 'node_modules/onnxruntime-web/dist');
const GRAPH_DIRS = ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder', 'vae_encoder'];
const heavySpec = { ...HEAVY_UNET, tensors: Number(values['heavy-tensors']) };
if (!(Number.isInteger(heavySpec.tensors) && heavySpec.tensors >= 0))
  throw new Error('--heavy-tensors: a whole number, 0 or more');
const heavyName =
  heavySpec.tensors === HEAVY_UNET.tensors ? HEAVY : `${HEAVY}-${heavySpec.tensors}`;
const name = heavy ? heavyName : `sdxl-${scale}-${layout}`;
const modelDir = path.join(values.cache, name);

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, entry) => {
    const full = path.join(dir, entry);
    return sum + (statSync(full).isDirectory() ? dirBytes(full) : statSync(full).size);
  }, 0);
}

/** What kind of Chromium process a command line is (for where the memory goes). */
function processKind(pid: number): string {
  try {
    // Chromium rewrites its children's command lines into one space-separated title.
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    const type = /--type=(\S+)/.exec(cmd)?.[1];
    if (!type) return /chrom/i.test(cmd) ? 'browser' : 'node';
    const sub = /--utility-sub-type=(\S+)/.exec(cmd)?.[1];
    return sub ? `utility:${sub.split('.').at(-1)}` : type;
  } catch {
    return '?';
  }
}

/**
 * Resident memory of the browsers this process started, in bytes, in all and by process kind
 * (node children, i.e. Playwright's driver and vite, are left out).
 */
function descendantsRss(): { total: number; byKind: Record<string, number> } {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      parent.set(pid, Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0));
      rss.set(pid, Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  const byKind: Record<string, number> = {};
  for (const [pid, bytes] of rss) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        const kind = processKind(pid);
        if (kind === 'node') break;
        total += bytes;
        byKind[kind] = (byKind[kind] ?? 0) + bytes;
        break;
      }
    }
  }
  return { total, byKind };
}

interface Row {
  label: string;
  seconds: number;
  mbPerS: number | null;
  peakGiB: number;
  /** Resident memory by process kind at the phase's peak, GiB. */
  atPeakGiB: Record<string, number>;
  error?: string;
}
const rows: Row[] = [];
const GiB = 2 ** 30;

/**
 * Consecutive phases timed and memory-sampled (every 200 ms): `next(label, bytes)` closes the
 * running phase (printing its row) and starts another.
 */
class Phases {
  private current: { label: string; bytes: number; start: number } | null = null;
  private peak = { total: 0, byKind: {} as Record<string, number> };
  private readonly timer = setInterval(() => this.sample(), 200);

  private sample() {
    const now = descendantsRss();
    if (now.total > this.peak.total) this.peak = now;
  }

  next(label: string, bytes = 0): void {
    this.end();
    this.current = { label, bytes, start: performance.now() };
    this.peak = { total: 0, byKind: {} };
    this.sample();
  }

  /** Closes the running phase; `error` marks it failed. Returns its seconds. */
  end(error?: string): number {
    const phase = this.current;
    if (!phase) return 0;
    this.sample();
    this.current = null;
    const seconds = (performance.now() - phase.start) / 1000;
    const row: Row = {
      label: phase.label,
      seconds,
      mbPerS: phase.bytes > 0 ? phase.bytes / 1e6 / seconds : null,
      peakGiB: this.peak.total / GiB,
      atPeakGiB: Object.fromEntries(
        Object.entries(this.peak.byKind)
          .filter(([, b]) => b > 0.05 * GiB)
          .map(([k, b]) => [k, Number((b / GiB).toFixed(2))]),
      ),
      ...(error ? { error } : {}),
    };
    rows.push(row);
    const where = Object.entries(row.atPeakGiB)
      .map(([k, g]) => `${k} ${g.toFixed(2)}`)
      .join(', ');
    console.log(
      `${phase.label.padEnd(30)} ${seconds.toFixed(1).padStart(7)} s  ${row.mbPerS === null ? '         ' : `${row.mbPerS.toFixed(0).padStart(4)} MB/s`}  peak ${row.peakGiB.toFixed(2)} GiB (${where})${error ? `  FAILED: ${error}` : ''}`,
    );
    return seconds;
  }

  get running(): boolean {
    return this.current !== null;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Where a load is, from the page: the stage line, the status, or the error shown. Read in one
 * evaluation: the stage line disappears when the load ends, and a locator read between a count
 * and an attribute would then wait for it (that race ended one run as a false failure).
 */
async function loadState(page: Page): Promise<{ state: string; stage: string | null }> {
  // No named functions inside: tsx would wrap them in a helper the page does not have.
  return page.evaluate(() => {
    const q = '[data-testid="%"]';
    const error = document.querySelector<HTMLElement>(q.replace('%', 'error'));
    if (error) return { state: `error: ${error.innerText.replaceAll('\n', ' | ')}`, stage: null };
    const detail = document.querySelector<HTMLElement>(q.replace('%', 'load-stage-detail'));
    const status = document.querySelector<HTMLElement>(q.replace('%', 'status'));
    const stage = detail ? `${detail.dataset['stage']}|${detail.innerText}` : null;
    return { state: status?.dataset['state'] ?? '?', stage };
  });
}

/**
 * Waits until the page shows `until`: 'stage' (any load stage, i.e. loading has begun), 'warm-up'
 * (every session exists) or 'ready'. Prints the stage line each minute, so a stall shows where.
 */
async function waitFor(page: Page, until: 'stage' | 'warm-up' | 'ready'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastPrint = performance.now();
  for (;;) {
    const { state, stage } = await loadState(page);
    if (state.startsWith('error')) throw new Error(state);
    if (until === 'ready' && state === 'ready') return;
    if (until === 'stage' && (stage !== null || state === 'ready')) return;
    if (until === 'warm-up' && (stage?.startsWith('warm-up') || state === 'ready')) return;
    if (performance.now() - lastPrint > 60_000) {
      lastPrint = performance.now();
      console.log(`  ... ${state}: ${stage ?? '(no stage line)'}`);
    }
    if (performance.now() > deadline) throw new Error(`timed out at ${state}: ${stage}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Makes one image; returns the SHA-256 of its pixels (a load that generates gives the same). */
async function image(page: Page): Promise<string> {
  await page.getByTestId('live').uncheck();
  await page.getByTestId('prompt').fill('a photo of a cat');
  await page.getByTestId('seed').fill('1');
  await page.getByTestId('steps').selectOption('1');
  const canvas = page.getByTestId('output');
  const before = await canvas.getAttribute('data-frame-id');
  await page.getByTestId('generate').click();
  const error = page.getByTestId('error');
  await expect
    .poll(
      async () => {
        if (await error.count()) return `error: ${await error.innerText()}`;
        const id = await canvas.getAttribute('data-frame-id');
        const preview = await canvas.getAttribute('data-preview-step');
        return id !== null && id !== before && preview === null ? 'frame' : 'waiting';
      },
      { timeout: timeoutMs, intervals: [250] },
    )
    .toBe('frame');
  const { data } = await readCanvas(page);
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** The pixels' hash of every image made, by phase. */
const images: Array<{ label: string; sha256: string }> = [];

/** Makes an image as phase `label` and records its hash. */
async function imagePhase(page: Page, phases: Phases, label: string): Promise<void> {
  phases.next(label);
  const sha256 = await image(page);
  images.push({ label, sha256 });
  phases.end();
  console.log(`  pixels sha256 ${sha256}`);
}

/** onnxruntime's note that shape ops run on the CPU, once per session: not news here. */
const isOrtNoise = (text: string) => text.includes('VerifyEachNodeIsAssignedToAnEp');

/** Sets every load warm-up and image the page asks the worker for to side × side. */
function forceSize(side: number) {
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, message: unknown, ...rest: unknown[]) {
    const m = message as { type?: string; params?: object } | null;
    if (m?.type === 'load-model')
      message = { ...m, warmUp: { width: side, height: side, steps: 1 } };
    if (m?.type === 'generate')
      message = { ...m, params: { ...m.params, width: side, height: side } };
    return (post as (...a: unknown[]) => void).call(this, message, ...rest);
  } as Worker['postMessage'];
}

/** A page that loads bench/scale-bare-page.ts, beside onnxruntime-web's runtime files. */
async function startBareServer(script: string) {
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(
        '<!doctype html><meta charset="utf-8"><title>bare load</title><script type="module" src="/bare.js"></script>',
      );
    }
    if (pathname === '/favicon.ico') return res.writeHead(204).end();
    if (pathname === '/bare.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(script);
    }
    if (/^\/ort-wasm[\w.-]+\.(mjs|wasm)$/.test(pathname)) {
      const file = path.join(ORT_DIST, pathname.slice(1));
      if (!existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200, {
        'Content-Type': pathname.endsWith('.wasm') ? 'application/wasm' : 'text/javascript',
        'Content-Length': statSync(file).size,
      });
      return createReadStream(file).pipe(res);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The graphs and their external data files, as the replica's folders hold them. */
function bareGraphs(): BareGraph[] {
  return GRAPH_DIRS.filter((dir) => existsSync(path.join(modelDir, dir, 'model.onnx'))).map(
    (dir) => ({
      dir,
      externalData: readdirSync(path.join(modelDir, dir)).filter((f) => f !== 'model.onnx'),
    }),
  );
}

/**
 * Chromium with a profile on disk, as a user has: Playwright's default contexts are off the
 * record, where IndexedDB and large Blobs live in memory (`--off-the-record` measures that).
 */
async function openBrowser(): Promise<{ page: Page; close(): Promise<void> }> {
  if (values['off-the-record']) {
    const browser = await chromium.launch(chromiumLaunchOptions);
    return { page: await browser.newPage(), close: () => browser.close() };
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'scale-profile-'));
  const context = await chromium.launchPersistentContext(profile, chromiumLaunchOptions);
  return {
    page: context.pages()[0] ?? (await context.newPage()),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function appRun(appUrl: string, modelBytes: number, phases: Phases) {
  const browser = await openBrowser();
  try {
    const page = browser.page;
    await page.addInitScript(forceSize, size);
    page.on('console', (m) => {
      if ((m.type() === 'error' || m.type() === 'warning') && !isOrtNoise(m.text()))
        console.log(`  [page ${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    await page.goto(appUrl);
    await page.getByTestId('download-confirm').click({ timeout: 120_000 });
    phases.next('download and keep', modelBytes);
    await waitFor(page, 'stage');
    phases.next('load (to warm-up)', modelBytes);
    await waitFor(page, 'warm-up');
    if (!quickReloads) {
      phases.next(`warm-up image ${size}x${size}`);
      await waitFor(page, 'ready');
      await imagePhase(page, phases, `first image ${size}x${size}`);
    }
    for (let i = 1; i <= loads; i++) {
      phases.next(`reload: load #${i} (to warm-up)`, modelBytes);
      await page.goto(appUrl);
      await waitFor(page, 'warm-up');
      // --quick-reloads: every session exists; reload now rather than wait for the warm-up.
      if ((quickReloads && i < loads) || sessionsOnly) continue;
      phases.next(`reload: warm-up #${i}`);
      await waitFor(page, 'ready');
      // Each load from storage makes its image (with --quick-reloads only the last, below).
      if (!quickReloads) await imagePhase(page, phases, `reload: image #${i} ${size}x${size}`);
    }
    if (!sessionsOnly && (quickReloads || loads === 0)) {
      await imagePhase(page, phases, `image ${size}x${size}`);
    }
    phases.end();
  } catch (error) {
    const message = String(error instanceof Error ? error.message : error).split('\n')[0]!;
    // Before the first phase (the page, the download button) there is no row to mark failed.
    if (phases.running) phases.end(message);
    else console.log(`app run FAILED before its first phase: ${message}`);
  } finally {
    await browser.close();
  }
}

async function bareRun(modelOrigin: string, phases: Phases, modelBytes: number) {
  const { server, origin } = await startBareServer(
    await bundlePage(path.join(ROOT, 'bench/scale-bare-page.ts')),
  );
  const browser = await openBrowser();
  const results: BareLoadResult[] = [];
  try {
    const page = browser.page;
    page.on('pageerror', (e) => console.log(`  [bare page error] ${e.message}`));
    page.on('console', (m) => {
      if ((m.type() === 'error' || m.type() === 'warning') && !isOrtNoise(m.text()))
        console.log(`  [bare page ${m.type()}] ${m.text()}`);
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (globalThis as { bareReady?: boolean }).bareReady === true);
    for (let i = 1; i <= bareLoads; i++) {
      phases.next(`bare onnxruntime-web load #${i}`, modelBytes);
      const result = await page.evaluate(
        (a) =>
          (
            globalThis as unknown as {
              bareLoad(base: string, graphs: BareGraph[]): Promise<BareLoadResult>;
            }
          ).bareLoad(a.base, a.graphs),
        { base: `${modelOrigin}/${name}/`, graphs: bareGraphs() },
      );
      phases.end();
      results.push(result);
      console.log(
        `  ${result.build} build: ${result.graphs.map((g) => `${g.dir} fetch ${(g.fetchMs / 1000).toFixed(1)} s + create ${(g.createMs / 1000).toFixed(1)} s`).join('; ')}`,
      );
    }
  } catch (error) {
    phases.end(String(error instanceof Error ? error.message : error).split('\n')[0]);
  } finally {
    await browser.close();
    server.close();
  }
  return results;
}

async function main() {
  const phases = new Phases();
  if (!existsSync(path.join(modelDir, 'test-model.json'))) {
    console.log(`generating ${name} into ${modelDir} ...`);
    phases.next(heavy ? 'generate model set' : 'generate replica');
    if (heavy) writeHeavyModelSet(modelDir, heavySpec);
    else writeReplica(modelDir, { scale, layout });
    phases.end();
  }
  const modelBytes = dirBytes(modelDir);
  console.log(
    `${name}: ${(modelBytes / 1e9).toFixed(2)} GB; memory budget (weights + 1.5 GiB) ${((modelBytes + 1.5 * GiB) / GiB).toFixed(2)} GiB; images ${size}x${size}`,
  );
  if (!existsSync(path.join(ROOT, 'dist/index.html'))) throw new Error('run `npm run build` first');

  const server = await startModelServer({ root: values.cache, port: Number(values['model-port']) });
  const preview: ChildProcess = spawn(
    // vite itself (not through npx), so that kill() ends the server and not only a wrapper.
    path.join(ROOT, 'node_modules/.bin/vite'),
    ['preview', '--host', '127.0.0.1', '--port', values['preview-port'], '--strictPort'],
    { cwd: ROOT, stdio: 'ignore' },
  );
  const appOrigin = `http://127.0.0.1:${values['preview-port']}`;
  let bare: BareLoadResult[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(appOrigin).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const appUrl = `${appOrigin}/?model=${encodeURIComponent(`${server.origin}/${name}/`)}&backend=webgpu`;
    await appRun(appUrl, modelBytes, phases);
    if (bareLoads > 0) bare = await bareRun(server.origin, phases, modelBytes);
  } finally {
    phases.stop();
    preview.kill();
    await server.close();
  }

  // The app's load to its warm-up image (reading, sessions, uploads) over the bare load.
  const bareSeconds = rows
    .filter((r) => r.label.startsWith('bare') && !r.error)
    .map((r) => r.seconds);
  const bareBest = bareSeconds.length ? Math.min(...bareSeconds) : null;
  const appLoads = rows.filter((r) => /^(load|reload: load)/.test(r.label) && !r.error);
  const ratios = appLoads.map((r) => ({
    label: r.label,
    ratio: bareBest ? r.seconds / bareBest : null,
  }));
  if (bareBest) {
    console.log(`app load ÷ bare load (fastest bare, ${bareBest.toFixed(1)} s):`);
    for (const r of ratios) console.log(`  ${r.label.padEnd(30)} ${r.ratio!.toFixed(2)}`);
  }
  if (images.length > 0) {
    const distinct = new Set(images.map((i) => i.sha256)).size;
    console.log(`${images.length} image(s), ${distinct} distinct pixel hash(es)`);
  }
  const out = path.join(ROOT, 'bench/results', `scale-${name}-${size}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        name,
        modelBytes,
        budgetGiB: (modelBytes + 1.5 * GiB) / GiB,
        size,
        loads,
        machine: { cpus: os.cpus().length, memoryGB: os.totalmem() / 1e9 },
        rows,
        images,
        bare,
        ratios,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${path.relative(ROOT, out)}`);
}

await main();
