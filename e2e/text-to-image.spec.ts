import { expect, test } from '@playwright/test';
import { appWorker, countGpuSubmits, generateImage, openWithModel } from './support/app.ts';
import { nodeRunnerImage, pixelDiff } from './support/reference.ts';

/**
 * WebGPU (SwiftShader here) and the Node runner's wasm CPU kernels round differently in the
 * last float bits; after the 8-bit quantisation that leaves a few values off by one or two.
 * A wrong pipeline (other noise, other scheduler step, other prompt) differs by tens.
 */
const MAX_CHANNEL_DIFF = 3;
const MAX_MEAN_DIFF = 0.25;

test.describe('text-to-image on WebGPU', () => {
  test('the canvas matches the Node runner; same seed repeats, another seed differs', async ({
    page,
  }) => {
    await openWithModel(page, 'tiny-fp32', 'webgpu');
    const submits = await countGpuSubmits(await appWorker(page));

    const prompt = 'a photo of a cat';
    const first = await generateImage(page, { prompt, seed: 42, steps: 2 });
    expect(first.backend).toBe('webgpu');
    expect(await submits()).toBeGreaterThan(0); // the graphs ran on the GPU device

    const reference = nodeRunnerImage({ model: 'tiny-fp32', prompt, seed: 42, steps: 2 });
    const vsReference = pixelDiff(first, reference);
    console.log('browser (WebGPU) vs Node runner (wasm):', vsReference);
    expect(vsReference.maxAbs).toBeLessThanOrEqual(MAX_CHANNEL_DIFF);
    expect(vsReference.meanAbs).toBeLessThanOrEqual(MAX_MEAN_DIFF);

    const again = await generateImage(page, { prompt, seed: 42, steps: 2 });
    expect(pixelDiff(first, again).maxAbs).toBe(0);

    const otherSeed = await generateImage(page, { prompt, seed: 43, steps: 2 });
    const seedDiff = pixelDiff(first, otherSeed);
    console.log('seed 42 vs seed 43:', seedDiff);
    expect(seedDiff.meanAbs).toBeGreaterThan(5);

    const otherPrompt = await generateImage(page, {
      prompt: 'a red sports car at night',
      seed: 42,
      steps: 2,
    });
    expect(pixelDiff(first, otherPrompt).meanAbs).toBeGreaterThan(5);
  });

  test('non-square sizes and 4 steps match the Node runner', async ({ page }) => {
    await openWithModel(page, 'tiny-fp32', 'webgpu');
    const image = await generateImage(page, {
      prompt: 'a lighthouse',
      seed: 7,
      steps: 4,
      size: '768x512',
    });
    expect([image.width, image.height]).toEqual([768, 512]);
    const reference = nodeRunnerImage({
      model: 'tiny-fp32',
      prompt: 'a lighthouse',
      seed: 7,
      steps: 4,
      width: 768,
      height: 512,
    });
    expect(pixelDiff(image, reference).maxAbs).toBeLessThanOrEqual(MAX_CHANNEL_DIFF);
  });
});
