/**
 * Issue 18: the first visit as a new user meets it, on a desktop (1280×900) and a phone
 * (390×844). What to do next is on screen without scrolling: the model choice on a first
 * visit, the download plan when the link names a model, and once the model is ready the
 * prompt and the image, with the model panel folded to one line. Screenshots of each moment,
 * light and dark, and axe on each.
 */
import { expect, test, type Locator, type Page, type TestInfo } from '@playwright/test';
import { expectModelReady, generateImage, MODEL_SERVER } from './support/app.ts';
import { expectNoSeriousAxeViolations, screenshot } from './support/look.ts';

const SIZES = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;

const MODEL_URL = `${MODEL_SERVER}/tiny-fp32/`;
const WITH_MODEL = `./?model=${encodeURIComponent(MODEL_URL)}&backend=webgpu`;

const throttle = (page: Page, bps: number) =>
  page.request.post(`${MODEL_SERVER}/__throttle?bps=${bps}`);

test.afterEach(async ({ page }) => {
  await throttle(page, 0);
});

/** Inside the viewport as the page opens: whole, and the page not scrolled to get there. */
async function expectInFirstScreen(page: Page, locator: Locator, what: string) {
  expect(await page.evaluate(() => window.scrollY), `${what}: page scrolled`).toBe(0);
  await expect(locator, what).toBeInViewport({ ratio: 1 });
  const box = await locator.boundingBox();
  const viewport = page.viewportSize();
  console.log(
    `${what}: y ${box?.y.toFixed(0)}..${((box?.y ?? 0) + (box?.height ?? 0)).toFixed(0)} of ${viewport?.height}`,
  );
}

/** Screenshot and axe in the light and the dark theme (both follow the system setting). */
async function lookInBothThemes(page: Page, testInfo: TestInfo, name: string) {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await screenshot(page, testInfo, `${name}-${scheme}`);
    await expectNoSeriousAxeViolations(page, testInfo, `${name}-${scheme}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Nothing may overflow sideways. */
async function expectNoSidewaysScroll(page: Page) {
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
}

for (const size of SIZES) {
  test(`first visit at ${size.width}×${size.height}: choosing a model is the first thing on screen`, async ({
    page,
  }, testInfo) => {
    await page.setViewportSize(size);
    await page.goto('./');
    await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'idle', {
      timeout: 60_000,
    });

    // The suggested hosted build is preselected with its size and why, and one primary button.
    const panel = page.getByTestId('model-panel');
    await expect(panel).toHaveAttribute('data-state', 'choosing');
    const build = page.getByTestId('selected-build');
    await expect(build).toContainText(/about [\d.]+ GB download/);
    await expect(build).toContainText('recommended');
    await expect(page.getByTestId('recommendation-reason')).toContainText('Why this one:');
    const primary = page.getByTestId('load-model');
    await expect(primary).toBeEnabled();
    await expectInFirstScreen(page, primary, 'Load model');
    await expect(panel.locator('button.primary')).toHaveCount(1);
    await expectNoSidewaysScroll(page);
    await lookInBothThemes(page, testInfo, `first-visit-${size.name}`);

    // The other choices are one step away; every build's name and size shows whole.
    await page.getByTestId('model-options').locator('summary').click();
    const names = page.getByTestId('hosted-models').locator('.choice-name');
    expect(await names.count()).toBeGreaterThan(0);
    for (const name of await names.all()) {
      await expect(name).toBeVisible();
      const cut = await name.evaluate((el) => el.scrollWidth > el.clientWidth);
      expect(cut, await name.innerText()).toBe(false);
    }
    await expect(page.getByTestId('model-url')).toBeVisible();
    await expect(page.getByTestId('backend')).toBeVisible();
    await expectNoSidewaysScroll(page);
    await screenshot(page, testInfo, `choices-${size.name}`);
    await expectNoSeriousAxeViolations(page, testInfo, `choices-${size.name}`);

    // Picking another build makes it the choice above the primary button.
    const other = page.getByTestId('hosted-models').locator('li').last();
    const otherId = await other.getAttribute('data-model-id');
    await other.locator('input[type=radio]').check();
    await expect(build).toHaveAttribute('data-model-id', otherId ?? '');
  });

  test(`a link with ?model= at ${size.width}×${size.height}: the download plan and its button first, progress in its place`, async ({
    page,
  }, testInfo) => {
    await page.setViewportSize(size);
    await page.goto(WITH_MODEL);
    const plan = page.getByTestId('model-panel').getByTestId('download-plan');
    await expect(plan).toContainText(/This model is [\d.]+ MB in \d+ files/, { timeout: 60_000 });
    await expect(plan).toContainText('tiny-fp32');
    await expectInFirstScreen(page, page.getByTestId('download-confirm'), 'Download and keep');
    await expectNoSidewaysScroll(page);
    await lookInBothThemes(page, testInfo, `plan-${size.name}`);

    // The download shows where it is, per file and in total with the time left, in the same
    // place: slowed down so there is time to look.
    await throttle(page, 1_000_000);
    await page.getByTestId('download-confirm').click();
    const progress = page.getByTestId('model-panel').getByTestId('download-progress');
    await expect(progress).toBeInViewport();
    await expect(page.getByTestId('download-total')).toContainText(/ left/);
    expect(await progress.locator('li[data-file]').count()).toBeGreaterThan(1);
    await screenshot(page, testInfo, `downloading-${size.name}`);
    await throttle(page, 0);
    // Then the load, in the same place: its files from storage, then preparing the GPU.
    const stage = page.getByTestId('model-panel').getByTestId('load-stage');
    await expect(stage).toBeInViewport({ timeout: 90_000 });
    await expect(stage).toContainText('tiny-fp32');
  });
}

test('once the model is ready the panel is one line; prompt and image take the screen', async ({
  page,
}, testInfo) => {
  await page.setViewportSize(SIZES[0]);
  await page.goto(WITH_MODEL);
  await page.getByTestId('download-confirm').click({ timeout: 60_000 });
  await expectModelReady(page);

  const panel = page.getByTestId('model-panel');
  await expect(panel).toHaveAttribute('data-state', 'folded');
  const summary = page.getByTestId('model-summary');
  await expect(page.getByTestId('model-name')).toHaveText('tiny-fp32');
  await expect(page.getByTestId('model-kept')).toHaveText('stored');
  await expect(summary).toContainText(/[\d.]+ MB/);
  await expect(page.getByTestId('model-info')).toContainText('WebGPU, fp32');

  const image = await generateImage(page, { prompt: 'a red fox in the snow', seed: 7, steps: 1 });
  expect(image.width).toBe(512);

  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.evaluate(() => window.scrollTo(0, 0));
    await expectOneLine(summary, size.name);
    await expectInFirstScreen(page, page.getByTestId('prompt'), `prompt (${size.name})`);
    await expectInFirstScreen(page, page.getByTestId('generate'), `Generate (${size.name})`);
    // The image starts inside the first screen; on the desktop it is there whole.
    await expect(page.getByTestId('output')).toBeInViewport({
      ratio: size.name === 'desktop' ? 1 : 0.25,
    });
    const canvas = await page.getByTestId('output').boundingBox();
    const summaryBox = await summary.boundingBox();
    console.log(
      `${size.name}: image y ${canvas?.y.toFixed(0)}..${((canvas?.y ?? 0) + (canvas?.height ?? 0)).toFixed(0)} of ${size.height}; model line ${summaryBox?.height.toFixed(0)} px high`,
    );
    await expectNoSidewaysScroll(page);
    await lookInBothThemes(page, testInfo, `ready-${size.name}`);
  }

  // Change opens the whole panel in place, Close folds it again.
  const change = page.getByTestId('model-change');
  await change.click();
  await expect(panel).toHaveAttribute('data-state', 'choosing');
  await expect(change).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByTestId('load-model')).toBeInViewport();
  await expect(page.locator('[data-testid=stored-models] li[data-complete=true]')).toBeVisible();
  await screenshot(page, testInfo, 'change-phone');
  await change.click();
  await expect(panel).toHaveAttribute('data-state', 'folded');
});

/** Every part of the line sits on one row: their vertical middles agree. */
async function expectOneLine(summary: Locator, where: string) {
  const middles = await summary.evaluate((el) =>
    [...el.children]
      .map((c) => c.getBoundingClientRect())
      .filter((r) => r.width > 0)
      .map((r) => Math.round(r.top + r.height / 2)),
  );
  expect(middles.length, where).toBeGreaterThan(3);
  expect(Math.max(...middles) - Math.min(...middles), `${where}: ${middles}`).toBeLessThanOrEqual(
    2,
  );
  const box = await summary.boundingBox();
  expect(box?.height ?? 0, where).toBeLessThan(48);
}
