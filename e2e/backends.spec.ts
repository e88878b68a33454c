import { expect, test } from '@playwright/test';
import { generateImage, MODEL_SERVER, openWithModel } from './support/app.ts';
import { nodeRunnerImage, pixelDiff } from './support/reference.ts';

test.describe('choosing a backend for the model', () => {
  test('an fp16 model on WebGPU without shader-f16 gets a plain explanation, not a crash', async ({
    page,
  }) => {
    // SwiftShader's adapter has no shader-f16, like many integrated GPUs.
    const modelUrl = `${MODEL_SERVER}/tiny-fp16/`;
    await page.goto(`./?model=${encodeURIComponent(modelUrl)}&backend=webgpu`);
    await page.getByTestId('load-without-storing').click({ timeout: 60_000 });
    const alert = page.getByTestId('error');
    await expect(alert).toHaveAttribute('data-code', 'no-shader-f16', { timeout: 60_000 });
    await expect(alert).toContainText('16-bit float shaders (shader-f16)');
    await expect(alert).toContainText('WebAssembly fallback');
    await expect(page.getByTestId('generate')).toBeDisabled();
  });

  test('the same fp16 model runs on the labelled WebAssembly fallback and matches the Node runner', async ({
    page,
  }) => {
    await openWithModel(page, 'tiny-fp16', 'wasm');
    await expect(page.getByTestId('model-info')).toContainText('WebAssembly (slow fallback)');
    await expect(page.getByTestId('model-info')).toHaveAttribute('data-dtype', 'float16');

    const image = await generateImage(page, { prompt: 'a photo of a cat', seed: 5, steps: 1 });
    expect(image.backend).toBe('wasm');
    const reference = nodeRunnerImage({
      model: 'tiny-fp16',
      prompt: 'a photo of a cat',
      seed: 5,
      steps: 1,
    });
    // Same wasm kernels on both sides: identical up to rare last-bit differences.
    expect(pixelDiff(image, reference).maxAbs).toBeLessThanOrEqual(1);
  });
});
