/**
 * Issue 6: a new deployment is detected and offered, never half-applied. Two builds of the
 * same code with different versions stand in for two deployments; the test's own server
 * switches from the first to the second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { buildApp, waitForOfflineReady } from './support/pwa.ts';
import { startStaticServer } from './support/static-server.ts';

// Builds of their own, in a scratch folder: dist/ may be in use by another test run.
let scratch = '';
let oldBuild = '';
let newBuild = '';

test.beforeAll(async () => {
  test.setTimeout(180_000);
  scratch = mkdtempSync(path.join(tmpdir(), 'sdxl-update-e2e-'));
  oldBuild = path.join(scratch, 'a');
  newBuild = path.join(scratch, 'b');
  await Promise.all([buildApp(oldBuild, '1.0.0-a'), buildApp(newBuild, '1.0.0-b')]);
});

test.afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('a new deployment is offered with a banner and applied only on Reload', async ({ page }) => {
  const app = await startStaticServer({ root: oldBuild });
  try {
    const version = page.getByTestId('app-version');
    const banner = page.getByTestId('update-banner');
    await page.goto(app.url);
    await waitForOfflineReady(page);
    await expect(version).toContainText('1.0.0-a');
    await expect(banner).toHaveCount(0);
    const scriptOf = () => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL);
    const oldWorker = await page.evaluate(
      async () => (await navigator.serviceWorker.getRegistration())?.active?.scriptURL,
    );

    // Deploy the new version and let the browser look for it.
    app.setRoot(newBuild);
    await page.evaluate(async () => {
      await (await navigator.serviceWorker.getRegistration())?.update();
    });
    await expect(banner).toBeVisible({ timeout: 60_000 });
    await expect(banner).toContainText('A new version is ready');

    // Not applied behind the user's back: the old version keeps running, even after a reload,
    // with the new one installed and waiting.
    await expect(version).toContainText('1.0.0-a');
    await page.reload();
    await expect(version).toContainText('1.0.0-a');
    await expect(page.getByTestId('status')).not.toHaveAttribute('data-state', 'starting', {
      timeout: 60_000,
    });
    await expect(banner).toBeVisible();
    expect(await scriptOf()).toBe(oldWorker);
    expect(
      await page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration())?.waiting),
    ).toBe(true);

    // The user accepts: the new worker takes over and the page reloads onto the new version.
    await page.getByTestId('update-reload').click();
    await expect(version).toContainText('1.0.0-b', { timeout: 30_000 });
    await expect(banner).toHaveCount(0);
    await expect(page.getByTestId('offline-status')).toHaveAttribute('data-state', 'ready');
    await expect(page.getByTestId('status')).not.toHaveAttribute('data-state', 'starting', {
      timeout: 60_000,
    });
    expect(
      await page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration())?.waiting),
    ).toBe(false);
  } finally {
    await app.close();
  }
});
