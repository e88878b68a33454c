/**
 * `npm run scale`: the app with SDXL-size models (a measurement, not a test; not in CI).
 *
 *   npm run scale -- [--scale 1] [--layout webnn-q4f32|webnn-q4|optimum-fp32] [--size 512]
 *                    [--loads 1] [--cache .test-models/scale]
 *
 * Generates the replica once into the cache folder (scripts/test-model/sdxl), serves it from
 * localhost, and drives the built app (`npm run build` first) in Chromium: download and keep,
 * one image, reload and load from storage (`--loads N` times in a row), one image. Prints per
 * phase the seconds, MB/s and the peak resident memory of the browser's processes (sampled
 * from /proc every 200 ms: this process's descendants, so other browsers do not count).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, expect, type Page } from '@playwright/test';
import {
  writeReplica,
  REPLICA_LAYOUTS,
  type ReplicaLayout,
} from '../scripts/test-model/sdxl/write-replica.ts';
import { chromiumLaunchOptions } from '../e2e/support/chromium.ts';
import { startModelServer } from '../e2e/support/model-server.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    layout: { type: 'string', default: 'webnn-q4f32' },
    size: { type: 'string', default: '512' },
    loads: { type: 'string', default: '1' },
    cache: { type: 'string', default: path.join(ROOT, '.test-models/scale') },
    'preview-port': { type: 'string', default: '4373' },
    'model-port': { type: 'string', default: '4374' },
  },
});
const scale = Number(values.scale);
const layout = values.layout as ReplicaLayout;
if (!REPLICA_LAYOUTS.includes(layout))
  throw new Error(`--layout: one of ${REPLICA_LAYOUTS.join(', ')}`);
const size = Number(values.size);
const loads = Number(values.loads);
const name = `sdxl-${scale}-${layout}`;
const modelDir = path.join(values.cache, name);

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, entry) => {
    const full = path.join(dir, entry);
    return sum + (statSync(full).isDirectory() ? dirBytes(full) : statSync(full).size);
  }, 0);
}

/** Resident memory of every descendant process of this one, in bytes. */
function descendantsRss(): number {
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
  for (const [pid, bytes] of rss) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        total += bytes;
        break;
      }
    }
  }
  return total;
}

/** Samples memory while `work` runs; returns its seconds and the peak. */
async function phase<T>(label: string, bytes: number, work: () => Promise<T>) {
  let peak = descendantsRss();
  const timer = setInterval(() => (peak = Math.max(peak, descendantsRss())), 200);
  const start = performance.now();
  try {
    const result = await work();
    const seconds = (performance.now() - start) / 1000;
    const row = {
      label,
      seconds,
      mbPerS: bytes > 0 ? bytes / 1e6 / seconds : null,
      peakGiB: peak / 2 ** 30,
    };
    rows.push(row);
    console.log(
      `${label.padEnd(28)} ${seconds.toFixed(1).padStart(7)} s  ${row.mbPerS === null ? '       ' : `${row.mbPerS.toFixed(0).padStart(5)} MB/s`}  peak ${row.peakGiB.toFixed(2)} GiB`,
    );
    return result;
  } finally {
    clearInterval(timer);
  }
}
const rows: Array<{ label: string; seconds: number; mbPerS: number | null; peakGiB: number }> = [];

async function waitReady(page: Page, timeout: number) {
  const error = page.getByTestId('error');
  await expect
    .poll(
      async () => {
        if (await error.count()) return `error: ${await error.innerText()}`;
        return page.getByTestId('status').getAttribute('data-state');
      },
      { timeout, intervals: [1000] },
    )
    .toBe('ready');
}

async function image(page: Page) {
  await page.getByTestId('live').uncheck();
  await page.getByTestId('prompt').fill('a photo of a cat');
  await page.getByTestId('seed').fill('1');
  await page.getByTestId('steps').selectOption('1');
  await page.getByTestId('size').selectOption(`${size}x${size}`);
  const canvas = page.getByTestId('output');
  const before = await canvas.getAttribute('data-frame-id');
  await page.getByTestId('generate').click();
  const error = page.getByTestId('error');
  await expect
    .poll(
      async () => {
        if (await error.count()) return `error: ${await error.innerText()}`;
        const id = await canvas.getAttribute('data-frame-id');
        return id !== null && id !== before ? 'frame' : 'waiting';
      },
      { timeout: 3_600_000, intervals: [1000] },
    )
    .toBe('frame');
}

async function main() {
  if (!existsSync(path.join(modelDir, 'test-model.json'))) {
    console.log(`generating ${name} into ${modelDir} ...`);
    await phase('generate replica', 0, async () => writeReplica(modelDir, { scale, layout }));
  }
  const modelBytes = dirBytes(modelDir);
  console.log(`${name}: ${(modelBytes / 1e9).toFixed(2)} GB`);
  if (!existsSync(path.join(ROOT, 'dist/index.html'))) throw new Error('run `npm run build` first');

  const server = await startModelServer({ root: values.cache, port: Number(values['model-port']) });
  const preview: ChildProcess = spawn(
    // vite itself (not through npx), so that kill() ends the server and not only a wrapper.
    path.join(ROOT, 'node_modules/.bin/vite'),
    ['preview', '--host', '127.0.0.1', '--port', values['preview-port'], '--strictPort'],
    { cwd: ROOT, stdio: 'ignore' },
  );
  const appOrigin = `http://127.0.0.1:${values['preview-port']}`;
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
  const browser = await chromium.launch(chromiumLaunchOptions);
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning')
        console.log(`  [page ${m.type()}] ${m.text()}`);
    });
    const appUrl = `${appOrigin}/?model=${encodeURIComponent(`${server.origin}/${name}/`)}&backend=webgpu`;
    await page.goto(appUrl);
    await page.getByTestId('download-confirm').click({ timeout: 120_000 });
    await phase('download+keep, then load', modelBytes, () => waitReady(page, 3_600_000));
    await phase(`first image ${size}x${size}`, 0, () => image(page));
    for (let i = 1; i <= loads; i++) {
      await page.goto(appUrl);
      await phase(`reload: load #${i} from storage`, modelBytes, () => waitReady(page, 3_600_000));
    }
    await phase(`image ${size}x${size}`, 0, () => image(page));
  } finally {
    await browser.close();
    preview.kill();
    await server.close();
  }
  console.log(JSON.stringify({ name, modelBytes, rows }));
}

await main();
