import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './e2e/support/chromium.ts';

const PREVIEW_PORT = Number(process.env['PREVIEW_PORT'] ?? 4173);
const MODEL_SERVER_PORT = Number(process.env['MODEL_SERVER_PORT'] ?? 4174);

export default defineConfig({
  testDir: 'e2e',
  // e2e/support/*.test.ts are vitest unit tests; Playwright runs only the specs.
  testMatch: '**/*.spec.ts',
  // Playwright empties outputDir at start: keep it apart from the JSON reports in test-results/.
  outputDir: 'test-results/playwright',
  // One browser at a time: SwiftShader runs WebGPU on the CPU, and CI has 2 cores.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env['CI'],
  retries: 0,
  // Loading a tiny model takes about a minute on SwiftShader (its warm-up compiles every WGSL
  // shader) and a test may load twice and make several images; CI's machine is busy. Eight
  // minutes still ends a hung test, without failing a slow but healthy one.
  timeout: 480_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e-results.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${PREVIEW_PORT}`,
    headless: true,
    launchOptions: chromiumLaunchOptions,
    trace: 'retain-on-failure',
    actionTimeout: 30_000,
    navigationTimeout: 30_000,
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: [
    {
      // The built app (scripts/test-all.sh runs `npm run build` first).
      command: `npx vite preview --host 127.0.0.1 --port ${PREVIEW_PORT} --strictPort`,
      url: `http://127.0.0.1:${PREVIEW_PORT}/`,
      reuseExistingServer: !process.env['CI'],
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // The tiny test models from .test-models/, cross-origin like a real model host.
      command: 'npx tsx e2e/support/model-server.ts',
      url: `http://127.0.0.1:${MODEL_SERVER_PORT}/__stats`,
      env: { MODEL_SERVER_PORT: String(MODEL_SERVER_PORT) },
      reuseExistingServer: !process.env['CI'],
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});
