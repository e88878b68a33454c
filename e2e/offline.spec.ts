/**
 * Issue 6: after one online visit the app works with no network at all. The test serves the
 * built app and the model from servers it starts itself, so it can stop them: offline here
 * means the servers are gone and the browser is offline too.
 */
import { expect, test } from '@playwright/test';
import { expectModelReady, generateImage } from './support/app.ts';
import { startModelServer } from './support/model-server.ts';
import { cachedUrls, requireBuiltApp, waitForOfflineReady } from './support/pwa.ts';
import { TEST_MODELS_DIR } from './support/reference.ts';
import { startStaticServer } from './support/static-server.ts';

test('after one online visit the app starts, loads its stored model and generates offline', async ({
  page,
  context,
}) => {
  const app = await startStaticServer({ root: requireBuiltApp() });
  const models = await startModelServer({ root: TEST_MODELS_DIR, port: 0 });
  try {
    const appUrl = `${app.url}?model=${encodeURIComponent(`${models.origin}/tiny-fp32/`)}&backend=webgpu`;
    const status = page.getByTestId('status');

    // First visit, nothing stored: the service worker precaches the app.
    await page.goto(app.url);
    await waitForOfflineReady(page);
    await expect(page.getByTestId('offline-status')).toContainText('no model stored yet');

    // Offline before any model is stored: a plain message, not a spinner.
    await context.setOffline(true);
    await page.goto(appUrl); // the page comes from the service worker's cache
    await expect(page.getByTestId('offline-no-model')).toHaveText(
      'You are offline and no model is stored in this browser yet. Connect once to download a model; after that the app works offline.',
    );
    await expect(status).toHaveAttribute('data-state', 'error'); // the plan failed, nothing spins
    await expect(page.getByTestId('error')).toHaveAttribute('data-code', 'offline');

    // Online again: store the tiny model (the flow of model-storage.spec.ts) and generate.
    await context.setOffline(false);
    await page.goto(appUrl);
    await page.getByTestId('download-confirm').click({ timeout: 60_000 });
    await expectModelReady(page);
    await expect(page.getByTestId('offline-no-model')).toHaveCount(0);
    await expect(page.getByTestId('offline-status')).toContainText(/stored: \S*tiny-fp32/);
    const params = { prompt: 'a lighthouse at dusk', seed: 5, steps: 1 };
    const online = await generateImage(page, params);
    expect(online.backend).toBe('webgpu');

    // The precache holds the app (engine worker and onnxruntime-web's wasm included), never
    // a model file: those live in IndexedDB.
    const cached = await cachedUrls(page);
    expect(cached.some((u) => /\/assets\/worker-[\w-]+\.js$/.test(u))).toBe(true);
    expect(cached.some((u) => /\/assets\/ort-wasm-simd-threaded\.[\w.-]+\.wasm$/.test(u))).toBe(
      true,
    );
    expect(cached.filter((u) => u.startsWith(models.origin))).toEqual([]);

    // No network at all: both servers stopped, the browser offline.
    await app.close();
    await models.close();
    const requestsBefore = app.requests.length + models.requests.length;
    await context.setOffline(true);
    await page.reload();
    await expectModelReady(page);
    await expect(page.getByTestId('offline-no-model')).toHaveCount(0);
    await expect(page.getByTestId('offline-status')).toContainText('App ready offline');
    const offline = await generateImage(page, params);
    expect(offline.backend).toBe('webgpu');
    expect(Buffer.from(offline.data).equals(Buffer.from(online.data))).toBe(true);
    expect(app.requests.length + models.requests.length).toBe(requestsBefore);
  } finally {
    await context.setOffline(false);
    await app.close();
    await models.close().catch(() => {}); // already closed above
  }
});
