/**
 * Issue 17: SDXL-Lightning as a second model family, end to end on its tiny test set
 * (`make-test-model --family sdxl-lightning`): recognised from the export's own
 * scheduler_config.json and model_index.json, its UNet's external data downloaded and stored as
 * three shard files, 4 Euler-discrete steps on WebGPU equal to the Node runner's image, no
 * image-to-image control, and a second visit that loads from IndexedDB with zero weight requests.
 */
import { expect, test } from '@playwright/test';
import { expectModelReady, generateImage, MODEL_SERVER } from './support/app.ts';
import { serverLog, resetLog, throttle, weightRequests } from './support/server-log.ts';
import { nodeRunnerImage, pixelDiff } from './support/reference.ts';

/** The same tolerance as text-to-image.spec.ts: WebGPU and wasm round the last bits apart. */
const MAX_CHANNEL_DIFF = 3;
const MAX_MEAN_DIFF = 0.25;

const MODEL = 'tiny-lightning';
const SHARDS = ['unet/model.onnx_data', 'unet/model.onnx_data_1', 'unet/model.onnx_data_2'];

test.afterEach(async ({ page }) => {
  await throttle(page, 0);
});

test('SDXL-Lightning: recognised, three UNet shards stored, 4 steps match the Node runner, 0 weight requests on the next visit', async ({
  page,
}) => {
  // Two loads, a download and 4 steps at 768×768 twice on SwiftShader, plus the Node runner's
  // reference: about 4 minutes on a busy 2-core machine, over the default 4-minute limit.
  test.slow();
  const appUrl = `./?model=${encodeURIComponent(`${MODEL_SERVER}/${MODEL}/`)}&backend=webgpu`;
  await resetLog(page);
  await page.goto(appUrl);
  await expect(page.getByTestId('download-plan')).toContainText(/This model is [\d.]+ MB/, {
    timeout: 60_000,
  });
  // Slowed so that the per-file progress list can be read while it downloads.
  await throttle(page, 1_000_000);
  await page.getByTestId('download-confirm').click();
  const progress = page.getByTestId('download-progress');
  for (const shard of SHARDS)
    await expect(progress.locator(`li[data-file="${shard}"]`)).toHaveCount(1);
  await throttle(page, 0);
  await expectModelReady(page);

  // Each shard is its own file on the host, fetched once as a whole (not one file in slices).
  const fetched = weightRequests(await serverLog(page)).filter((r) => r.path.includes('/unet/'));
  const shardGets = SHARDS.map((s) => fetched.filter((r) => r.path === `/${MODEL}/${s}`));
  console.log(
    'UNet shard requests:',
    shardGets.map((g) => g.map((r) => `${r.path} ${r.range ?? 'whole'} ${r.bytes} B`)),
  );
  for (const gets of shardGets) {
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.reduce((n, r) => n + r.bytes, 0)).toBeGreaterThan(0);
  }
  // Nothing asks for a VAE encoder: this family has none.
  expect((await serverLog(page)).some((r) => r.path.includes('vae_encoder'))).toBe(false);

  // The family's own choices: 4 steps only, its sizes, and no image-to-image control.
  await expect(page.getByTestId('steps').locator('option')).toHaveText(['4']);
  await expect(page.getByTestId('size').locator('option')).toHaveText([
    '1024×1024 (native)',
    '896×1152 (portrait)',
    '1152×896 (landscape)',
    '768×768 (faster, softer)',
  ]);
  await expect(page.getByTestId('input-image-panel')).toHaveCount(0);

  const prompt = 'a lighthouse at dusk';
  const params = { prompt, seed: 5, steps: 4, size: '768x768' } as const;
  const first = await generateImage(page, params);
  expect(first.backend).toBe('webgpu');
  expect([first.width, first.height]).toEqual([768, 768]);
  const reference = nodeRunnerImage({
    model: MODEL,
    prompt,
    seed: 5,
    steps: 4,
    width: 768,
    height: 768,
  });
  const diff = pixelDiff(first, reference);
  console.log('Lightning: browser (WebGPU) vs Node runner (wasm):', diff);
  expect(diff.maxAbs).toBeLessThanOrEqual(MAX_CHANNEL_DIFF);
  expect(diff.meanAbs).toBeLessThanOrEqual(MAX_MEAN_DIFF);

  // Second visit: from IndexedDB (the three shards as stored), no weight request, same image.
  await resetLog(page);
  await page.goto(appUrl);
  await expectModelReady(page);
  expect(weightRequests(await serverLog(page))).toEqual([]);
  await expect(page.getByTestId('input-image-panel')).toHaveCount(0);
  const second = await generateImage(page, params);
  expect(Buffer.from(second.data).equals(Buffer.from(first.data))).toBe(true);
});

test('a custom URL can be given a family by hand: SDXL Turbo files loaded as Lightning get its choices', async ({
  page,
}) => {
  // The tiny Turbo set says Euler ancestral; the user's choice overrides what its files say.
  await page.goto('./');
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'idle', {
    timeout: 60_000,
  });
  await page.getByTestId('model-options').locator('summary').click();
  await page.getByTestId('model-url').fill(`${MODEL_SERVER}/tiny-fp32/`);
  await page.getByTestId('model-family').selectOption('sdxl-lightning');
  await page.getByTestId('backend').selectOption('webgpu');
  await page.getByTestId('load-model').click();
  await page.getByTestId('load-without-storing').click({ timeout: 60_000 });
  await expectModelReady(page);
  await expect(page.getByTestId('steps').locator('option')).toHaveText(['4']);
  await expect(page.getByTestId('input-image-panel')).toHaveCount(0);
});
