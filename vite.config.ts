/// <reference types="vitest/config" />
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const buildTime = new Date().toISOString();

/**
 * The version shown in the footer: APP_VERSION when set (deployments, the update test), else
 * package.json's version plus the git commit ("0.1.0+529f22e", "-dirty" for uncommitted
 * changes), else plus the build time. The commit rather than the time keeps rebuilding one
 * commit byte-identical, so it is not offered as an update.
 */
function appVersion(): string {
  const override = process.env['APP_VERSION'];
  if (override) return override;
  try {
    const described = execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=7'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (described) return `${pkg.version}+${described}`;
  } catch {
    // not a git checkout (a tarball): fall through
  }
  return `${pkg.version}+${buildTime}`;
}

/**
 * The page's Content-Security-Policy: only this origin's scripts (plus WebAssembly compilation),
 * workers from this origin, styles and images from this origin (images also from blob: and data:
 * URLs: the favicon is a data: URL, pictures the user gives are read through blob: URLs), no
 * plugins, no <base> rewriting. connect-src allows any https: host and local http hosts because a
 * custom model URL may point anywhere. A static host cannot be relied on to send headers, so it is
 * a <meta http-equiv> in index.html (which cannot carry frame-ancestors or reporting).
 *
 * It applies to the page only: the engine worker and the service worker are governed by the
 * headers their own responses carry, not by the page's meta tag.
 *
 * Added to the built page only: the dev server's React refresh runs an inline script.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' https: http://127.0.0.1:* http://localhost:*",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

const contentSecurityPolicy: Plugin = {
  name: 'content-security-policy',
  apply: 'build',
  transformIndexHtml: () => [
    {
      tag: 'meta',
      attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY },
      injectTo: 'head-prepend',
    },
  ],
};

export default defineConfig(({ command }) => ({
  plugins: [
    contentSecurityPolicy,
    react(),
    // The service worker (Workbox): precaches the app shell and onnxruntime-web's wasm so the
    // app starts offline after the first visit. Model weights are not its business: they live
    // in IndexedDB (src/storage), and no runtime route touches model URLs.
    VitePWA({
      // A new deployment waits until the user accepts it (src/sw/register.ts shows the prompt).
      registerType: 'prompt',
      injectRegister: null,
      strategies: 'generateSW',
      includeAssets: ['icons/apple-touch-icon-180.png'],
      manifest: {
        name: 'SDXL Turbo in the browser',
        short_name: 'SDXL Turbo',
        description:
          'Text-to-image with SDXL Turbo, running on your own GPU in the browser (WebGPU).',
        // Relative, so the installed app works wherever the folder is hosted.
        id: '.',
        start_url: '.',
        scope: '.',
        display: 'standalone',
        theme_color: '#4f46e5',
        background_color: '#111827',
        icons: [
          { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          {
            src: 'icons/icon-maskable-512.png',
            sizes: '512x512',
            type: 'image/png',
            purpose: 'maskable',
          },
        ],
      },
      workbox: {
        // The app shell, the worker chunk and onnxruntime-web's wasm (26.8 MB for the
        // asyncify build the WebGPU bundle loads; its .mjs glue is bundled into the worker).
        // The manifest and its icons are added by the plugin itself.
        globPatterns: ['**/*.{html,js,mjs,css,wasm}'],
        maximumFileSizeToCacheInBytes: 40 * 1024 * 1024,
        // Vite's hashed file names already identify their content.
        dontCacheBustURLsMatching: /^assets\/.+-[\w-]{8}\.\w+$/,
        // The first visit is controlled as soon as the precache is complete; an update still
        // waits for the user (no skipWaiting), then takes every tab at once.
        clientsClaim: true,
        cleanupOutdatedCaches: true,
        // Any navigation to the app's folder (with ?model=... and other parameters) gets the
        // precached page; other paths under the scope go to the network as usual.
        navigateFallback: 'index.html',
        navigateFallbackAllowlist: [/\/(index\.html)?(\?.*)?$/],
        // No runtime caching: model files (any origin) pass straight through to the network.
        runtimeCaching: [],
      },
    }),
  ],
  // Relative asset paths, so the built app works under any sub-path (GitHub Pages, a CDN folder).
  base: './',
  build: { target: 'es2022' },
  define: {
    __APP_VERSION__: JSON.stringify(appVersion()),
    __APP_BUILD_TIME__: JSON.stringify(buildTime),
    // Only the built app has a service worker (the dev server and unit tests have none).
    __SERVICE_WORKER__: JSON.stringify(command === 'build'),
  },
  // The engine is a module worker: it imports the pipeline and onnxruntime-web as ES modules.
  worker: { format: 'es' },
  test: {
    include: ['src/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts', 'e2e/support/**/*.test.ts'],
    environment: 'node',
    // Tests that run real ONNX graphs take seconds on a loaded 2-core machine.
    testTimeout: 30_000,
  },
}));
