/** The soak test (`npm run soak`): the e2e setup with one long test. Not part of `npm test`. */
import { defineConfig } from '@playwright/test';
import base from './playwright.config.ts';

export default defineConfig({
  ...base,
  testDir: 'e2e/soak',
  testMatch: '**/*.soak.ts',
  outputDir: 'test-results/soak',
  reporter: [['list']],
});
