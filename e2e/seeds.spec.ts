import { expect, test } from '@playwright/test';
import { expectModelReady, generateImage, openWithModel } from './support/app.ts';
import { nodeRunnerImage, pixelDiff } from './support/reference.ts';

/** As in text-to-image.spec.ts: WebGPU vs the Node runner's wasm kernels, last-bit rounding. */
const MAX_CHANNEL_DIFF = 3;

/**
 * Removes the noise generator's name from every kept image's stored parameters, leaving them
 * as the app stored them before it had a second generator. Returns how many it changed.
 */
function forgetNoiseGenerator(): Promise<number> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('sdxl-turbo-web-history');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('images', 'readwrite');
      const images = tx.objectStore('images');
      let changed = 0;
      const cursor = images.openCursor();
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (!c) return;
        const value = c.value as { entry?: Record<string, unknown> };
        if (String(c.key).startsWith('meta:') && value.entry && 'noise' in value.entry) {
          delete value.entry['noise'];
          c.update(value);
          changed++;
        }
        c.continue();
      };
      tx.oncomplete = () => {
        open.result.close();
        resolve(changed);
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

test('an image kept before torch-cpu (its parameters name no generator) is made again exactly', async ({
  page,
}) => {
  test.setTimeout(600_000); // three generations, a Node run and a reload from storage
  await openWithModel(page, 'tiny-fp32', 'webgpu');
  const noise = page.getByTestId('noise');
  await expect(noise).toHaveValue('torch-cpu'); // new images: PyTorch's CPU generator

  // An image made with the first generator, as every image was before this one existed.
  await noise.selectOption('mulberry32');
  const prompt = 'a lighthouse on a cliff';
  const old = await generateImage(page, { prompt, seed: 4242, steps: 2 });
  await expect(page.getByTestId('gallery')).toHaveAttribute('data-count', '1');
  const oldReference = nodeRunnerImage({
    model: 'tiny-fp32',
    prompt,
    seed: 4242,
    steps: 2,
    noise: 'mulberry32',
  });
  expect(pixelDiff(old, oldReference).maxAbs).toBeLessThanOrEqual(MAX_CHANNEL_DIFF);

  // Stored as the app stored it before: no generator named. A fresh page starts on torch-cpu.
  expect(await page.evaluate(forgetNoiseGenerator)).toBe(1);
  await page.reload();
  // The model loads again from this browser's storage (slow on a busy machine).
  await expectModelReady(page);
  await expect(noise).toHaveValue('torch-cpu');
  await expect(page.getByTestId('history-item')).toHaveCount(1);

  // The same prompt and seed with torch-cpu is another image (text-to-image.spec.ts matches
  // torch-cpu images to the Node runner's).
  const fresh = await generateImage(page, { prompt, seed: 4242, steps: 2 });
  expect(pixelDiff(fresh, old).meanAbs).toBeGreaterThan(5);

  // Restore the old image's settings: its generator comes back with them, and Generate makes
  // the old image again, pixel for pixel.
  await page.getByTestId('history-restore').last().click(); // the oldest (newest first)
  await expect(noise).toHaveValue('mulberry32');
  await expect(page.getByTestId('seed')).toHaveValue('4242');
  const again = await generateImage(page, { prompt, seed: 4242, steps: 2 });
  expect(pixelDiff(again, old).maxAbs).toBe(0);
});
