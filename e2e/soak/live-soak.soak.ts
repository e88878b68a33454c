/**
 * Soak test (issue 7), not part of `npm test`: `npm run soak` (SOAK_GENERATIONS=500 by default).
 *
 * Live mode on the tiny fp32 model on WebGPU, driven like a user typing: bursts of one to
 * three keystrokes, so some requests run and some are superseded, until SOAK_GENERATIONS
 * images have been generated. It checks that
 * - every request ended as a painted frame or as superseded, with no error;
 * - the JS heap of the page and of the engine worker (after a full GC) and the number of
 *   live GPU buffers in the worker grow by no more than the bounds below between the
 *   warm-up point and the end.
 * It prints the figures and attaches them as JSON to the test result.
 */
import { expect, test, type Page, type Worker } from '@playwright/test';
import { appWorker, openWithModel } from '../support/app.ts';
import { pageHeapMeter, workerHeapMeter } from '../support/heap.ts';

const GENERATIONS = Number(process.env['SOAK_GENERATIONS'] ?? 500);
const WARM_UP = Math.min(20, Math.floor(GENERATIONS / 5));
/** Bounds on growth from after warm-up to the end. */
const MAX_HEAP_GROWTH_BYTES = 16 * 1024 * 1024;
const MAX_GPU_BUFFER_GROWTH = 16;

interface Stats {
  requested: number;
  started: number;
  finished: number;
  superseded: number;
}

async function liveStats(page: Page): Promise<Stats> {
  const stats = page.getByTestId('live-stats');
  if ((await stats.count()) === 0) return { requested: 0, started: 0, finished: 0, superseded: 0 };
  const n = async (key: string) => Number(await stats.getAttribute(`data-${key}`));
  return {
    requested: await n('requested'),
    started: await n('started'),
    finished: await n('finished'),
    superseded: await n('superseded'),
  };
}

/** Waits until every request so far has ended as a frame or as superseded. */
async function settle(page: Page): Promise<Stats> {
  let last = await liveStats(page);
  await expect
    .poll(
      async () => {
        if (await page.getByTestId('error').count()) {
          return `error: ${await page.getByTestId('error').innerText()}`;
        }
        last = await liveStats(page);
        return last.finished + last.superseded === last.requested ? 'settled' : 'running';
      },
      { timeout: 120_000, intervals: [50, 100, 250] },
    )
    .toBe('settled');
  return last;
}

/** Counts GPU buffers created and destroyed in the worker from now on. */
async function countGpuBuffers(worker: Worker): Promise<() => Promise<number>> {
  await worker.evaluate(() => {
    type Proto = Record<string, (...args: unknown[]) => unknown>;
    const g = globalThis as unknown as {
      __liveBuffers: number;
      GPUDevice: { prototype: Proto };
      GPUBuffer: { prototype: Proto };
    };
    g.__liveBuffers = 0;
    const create = g.GPUDevice.prototype['createBuffer']!;
    g.GPUDevice.prototype['createBuffer'] = function (this: unknown, ...args: unknown[]) {
      g.__liveBuffers++;
      return create.apply(this, args);
    };
    const destroy = g.GPUBuffer.prototype['destroy']!;
    g.GPUBuffer.prototype['destroy'] = function (this: unknown, ...args: unknown[]) {
      g.__liveBuffers--;
      return destroy.apply(this, args);
    };
  });
  return () =>
    worker.evaluate(() => (globalThis as unknown as { __liveBuffers: number }).__liveBuffers);
}

test(`live mode soak: ${GENERATIONS} generations without growth`, async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(GENERATIONS * 12_000 + 300_000);
  await openWithModel(page, 'tiny-fp32', 'webgpu');
  const worker = await appWorker(page);
  const liveBuffers = await countGpuBuffers(worker);
  const pageHeap = await pageHeapMeter(page);
  const workerHeap = await workerHeapMeter(browser, new URL(worker.url()).pathname);
  await expect(page.getByTestId('live')).toBeChecked();
  // Every paint changes the canvas's frame id: count them.
  await page.getByTestId('output').evaluate((canvas) => {
    const g = window as unknown as { __paints: number };
    g.__paints = 0;
    new MutationObserver(() => g.__paints++).observe(canvas, {
      attributeFilter: ['data-frame-id'],
    });
  });
  const paints = () => page.evaluate(() => (window as unknown as { __paints: number }).__paints);

  const prompt = page.getByTestId('prompt');
  await prompt.fill('a');
  const words = ['red', 'fox', 'in', 'snow', 'at', 'dawn', 'city', 'lights', 'rain', 'cat'];
  let baseline: { pageHeap: number; workerHeap: number; buffers: number; at: number } | null = null;
  let stats = await settle(page);
  for (let i = 0; stats.started < GENERATIONS; i++) {
    // A burst of one to three keystrokes: the middle ones are superseded while one runs.
    const burst = (i % 3) + 1;
    for (let k = 0; k < burst; k++) {
      const text = await prompt.inputValue();
      // Keep the prompt short and changing: append a word, and start over now and then.
      const next = text.length > 60 ? words[(i + k) % words.length]! : `${text} ${words[k]}`;
      await prompt.fill(next);
    }
    stats = await settle(page);
    if (!baseline && stats.started >= WARM_UP) {
      baseline = {
        pageHeap: await pageHeap(),
        workerHeap: await workerHeap(),
        buffers: await liveBuffers(),
        at: stats.started,
      };
    }
  }

  const end = {
    pageHeap: await pageHeap(),
    workerHeap: await workerHeap(),
    buffers: await liveBuffers(),
    paints: await paints(),
  };
  const report = { generations: stats.started, stats, baseline, end };
  console.log('soak:', JSON.stringify(report, null, 2));
  await testInfo.attach('soak.json', {
    body: JSON.stringify(report, null, 2),
    contentType: 'application/json',
  });

  await expect(page.getByTestId('error')).toHaveCount(0);
  expect(stats.finished + stats.superseded).toBe(stats.requested);
  expect(stats.finished).toBe(stats.started);
  expect(end.paints).toBe(stats.finished); // live frames arrive in order: each one is painted
  expect(baseline).not.toBeNull();
  expect(end.pageHeap - baseline!.pageHeap).toBeLessThanOrEqual(MAX_HEAP_GROWTH_BYTES);
  expect(end.workerHeap - baseline!.workerHeap).toBeLessThanOrEqual(MAX_HEAP_GROWTH_BYTES);
  expect(end.buffers - baseline!.buffers).toBeLessThanOrEqual(MAX_GPU_BUFFER_GROWTH);
});
