import { expect, test } from '@playwright/test';
import {
  appWorker,
  countGpuSubmits,
  generateImage,
  openWithModel,
  readCanvas,
} from './support/app.ts';
import {
  pickInputImage,
  readInputPreview,
  setStrength,
  writePatternPng,
} from './support/image-input.ts';
import { nodeRunnerImage, pixelDiff } from './support/reference.ts';
import { pngToRgba } from '../src/cli/png-image.ts';
import { fitImage } from '../src/pipeline/image-input.ts';
import { readFileSync } from 'node:fs';

/** As in text-to-image.spec.ts: WebGPU vs wasm rounding leaves a few values off by 1-2. */
const MAX_CHANNEL_DIFF = 3;
const MAX_MEAN_DIFF = 0.25;

test.describe('image-to-image on WebGPU', () => {
  test('a picked PNG, 2 steps at strength 0.5, matches the Node runner', async ({ page }) => {
    await openWithModel(page, 'tiny-fp32', 'webgpu');
    const submits = await countGpuSubmits(await appWorker(page));
    const prompt = 'a photo of a cat';
    const imageA = writePatternPng('a.png', 0);
    const imageB = writePatternPng('b.png', 1);

    const textOnly = await generateImage(page, { prompt, seed: 42, steps: 2 });

    await pickInputImage(page, imageA);
    // The crop is visible: the caption names it and the preview is the fitted 512×512 input,
    // exactly the pixels the pipeline's own fitting gives in Node.
    await expect(page.getByTestId('input-caption')).toContainText(
      '600×400, centre crop 400×400 at (100, 0), scaled to 512×512',
    );
    const preview = await readInputPreview(page);
    const fittedInNode = fitImage(pngToRgba(readFileSync(imageA)), 512, 512);
    expect(
      pixelDiff(preview, { ...fittedInNode, data: new Uint8Array(fittedInNode.data) }),
    ).toEqual({
      maxAbs: 0,
      meanAbs: 0,
      changedShare: 0,
    });
    await expect(page.getByTestId('strength-hint')).toContainText(
      '2 steps × strength 0.5 = 1 denoising step',
    );

    const fromA = await generateImage(page, { prompt, seed: 42, steps: 2 });
    expect(fromA.backend).toBe('webgpu');
    expect(await submits()).toBeGreaterThan(0);
    await expect(page.getByTestId('timings')).toContainText('VAE encode (input)');
    await expect(page.getByTestId('timings')).toContainText('UNet step 1');
    await expect(page.getByTestId('timings')).not.toContainText('UNet step 2'); // 1 pass

    const referenceA = nodeRunnerImage({
      model: 'tiny-fp32',
      prompt,
      seed: 42,
      steps: 2,
      strength: 0.5,
      image: imageA,
    });
    const vsReference = pixelDiff(fromA, referenceA);
    console.log('img2img browser (WebGPU) vs Node runner (wasm):', vsReference);
    expect(vsReference.maxAbs).toBeLessThanOrEqual(MAX_CHANNEL_DIFF);
    expect(vsReference.meanAbs).toBeLessThanOrEqual(MAX_MEAN_DIFF);

    const vsText = pixelDiff(fromA, textOnly);
    console.log('img2img vs text-to-image, same prompt and seed:', vsText);
    expect(vsText.meanAbs).toBeGreaterThan(5);

    await pickInputImage(page, imageB);
    const fromB = await generateImage(page, { prompt, seed: 42, steps: 2 });
    const vsOtherImage = pixelDiff(fromA, fromB);
    console.log('input image A vs B:', vsOtherImage);
    expect(vsOtherImage.meanAbs).toBeGreaterThan(3);
    const referenceB = nodeRunnerImage({
      model: 'tiny-fp32',
      prompt,
      seed: 42,
      steps: 2,
      strength: 0.5,
      image: imageB,
    });
    expect(pixelDiff(fromB, referenceB).maxAbs).toBeLessThanOrEqual(MAX_CHANNEL_DIFF);

    // 1 step × 0.5 rounds to no step: Generate is off and the panel says why.
    await page.getByTestId('steps').selectOption('1');
    await expect(page.getByTestId('img2img-blocked')).toContainText('0 denoising steps');
    await expect(page.getByTestId('generate')).toBeDisabled();
    await setStrength(page, 1);
    await expect(page.getByTestId('img2img-blocked')).toHaveCount(0);
    await expect(page.getByTestId('generate')).toBeEnabled();
    await expect(page.getByTestId('strength-hint')).toContainText(
      '1 step × strength 1 = 1 denoising step',
    );

    // Removing the image goes back to text-to-image: the same picture as before.
    await page.getByTestId('input-clear').click();
    const textAgain = await generateImage(page, { prompt, seed: 42, steps: 2 });
    expect(pixelDiff(textAgain, textOnly).maxAbs).toBe(0);
  });

  test('live mode and "use output as input": prompt edits reuse the encoded image', async ({
    page,
  }) => {
    await openWithModel(page, 'tiny-fp32', 'webgpu');
    await page.getByTestId('previews').uncheck(); // TAESDXL previews are live-previews.spec.ts's
    await page.getByTestId('seed').fill('7');
    await page.getByTestId('steps').selectOption('2');
    await page.getByTestId('prompt').fill('a lighthouse');
    const canvas = page.getByTestId('output');
    await expect(canvas).toHaveAttribute('aria-label', 'Generated image: a lighthouse', {
      timeout: 90_000,
    });
    await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'ready');
    const output = await readCanvas(page);

    await page.getByTestId('use-output').click();
    await expect(page.getByTestId('input-caption')).toContainText('generated image (seed 7)');
    expect(pixelDiff(await readInputPreview(page), output).maxAbs).toBe(0);

    // Every edit asks for a picture; the image is encoded once, later frames reuse it.
    const before = await canvas.getAttribute('data-frame-id');
    await page.getByTestId('prompt').pressSequentially(' at night', { delay: 60 });
    const stats = page.getByTestId('live-stats');
    await expect
      .poll(
        async () => {
          const n = async (key: string) => Number(await stats.getAttribute(`data-${key}`));
          const ended = (await n('finished')) + (await n('superseded'));
          return ended === (await n('requested')) ? 'settled' : 'busy';
        },
        { timeout: 120_000 },
      )
      .toBe('settled');
    await expect(page.getByTestId('error')).toHaveCount(0);
    expect(await canvas.getAttribute('data-frame-id')).not.toBe(before);
    await expect(canvas).toHaveAttribute('aria-label', 'Generated image: a lighthouse at night');
    await expect(page.getByTestId('timings')).toContainText(/VAE encode \(input\)\s*cached/);
    const final = await readCanvas(page);
    expect(pixelDiff(final, output).meanAbs).toBeGreaterThan(1);
  });
});
