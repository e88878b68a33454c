/** Service worker helpers for the offline, sub-path and update tests. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, type Page } from '@playwright/test';
import { REPO_ROOT } from './reference.ts';

/** The build that `npm run build` (and scripts/test-all.sh) writes. */
export const DIST_DIR = path.join(REPO_ROOT, 'dist');

/** Fails clearly when dist/ is missing or was built without the service worker. */
export function requireBuiltApp(dir = DIST_DIR): string {
  if (!existsSync(path.join(dir, 'index.html')) || !existsSync(path.join(dir, 'sw.js'))) {
    throw new Error(`${dir} has no built app with sw.js: run \`npm run build\` first`);
  }
  return dir;
}

/** `vite build --outDir outDir` with APP_VERSION set (another deployment of the same code). */
export function buildApp(outDir: string, appVersion: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'npx',
      ['vite', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, APP_VERSION: appVersion },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build ${outDir} exited ${code}: ${stderr}`)),
    );
  });
}

/**
 * Waits until the service worker controls the page with its precache complete, as the
 * page's own indicator reports it.
 */
export async function waitForOfflineReady(page: Page): Promise<void> {
  await expect(page.getByTestId('offline-status')).toHaveAttribute('data-state', 'ready', {
    timeout: 60_000,
  });
  await expect(page.getByTestId('offline-status')).toContainText('App ready offline');
  await expect
    .poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null))
    .toBe(true);
}

/** Every URL in the page's Cache Storage (the service worker's precache). */
export function cachedUrls(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const urls: string[] = [];
    for (const name of await caches.keys()) {
      for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
    }
    return urls;
  });
}
