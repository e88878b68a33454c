/**
 * Issue 3 end to end: a model is downloaded once with visible progress, survives a reload in
 * the middle of the download without re-fetching what was stored, and later visits load it
 * from IndexedDB with zero weight requests and generate the same image.
 */
import { expect, test } from '@playwright/test';
import { expectModelReady, generateImage, MODEL_SERVER } from './support/app.ts';
import { serverLog, resetLog, throttle, weightRequests } from './support/server-log.ts';

test.afterEach(async ({ page }) => {
  await throttle(page, 0);
});

test('download once with progress, resume after a reload, then load from IndexedDB', async ({
  page,
}) => {
  const modelUrl = `${MODEL_SERVER}/tiny-fp32/`;
  const appUrl = `./?model=${encodeURIComponent(modelUrl)}&backend=webgpu`;
  await resetLog(page);
  await throttle(page, 400_000); // 400 kB/s per file: the 8 MB model takes several seconds

  // First visit: the app says what it will download and how big it is, before it starts.
  await page.goto(appUrl);
  const plan = page.getByTestId('download-plan');
  await expect(plan).toContainText(/This model is [\d.]+ MB in \d+ files/);
  const planned = (await plan.innerText()).match(/This model is ([\d.]+) MB/);
  const modelBytes = Number(planned?.[1]) * 1024 * 1024;
  await page.getByTestId('download-confirm').click();

  // Visible progress; reload once a good part is stored.
  const progress = page.getByTestId('download-progress');
  await expect(progress).toBeVisible();
  await expect(page.getByTestId('download-total')).toContainText('/s');
  await expect
    .poll(async () => Number(await progress.getAttribute('data-loaded')), { timeout: 60_000 })
    .toBeGreaterThan(2_500_000);
  await page.reload();

  // After the reload: the plan knows what is stored, and the download resumes from there.
  await expect(plan).toContainText('already stored', { timeout: 60_000 });
  const storedText = (await plan.innerText()).match(/([\d.]+) MB are already stored/);
  expect(storedText).not.toBeNull();
  await throttle(page, 0);
  await resetLog(page);
  await page.getByTestId('download-confirm').click();
  await expectModelReady(page);

  const resumed = weightRequests(await serverLog(page));
  const resumedBytes = resumed.reduce((sum, r) => sum + r.bytes, 0);
  console.log(`after reload: ${resumed.length} weight requests, ${resumedBytes} bytes`, resumed);
  // Files cut off by the reload continue with a Range request from their first missing chunk,
  expect(resumed.some((r) => r.range !== null && !r.range.startsWith('bytes=0-'))).toBe(true);
  // and nothing already stored comes over the network again: less than the whole model.
  expect(resumedBytes).toBeLessThan(modelBytes - 2_000_000);
  await expect(page.getByTestId('stored-models')).toContainText('Stored in this browser');
  await expect(page.locator('[data-testid=stored-models] li[data-complete=true]')).toHaveCount(1);

  const first = await generateImage(page, { prompt: 'a photo of a cat', seed: 11, steps: 1 });

  // Second visit: loads from IndexedDB: zero weight requests, the same image.
  await resetLog(page);
  const runtimeFiles: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('ort-wasm')) runtimeFiles.push(r.url());
  });
  await page.goto(appUrl);
  await expectModelReady(page);
  await expect(page.getByTestId('download-plan')).toHaveCount(0);
  expect(weightRequests(await serverLog(page))).toEqual([]);
  // Chromium has JSPI: the JSPI build of onnxruntime-web reads the stored Blobs on demand.
  expect(runtimeFiles.some((u) => u.includes('.jspi'))).toBe(true);
  expect(runtimeFiles.some((u) => u.includes('.asyncify'))).toBe(false);
  const second = await generateImage(page, { prompt: 'a photo of a cat', seed: 11, steps: 1 });
  expect(Buffer.from(second.data).equals(Buffer.from(first.data))).toBe(true);

  // Delete: the stored model is gone, and the next visit asks again. With a model ready the
  // model panel is folded to one line: Change opens it.
  await page.getByTestId('model-change').click();
  await page.getByTestId('delete-model').click();
  await expect(page.getByTestId('stored-models')).toHaveAttribute('data-count', '0');
});
