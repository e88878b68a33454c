import { expect, test } from '@playwright/test';
import { openWithModel, readCanvas } from './support/app.ts';
import { nodeRunnerImage, pixelDiff } from './support/reference.ts';

test("live mode: typing one character at a time ends on the final prompt's image", async ({
  page,
}) => {
  await openWithModel(page, 'tiny-fp32', 'webgpu');
  await expect(page.getByTestId('live')).toBeChecked(); // on by default once a model is loaded
  // This test is about pacing; TAESDXL previews (and their full-VAE follow-up) are live-previews.spec.ts's.
  await page.getByTestId('previews').uncheck();
  await page.getByTestId('seed').fill('42'); // with an empty prompt, nothing is generated yet

  const text = 'a photo of a cat';
  await page.getByTestId('prompt').pressSequentially(text, { delay: 80 });

  // Every request ends as a frame or as superseded; wait until all have.
  const stats = page.getByTestId('live-stats');
  await expect
    .poll(
      async () => {
        // The stats line appears with the first frame (slow on a loaded machine): wait for it.
        if ((await stats.count()) === 0) return 'no frame yet';
        const n = async (key: string) => Number(await stats.getAttribute(`data-${key}`));
        const requested = await n('requested');
        const ended = (await n('finished')) + (await n('superseded'));
        return requested > 0 && ended === requested ? 'settled' : `${ended}/${requested}`;
      },
      { timeout: 120_000 },
    )
    .toBe('settled');
  await expect(page.getByTestId('error')).toHaveCount(0);

  const requested = Number(await stats.getAttribute('data-requested'));
  const started = Number(await stats.getAttribute('data-started'));
  const finished = Number(await stats.getAttribute('data-finished'));
  console.log(
    `${text.length} keystrokes: ${requested} requests, ${started} generations, ${finished} frames`,
  );
  expect(requested).toBe(text.length); // one request per keystroke...
  expect(started).toBeLessThanOrEqual(text.length / 2); // ...but far fewer generations
  expect(finished).toBe(started);

  const canvas = page.getByTestId('output');
  await expect(canvas).toHaveAttribute('aria-label', `Generated image: ${text}`);
  await expect(canvas).toHaveAttribute('data-seed', '42');
  const image = await readCanvas(page);
  const reference = nodeRunnerImage({ model: 'tiny-fp32', prompt: text, seed: 42, steps: 1 });
  expect(pixelDiff(image, reference).maxAbs).toBeLessThanOrEqual(3);
  await expect(page.getByTestId('latency')).toBeVisible();
});
