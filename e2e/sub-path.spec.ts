/**
 * Issue 6: the built dist/ works from any folder of any static host. Served at /some/dir/,
 * the page, its assets, the engine worker, the web app manifest and the service worker all
 * stay inside that folder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { appWorker } from './support/app.ts';
import { requireBuiltApp, waitForOfflineReady } from './support/pwa.ts';
import { startStaticServer } from './support/static-server.ts';

const PREFIX = '/some/dir/';

test('dist/ serves from a sub-path: assets, engine worker, manifest and service worker scope', async ({
  page,
}) => {
  const dist = requireBuiltApp();
  // What the build wrote: relative URLs only, and a precache with the engine and the wasm.
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  expect(html).not.toMatch(/(src|href)="\//);
  const sw = readFileSync(path.join(dist, 'sw.js'), 'utf8');
  expect(sw).toMatch(/url:"assets\/worker-[\w-]{8}\.js"/);
  expect(sw).toMatch(/url:"assets\/ort-wasm-simd-threaded\.asyncify-[\w-]{8}\.wasm"/);
  expect(sw).toContain('url:"index.html"');

  const app = await startStaticServer({ root: dist, prefix: PREFIX });
  try {
    await page.goto(`${app.origin}/some/dir`); // redirected to the folder
    await expect(page).toHaveURL(app.url);
    await expect(page.getByTestId('status')).not.toHaveAttribute('data-state', 'starting', {
      timeout: 60_000,
    });
    await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'idle');

    // The engine worker's script is content-hashed: a page only ever starts its own engine.
    const worker = await appWorker(page);
    expect(worker.url()).toMatch(new RegExp(`^${app.url}assets/worker-[\\w-]{8}\\.js$`));

    await waitForOfflineReady(page);
    const registration = await page.evaluate(async () => {
      const r = await navigator.serviceWorker.getRegistration();
      return { scope: r?.scope, script: r?.active?.scriptURL };
    });
    expect(registration).toEqual({ scope: app.url, script: `${app.url}sw.js` });

    // The manifest: relative start_url, scope and icons, all found in the folder.
    const href = await page.locator('link[rel=manifest]').getAttribute('href');
    expect(href).toBe('./manifest.webmanifest');
    const manifestUrl = new URL(href ?? '', app.url).href;
    const manifest = (await (await page.request.get(manifestUrl)).json()) as {
      start_url: string;
      scope: string;
      display: string;
      icons: Array<{ src: string; sizes: string; purpose?: string }>;
    };
    expect(manifest).toMatchObject({ start_url: '.', scope: '.', display: 'standalone' });
    expect(manifest.icons.map((i) => `${i.sizes} ${i.purpose ?? 'any'}`).sort()).toEqual([
      '192x192 any',
      '512x512 any',
      '512x512 maskable',
    ]);
    for (const icon of manifest.icons) {
      expect(icon.src).not.toMatch(/^\/|:\/\//);
      const response = await page.request.get(new URL(icon.src, manifestUrl).href);
      expect(response.status(), icon.src).toBe(200);
      expect(response.headers()['content-type']).toBe('image/png');
    }

    // Nothing was asked for outside the folder.
    expect(app.requests.filter((p) => !p.startsWith(PREFIX))).toEqual(['/some/dir']);
  } finally {
    await app.close();
  }
});
