/**
 * Issue 7: the engine worker fails and the app recovers by itself. A lost GPU device (the
 * test destroys onnxruntime-web's own GPUDevice), an uncaught error, a worker that closes and
 * one stuck in a loop each end with a notice that says what happened, a fresh worker, the
 * model loaded again from IndexedDB (no weight requests), and the same image as before.
 */
import { expect, test, type Page, type Worker } from '@playwright/test';
import { MODEL_SERVER, appWorker, generateImage } from './support/app.ts';
import { pixelDiff } from './support/reference.ts';

const MODEL_URL = `${MODEL_SERVER}/tiny-fp32/`;
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

/** Opens the app, downloads the tiny model into IndexedDB and waits until it is loaded. */
async function openAndStore(page: Page, beforeLoad?: (worker: Worker) => Promise<void>) {
  await page.goto(`./?model=${encodeURIComponent(MODEL_URL)}&backend=webgpu`);
  await beforeLoad?.(await appWorker(page));
  await page.getByTestId('download-confirm').click({ timeout: 60_000 });
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'ready', {
    timeout: 90_000,
  });
}

/** The notice for `reason` shows, the model loads again from storage, and it says so. */
async function expectRecovered(page: Page, reason: string) {
  const notice = page.getByTestId('restart-notice');
  await expect(notice).toHaveAttribute('data-reason', reason, { timeout: 60_000 });
  await expect(notice).toHaveAttribute('data-reloading', 'false', { timeout: 90_000 });
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
  await openAndStore(page, captureGpuDevices);
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

test('a crashed, closed or hung worker is replaced and the next image works', async ({ page }) => {
  test.setTimeout(600_000);
  await openAndStore(page);
  const before = await generateImage(page, IMAGE);

  // An uncaught exception outside any request.
  inWorker(await appWorker(page), () => {
    setTimeout(() => {
      throw new Error('injected crash');
    });
  });
  await expectRecovered(page, 'crashed');
  await expect(page.getByTestId('restart-notice')).toContainText('injected crash');
  expect(pixelDiff(before, await generateImage(page, IMAGE)).maxAbs).toBe(0);
  await page.getByTestId('restart-notice').getByRole('button', { name: 'Dismiss' }).click();

  // A worker that goes away without a word: it stops answering pings.
  inWorker(page.workers().at(-1)!, () => self.close());
  await expectRecovered(page, 'hung');
  expect(pixelDiff(before, await generateImage(page, IMAGE)).maxAbs).toBe(0);
  await page.getByTestId('restart-notice').getByRole('button', { name: 'Dismiss' }).click();

  // A worker stuck in a loop: the thread never gets back to its messages.
  inWorker(page.workers().at(-1)!, () => {
    for (;;) {
      // spin
    }
  });
  await expectRecovered(page, 'hung');
  await expect(page.getByTestId('restart-notice')).toContainText('did not answer');
  expect(pixelDiff(before, await generateImage(page, IMAGE)).maxAbs).toBe(0);
});
