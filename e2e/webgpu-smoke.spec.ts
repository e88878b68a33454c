/**
 * Guards the test environment itself, independent of the app: the browser the e2e tests
 * launch must expose a real WebGPU adapter (SwiftShader on CPU-only machines), in the page and
 * in a module worker, or every WebGPU test after this one would be meaningless.
 */
import { expect, test } from '@playwright/test';

interface AdapterReport {
  secureContext: boolean;
  hasGpu: boolean;
  adapter: null | {
    vendor: string;
    architecture: string;
    description: string;
    isFallbackAdapter: boolean | undefined;
    features: string[];
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
  };
}

/** The slice of WebGPU this test touches (the e2e tsconfig has no @webgpu/types). */
interface MinimalAdapter {
  info: {
    vendor: string;
    architecture: string;
    description: string;
    isFallbackAdapter?: boolean;
  };
  features: Set<string>;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  requestDevice(): Promise<{ destroy(): void }>;
}

/** Runs in the page and, as source text, in a worker: it must not close over anything. */
async function describeAdapter(): Promise<AdapterReport> {
  const gpu = (
    navigator as unknown as { gpu?: { requestAdapter(): Promise<MinimalAdapter | null> } }
  ).gpu;
  const report: AdapterReport = { secureContext: isSecureContext, hasGpu: !!gpu, adapter: null };
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (adapter) {
    report.adapter = {
      vendor: adapter.info.vendor,
      architecture: adapter.info.architecture,
      description: adapter.info.description,
      isFallbackAdapter: adapter.info.isFallbackAdapter,
      features: [...adapter.features].sort(),
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    };
    // Proves the adapter is usable, not just listed.
    const device = await adapter.requestDevice();
    device.destroy();
  }
  return report;
}

// http://127.0.0.1 is a secure context, which WebGPU requires; about:blank is not enough.
// The model server's origin keeps this test independent of the app's own pages.
const MODEL_SERVER = `http://127.0.0.1:${process.env['MODEL_SERVER_PORT'] ?? 4174}`;

test.describe('WebGPU in the test browser', () => {
  test.beforeEach(async ({ page }) => {
    await page.goto(`${MODEL_SERVER}/__stats`);
  });

  test('the page gets a WebGPU adapter', async ({ page, browser }) => {
    const report = await page.evaluate(describeAdapter);
    console.log(`Chromium ${browser.version()} page adapter:`, JSON.stringify(report));
    expect(report.secureContext).toBe(true);
    expect(report.hasGpu, 'navigator.gpu is missing').toBe(true);
    expect(
      report.adapter,
      'requestAdapter() returned null: is --enable-unsafe-webgpu set?',
    ).not.toBeNull();
    expect(report.adapter?.maxBufferSize).toBeGreaterThanOrEqual(256 * 1024 * 1024);
  });

  test('a module worker gets a WebGPU adapter', async ({ page }) => {
    const report = await page.evaluate(async (source) => {
      const code = `const describeAdapter = ${source};
        describeAdapter().then((r) => postMessage({ ok: r }), (e) => postMessage({ error: String(e) }));`;
      const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
      const worker = new Worker(url, { type: 'module' });
      try {
        const message = await new Promise<{ ok?: unknown; error?: string }>((resolve, reject) => {
          worker.onmessage = (event) => resolve(event.data);
          worker.onerror = (event) => reject(new Error(event.message));
        });
        if (message.error) throw new Error(message.error);
        return message.ok as AdapterReport;
      } finally {
        worker.terminate();
        URL.revokeObjectURL(url);
      }
    }, describeAdapter.toString());
    console.log('worker adapter:', JSON.stringify(report));
    expect(report.hasGpu).toBe(true);
    expect(report.adapter).not.toBeNull();
  });
});
