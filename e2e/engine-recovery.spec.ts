/**
 * Issue 7: the engine worker fails and the app recovers by itself. A lost GPU device (the
 * test destroys onnxruntime-web's own GPUDevice), an uncaught error, a worker that closes and
 * one stuck in a loop each end with a notice that says what happened, a fresh worker, the
 * model loaded again from IndexedDB (no weight requests), and the same image as before.
 */
import { expect, test, type Page, type Worker } from '@playwright/test';
import {
  appWorker,
  generateImage,
  MODEL_READY_TIMEOUT_MS,
  MODEL_SERVER,
  openWithModel,
} from './support/app.ts';
import { pixelDiff } from './support/reference.ts';

const IMAGE = { prompt: 'a lighthouse in a storm', seed: 11, steps: 1, timeoutMs: 180_000 };

/** GET requests for weight files since the last reset of the model server's log. */
async function weightRequests(page: Page): Promise<number> {
  const response = await page.request.get(`${MODEL_SERVER}/__stats`);
  const { requests } = (await response.json()) as {
    requests: { method: string; path: string }[];
  };
  return requests.filter((r) => r.method === 'GET' && /\.onnx(_data|\.data)?$/.test(r.path)).length;
}

/**
 * Keeps every GPUDevice the worker creates in `globalThis.__devices`, so the test can destroy
 * the one onnxruntime-web computes on (it requests its own device when the first session is
 * created, after this runs).
 */
async function captureGpuDevices(worker: Worker): Promise<void> {
  await worker.evaluate(() => {
    type Device = { destroy(): void };
    type Adapter = { requestDevice(...args: unknown[]): Promise<Device> };
    const g = globalThis as unknown as {
      __devices: Device[];
      GPUAdapter: { prototype: Adapter };
    };
    g.__devices = [];
    const original = g.GPUAdapter.prototype.requestDevice;
    g.GPUAdapter.prototype.requestDevice = async function (this: Adapter, ...args: unknown[]) {
      const device = await original.apply(this, args);
      g.__devices.push(device);
      return device;
    };
  });
}

/** The notice for `reason` shows, the model loads again from storage, and it says so. */
async function expectRecovered(page: Page, reason: string) {
  const notice = page.getByTestId('restart-notice');
  await expect(notice).toHaveAttribute('data-reason', reason, { timeout: 60_000 });
  await expect(notice).toHaveAttribute('data-reloading', 'false', {
    // The same reload as a page's, after a restart: from storage, warm-up included.
    timeout: MODEL_READY_TIMEOUT_MS,
  });
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('error')).toHaveCount(0);
}

/** Runs `code` in the worker without waiting: the worker may die before it can answer. */
function inWorker(worker: Worker, code: () => void): void {
  worker.evaluate(code).catch(() => {
    // The page terminated the worker: the evaluation never returns, which is the point.
  });
}

test('a lost GPU device: a fresh worker reloads the model from storage and generates again', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await openWithModel(page, 'tiny-fp32', 'webgpu', captureGpuDevices);
  const before = await generateImage(page, IMAGE);
  expect(before.backend).toBe('webgpu');

  const worker = await appWorker(page);
  const destroyed = await worker.evaluate(() => {
    const devices = (globalThis as unknown as { __devices: { destroy(): void }[] }).__devices;
    for (const device of devices) device.destroy();
    return devices.length;
  });
  expect(destroyed).toBeGreaterThan(0);
  await page.request.post(`${MODEL_SERVER}/__stats/reset`);

  await expectRecovered(page, 'device-lost');
  await expect(page.getByTestId('restart-notice')).toContainText('device lost');
  const after = await generateImage(page, IMAGE);
  expect(after.backend).toBe('webgpu');
  expect(pixelDiff(before, after).maxAbs).toBe(0);
  expect(await weightRequests(page)).toBe(0); // rebuilt from the weights stored in IndexedDB
});

/**
 * Each failure is injected from a task of the worker's own (a timer), not inside the
 * inspector's evaluation: that is how a real failure happens, and a loop running inside an
 * inspector evaluation survives Worker.terminate() and would keep a core busy for the rest of
 * the test.
 */
const WORKER_FAILURES: {
  what: string;
  reason: string;
  notice: string;
  inject: () => void;
}[] = [
  {
    what: 'an uncaught error outside any request',
    reason: 'crashed',
    notice: 'injected crash',
    inject: () => {
      setTimeout(() => {
        throw new Error('injected crash');
      });
    },
  },
  {
    what: 'a worker that goes away without a word',
    reason: 'hung',
    notice: 'did not answer',
    inject: () => {
      setTimeout(() => self.close());
    },
  },
  {
    what: 'a worker stuck in a loop',
    reason: 'hung',
    notice: 'did not answer',
    inject: () => {
      setTimeout(() => {
        for (;;) {
          // spin: the thread never gets back to its messages
        }
      });
    },
  },
];

for (const failure of WORKER_FAILURES) {
  test(`${failure.what}: the worker is replaced, the model reloaded from storage, the image the same`, async ({
    page,
  }) => {
    test.setTimeout(600_000);
    await openWithModel(page, 'tiny-fp32');
    const before = await generateImage(page, IMAGE);
    const failed = await appWorker(page);
    await page.request.post(`${MODEL_SERVER}/__stats/reset`);

    inWorker(failed, failure.inject);
    await expectRecovered(page, failure.reason);
    await expect(page.getByTestId('restart-notice')).toContainText(failure.notice);
    // The page terminated the failed worker (a stuck one too): only its replacement is left.
    await expect.poll(() => page.workers().includes(failed), { timeout: 30_000 }).toBe(false);
    expect(page.workers()).toHaveLength(1);

    expect(pixelDiff(before, await generateImage(page, IMAGE)).maxAbs).toBe(0);
    expect(await weightRequests(page)).toBe(0);
  });
}
