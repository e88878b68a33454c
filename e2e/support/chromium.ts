/**
 * How the e2e tests launch Chromium: the system browser (Playwright must never download one
 * here) with a real WebGPU adapter.
 *
 * Measured with Debian's Chromium 156, headless, as root, through Playwright 1.65:
 * - `--enable-unsafe-webgpu` is the one flag required. Without it `navigator.gpu` exists but
 *   `requestAdapter()` resolves to null; with it we get Dawn's SwiftShader adapter
 *   (vendor "google", architecture "swiftshader", isFallbackAdapter true, no `shader-f16`,
 *   maxBufferSize 1 GiB), in the page and in workers alike.
 * - Playwright already passes `--headless`, `--no-sandbox` (chromiumSandbox defaults to false;
 *   the sandbox cannot start as root), `--enable-unsafe-swiftshader`,
 *   `--disable-background-networking`, `--disable-component-update`, `--disable-sync`,
 *   `--no-first-run` and `--disable-dev-shm-usage`.
 * - `--use-webgpu-adapter=swiftshader`, `--enable-features=Vulkan`, `--use-angle=swiftshader`
 *   and `--headless=new` change nothing here; `--use-webgpu-adapter=swiftshader` alone (without
 *   `--enable-unsafe-webgpu`) still gives no adapter.
 * On a machine with a real GPU the same flag exposes that GPU instead.
 */
import type { LaunchOptions } from '@playwright/test';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = ['--enable-unsafe-webgpu'];

export const chromiumLaunchOptions: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  args: [...CHROMIUM_ARGS],
  // Root cannot run Chromium's sandbox; this is Playwright's default, spelled out.
  chromiumSandbox: false,
};
