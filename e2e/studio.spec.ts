import { expect, test } from '@playwright/test';
import { decode } from 'fast-png';
import { readFile } from 'node:fs/promises';
import { generateImage, openWithModel, readCanvas } from './support/app.ts';
import { expectNoSeriousAxeViolations, screenshot } from './support/look.ts';

test('history survives a reload, restores settings, and exports a PNG with its parameters', async ({
  page,
}, testInfo) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openWithModel(page, 'tiny-fp32', 'webgpu');
  const gallery = page.getByTestId('gallery');
  await expect(gallery).toHaveAttribute('data-count', '0');

  const prompt = 'a lighthouse on a cliff, "stormy"';
  const generated = await generateImage(page, { prompt, seed: 4242, steps: 2 });
  // Live mode is off (generateImage unchecks it), so the image is kept by itself.
  await expect(gallery).toHaveAttribute('data-count', '1');

  // Ctrl+Enter from any control (here the seed field) generates too, and that image is kept.
  const canvas = page.getByTestId('output');
  const firstFrame = await canvas.getAttribute('data-frame-id');
  await page.getByTestId('seed').focus();
  await page.keyboard.press('Control+Enter');
  await expect(canvas).not.toHaveAttribute('data-frame-id', firstFrame ?? '', { timeout: 120_000 });
  await expect(gallery).toHaveAttribute('data-count', '2');
  const again = await readCanvas(page);
  expect(Buffer.from(again.data).equals(Buffer.from(generated.data))).toBe(true); // same settings

  await page.reload();
  await expect(page.getByTestId('history-item')).toHaveCount(2);
  await expect(page.getByTestId('prompt')).toHaveValue(''); // the controls start fresh
  await page.getByTestId('live').uncheck(); // restoring must not start a new generation here

  await page.getByTestId('history-restore').last().click(); // the first image (newest first)
  await expect(page.getByTestId('prompt')).toHaveValue(prompt);
  await expect(page.getByTestId('seed')).toHaveValue('4242');
  await expect(page.getByTestId('steps')).toHaveValue('2');
  await expect(page.getByTestId('size')).toHaveValue('512x512');
  await expect(page.getByTestId('history-image')).toBeVisible();
  await expect(page.getByTestId('history-restore').last()).toHaveAttribute('aria-pressed', 'true');

  // Download PNG of the restored image: the very pixels, plus both parameter chunks.
  const downloadPromise = page.waitForEvent('download');
  await page.getByTestId('download').click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toBe('sdxl-turbo-4242-2step.png');
  const file = testInfo.outputPath('exported.png');
  await download.saveAs(file);
  const png = decode(await readFile(file));
  expect([png.width, png.height, png.channels, png.depth]).toEqual([512, 512, 4, 8]);
  expect(Buffer.from(png.data).equals(Buffer.from(generated.data))).toBe(true);
  expect(png.text['parameters']).toBe(
    `${prompt}\nSteps: 2, Sampler: Euler a, CFG scale: 0, Seed: 4242, Noise: torch-cpu, Size: 512x512, Model: tiny-fp32`,
  );
  const json = JSON.parse(png.text['sdxl-turbo-web'] ?? 'null') as Record<string, unknown>;
  expect(json).toMatchObject({
    prompt,
    seed: 4242,
    noise: 'torch-cpu',
    steps: 2,
    width: 512,
    height: 512,
    sampler: 'Euler a',
    cfgScale: 0,
    model: 'tiny-fp32',
  });
  expect(String(json['modelUrl'])).toMatch(/\/tiny-fp32\/$/);

  // Delete one, then Clear all (after its confirmation).
  await page.getByTestId('history-delete').first().click();
  await expect(gallery).toHaveAttribute('data-count', '1');
  await page.getByTestId('history-clear').click();
  await page.getByTestId('history-clear-confirm').click();
  await expect(gallery).toHaveAttribute('data-count', '0');
  await page.reload();
  await expect(page.getByTestId('history-empty')).toBeVisible();
});

test('main screen at desktop and phone widths: screenshots, no serious axe findings', async ({
  page,
}, testInfo) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await openWithModel(page, 'tiny-fp32', 'webgpu');
  await generateImage(page, { prompt: 'a red fox in the snow', seed: 7, steps: 1 });
  await expect(page.getByTestId('history-item')).toHaveCount(1);

  // Copy puts an image/png on the clipboard (headless Chromium allows it once granted).
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByTestId('copy-image').click();
  await expect(page.getByTestId('image-action-message')).toContainText('copied');
  const clipboardTypes = await page.evaluate(async () =>
    (await navigator.clipboard.read()).flatMap((item) => [...item.types]),
  );
  expect(clipboardTypes).toContain('image/png');

  await page.getByTestId('capability-panel').locator('summary').click();
  await expect(page.getByTestId('capability-panel')).toContainText('shader-f16');

  await screenshot(page, testInfo, 'desktop-1280x800');
  await expectNoSeriousAxeViolations(page, testInfo, 'desktop');

  await page.setViewportSize({ width: 390, height: 844 });
  // Nothing may overflow sideways on a phone.
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
  await screenshot(page, testInfo, 'phone-390x844');
  await expectNoSeriousAxeViolations(page, testInfo, 'phone');

  // The dark theme, chosen with the toggle, is remembered across a reload.
  await page.getByTestId('theme').selectOption('dark');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByTestId('theme')).toHaveValue('dark');
  await expect(page.getByTestId('history-item')).toHaveCount(1);
  await screenshot(page, testInfo, 'phone-390x844-dark');
  await expectNoSeriousAxeViolations(page, testInfo, 'phone-dark');
});
