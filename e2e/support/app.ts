/** Driving the app's UI from Playwright, through its data-testid hooks. */
import { expect, type Page, type Worker } from '@playwright/test';
import type { RgbaImage } from './reference.ts';

export const MODEL_SERVER = `http://127.0.0.1:${process.env['MODEL_SERVER_PORT'] ?? 4174}`;

/**
 * How long a model load may take in these tests. The tiny models load in about a minute on
 * SwiftShader on a 2-core machine, nearly all of it the warm-up image compiling every WGSL
 * shader; one busy core beside it pushed a load past 90 s, and CI's machine is busy.
 */
export const MODEL_READY_TIMEOUT_MS = 240_000;

/** Waits until the model is loaded (from the network or from storage) and ready to generate. */
export async function expectModelReady(page: Page): Promise<void> {
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'ready', {
    timeout: MODEL_READY_TIMEOUT_MS,
  });
}

/**
 * Opens the app with `model` (a folder of the model server) in the URL, downloads it into
 * IndexedDB and waits until it is loaded. `beforeLoad` runs in the app's worker first (e.g.
 * to wrap a WebGPU call before onnxruntime-web makes it).
 */
export async function openWithModel(
  page: Page,
  model: string,
  backend: 'auto' | 'webgpu' | 'wasm' = 'webgpu',
  beforeLoad?: (worker: Worker) => Promise<void>,
) {
  const modelUrl = `${MODEL_SERVER}/${model}/`;
  await page.goto(`./?model=${encodeURIComponent(modelUrl)}&backend=${backend}`);
  await beforeLoad?.(await appWorker(page));
  // ?model= plans the download as soon as the worker is up; a new browser profile has nothing
  // stored, so the app shows what it would store and waits for the user's go-ahead.
  await page.getByTestId('download-confirm').click({ timeout: 60_000 });
  await expectModelReady(page);
}

export interface GenerateOptions {
  prompt: string;
  seed: number;
  steps?: number;
  size?: string; // option value of the size select, e.g. "512x512"
  /** How long to wait for the frame; default 90 s. */
  timeoutMs?: number;
}

/** Fills the controls, presses Generate, waits for the new frame and reads the canvas back. */
export async function generateImage(
  page: Page,
  options: GenerateOptions,
): Promise<RgbaImage & { backend: string | null }> {
  // Explicit generation: with live mode on, every filled field would ask for its own image.
  await page.getByTestId('live').uncheck();
  // Full-VAE images only: TAESDXL step previews (live-previews.spec.ts) are slow on SwiftShader.
  await page.getByTestId('previews').uncheck();
  await page.getByTestId('prompt').fill(options.prompt);
  await page.getByTestId('seed').fill(String(options.seed));
  await page.getByTestId('steps').selectOption(String(options.steps ?? 1));
  if (options.size) await page.getByTestId('size').selectOption(options.size);
  const canvas = page.getByTestId('output');
  const before = await canvas.getAttribute('data-frame-id');
  await page.getByTestId('generate').click();
  const error = page.getByTestId('error');
  // Wait for a newer frame, failing fast if the app shows an error instead.
  await expect
    .poll(
      async () => {
        if (await error.count()) return `error: ${await error.innerText()}`;
        const id = await canvas.getAttribute('data-frame-id');
        // A per-step TAESDXL preview carries the request's id too: wait for its own frame.
        const preview = await canvas.getAttribute('data-preview-step');
        return id !== null && id !== before && preview === null ? 'new frame' : 'waiting';
      },
      { timeout: options.timeoutMs ?? 90_000 },
    )
    .toBe('new frame');
  await expect(canvas).toHaveAttribute('data-seed', String(options.seed));
  return { ...(await readCanvas(page)), backend: await canvas.getAttribute('data-backend') };
}

/** A canvas's pixels (by default the output), exactly as painted (putImageData of opaque RGBA). */
export async function readCanvas(page: Page, testId = 'output'): Promise<RgbaImage> {
  const image = await page.getByTestId(testId).evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const ctx = c.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    return {
      width: c.width,
      height: c.height,
      data: Array.from(ctx.getImageData(0, 0, c.width, c.height).data),
    };
  });
  return { ...image, data: Uint8Array.from(image.data) };
}

/** The app's module worker (the one that owns onnxruntime-web). */
export async function appWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().length, { timeout: 30_000 }).toBeGreaterThan(0);
  const worker = page.workers()[0];
  if (!worker) throw new Error('no worker');
  return worker;
}

/**
 * Counts GPUQueue.submit calls inside the worker: work submitted to the WebGPU device is the
 * direct evidence that the WebGPU execution provider, not the wasm CPU fallback, ran the graphs.
 */
export async function countGpuSubmits(worker: Worker): Promise<() => Promise<number>> {
  await worker.evaluate(() => {
    const g = globalThis as unknown as {
      __gpuSubmits?: number;
      GPUQueue?: { prototype: { submit: (...a: unknown[]) => unknown } };
    };
    if (!g.GPUQueue) throw new Error('no WebGPU in the worker');
    if (g.__gpuSubmits === undefined) {
      const original = g.GPUQueue.prototype.submit;
      g.GPUQueue.prototype.submit = function (this: unknown, ...args: unknown[]) {
        g.__gpuSubmits = (g.__gpuSubmits ?? 0) + 1;
        return original.apply(this, args);
      };
    }
    g.__gpuSubmits = 0;
  });
  return () =>
    worker.evaluate(() => (globalThis as unknown as { __gpuSubmits: number }).__gpuSubmits);
}
