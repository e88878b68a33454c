/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  // Relative asset paths, so the built app works under any sub-path (GitHub Pages, a CDN folder).
  base: './',
  build: { target: 'es2022' },
  // The engine is a module worker: it imports the pipeline and onnxruntime-web as ES modules.
  worker: { format: 'es' },
  test: {
    include: ['src/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts', 'e2e/support/**/*.test.ts'],
    environment: 'node',
    // Tests that run real ONNX graphs take seconds on a loaded 2-core machine.
    testTimeout: 30_000,
  },
});
