/**
 * Issue 7, network faults end to end: the model host misbehaves (e2e/support/model-server.ts's
 * /__fault modes) while the real app downloads the tiny model through its download UI. Each
 * fault must end in a message that names the file and says what happened, must leave the file
 * not complete in IndexedDB (so no broken model is ever listed or loaded), and once the host is
 * healthy again the next Load model resumes, completes and generates. A transient fault (one
 * dropped connection, one 500) must heal by itself through the downloader's retries.
 */
import { expect, test, type Page } from '@playwright/test';
import { expectModelReady, generateImage, MODEL_SERVER } from './support/app.ts';
import { serverLog, resetLog } from './support/server-log.ts';

const MODEL_URL = `${MODEL_SERVER}/tiny-fp32/`;
const APP_URL = `./?model=${encodeURIComponent(MODEL_URL)}&backend=webgpu`;

const setFault = async (page: Page, query: string) => {
  const res = await page.request.post(`${MODEL_SERVER}/__fault?${query}`);
  expect(res.status()).toBe(204);
};
const clearFaults = (page: Page) => page.request.post(`${MODEL_SERVER}/__fault/clear`);
/** The weight store's file records, read from the page (same origin as the worker's store). */
function storedFiles(page: Page): Promise<Array<{ path: string; complete: boolean }>> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('sdxl-turbo-weights');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('files')) {
            db.close();
            resolve([]);
            return;
          }
          const all = db.transaction('files').objectStore('files').getAll();
          all.onsuccess = () => {
            db.close();
            resolve(
              (all.result as Array<{ path: string; complete: boolean }>).map((f) => ({
                path: f.path,
                complete: f.complete,
              })),
            );
          };
          all.onerror = () => reject(all.error);
        };
      }),
  );
}

async function fileComplete(page: Page, path: string): Promise<boolean> {
  return (await storedFiles(page)).some((f) => f.path === path && f.complete);
}

test.afterEach(async ({ page }) => {
  await clearFaults(page);
});

test('permanent faults name the file, store nothing as complete, and a retry completes', async ({
  page,
}) => {
  // text_encoder_2/model.onnx is the largest file, so it is always fetched first, with a
  // whole-file request (nothing of it is stored by these faults): each case meets it fresh.
  const file = 'text_encoder_2/model.onnx';
  const cases: Array<{ mode: string; code: string; says: RegExp; timeout?: number }> = [
    { mode: '404', code: 'download-failed', says: /answered HTTP 404.*check the model URL/ },
    { mode: 'html', code: 'bad-model', says: /answered with an HTML page, not the file/ },
    { mode: 'truncate', code: 'bad-model', says: /is 1159649 bytes, the manifest says 2319298/ },
    { mode: 'wrong-length', code: 'bad-model', says: /is 2323394 bytes, the manifest says/ },
    // Retried with backoff (1+2+4+8+16 s), then given up with the count.
    {
      mode: '500',
      code: 'download-failed',
      says: /answered HTTP 500.*gave up after 6 attempts/,
      timeout: 90_000,
    },
  ];

  await page.goto(APP_URL);
  const plan = page.getByTestId('download-plan');
  const error = page.getByTestId('error');
  for (const [i, c] of cases.entries()) {
    if (i > 0) await page.getByTestId('load-model').click();
    // The plan is built from the healthy host; the fault hits the download itself.
    await expect(plan).toBeVisible({ timeout: 60_000 });
    await setFault(page, `path=${file}&mode=${c.mode}`);
    await page.getByTestId('download-confirm').click();

    await expect(error).toHaveAttribute('data-code', c.code, { timeout: c.timeout ?? 60_000 });
    const text = await error.innerText();
    expect(text, c.mode).toContain(file);
    expect(text, c.mode).toMatch(c.says);
    // And what to do about it.
    expect(text, c.mode).toMatch(/press Load model|Load model again/i);
    await expect(page.getByTestId('download-progress')).toHaveCount(0);
    expect(await fileComplete(page, file), c.mode).toBe(false);
    // The stored-models list shows the model as incomplete, never as complete.
    const listed = page.locator('[data-testid=stored-models] li');
    await expect(listed).toHaveCount(1);
    await expect(listed).toHaveAttribute('data-complete', 'false');
    await clearFaults(page);
  }

  // The host is healthy again: Load model resumes from what is stored and completes.
  await page.getByTestId('load-model').click();
  await expect(plan).toContainText('already stored', { timeout: 60_000 });
  await page.getByTestId('download-confirm').click();
  await expectModelReady(page);
  await expect(error).toHaveCount(0);
  expect((await storedFiles(page)).every((f) => f.complete)).toBe(true);
  await expect(page.locator('[data-testid=stored-models] li[data-complete=true]')).toHaveCount(1);
  await generateImage(page, { prompt: 'a photo of a cat', seed: 5, timeoutMs: 180_000 });
});

test('a dropped connection and a passing 500 are retried and heal by themselves', async ({
  page,
}) => {
  await page.goto(APP_URL);
  await expect(page.getByTestId('download-plan')).toBeVisible({ timeout: 60_000 });
  await resetLog(page);
  // The UNet's weights (786,448 bytes in 64 KiB chunks) break off after 300,000 bytes, once;
  // the first text encoder answers 500, once.
  await setFault(page, 'path=unet/model.onnx_data&mode=drop&times=1&after=300000');
  await setFault(page, 'path=text_encoder/model.onnx&mode=500&times=1');
  await page.getByTestId('download-confirm').click();
  await expectModelReady(page);
  await expect(page.getByTestId('error')).toHaveCount(0);

  const log = (await serverLog(page)).filter((r) => r.method === 'GET');
  const unet = log.filter((r) => r.path.endsWith('/unet/model.onnx_data'));
  // The first request broke off; the retry asks only for what is missing after the stored
  // whole 64 KiB chunks (300,000 bytes arrived before the cut: 4 chunks, unless the browser
  // had not read them all when the socket went).
  expect(unet).toHaveLength(2);
  expect(unet[0]?.range).toBeNull();
  const resumedAt = Number(/^bytes=(\d+)-786447$/.exec(unet[1]?.range ?? '')?.[1]);
  expect(resumedAt).toBeGreaterThan(0);
  expect(resumedAt % 65536).toBe(0);
  const encoder = log.filter((r) => r.path.endsWith('/text_encoder/model.onnx'));
  expect(encoder.map((r) => r.status)).toEqual([500, 200]);

  expect((await storedFiles(page)).every((f) => f.complete)).toBe(true);
  await generateImage(page, { prompt: 'a photo of a cat', seed: 5, timeoutMs: 180_000 });
});
