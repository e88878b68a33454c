import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type WorkerRequest } from '../protocol/messages';
import { AppStoreContext } from '../state/react';
import { createAppStore, type AppStore } from '../state/store';
import { App } from './App';

/**
 * Server-renders the app. zustand's hook renders `getInitialState()` on the server, so the
 * store handed over is a view whose "initial" state is the current one.
 */
function render(store: AppStore): string {
  const current: AppStore = { ...store, getInitialState: store.getState };
  return renderToStaticMarkup(
    <AppStoreContext.Provider value={current}>
      <App />
    </AppStoreContext.Provider>,
  );
}

function makeStore() {
  const posted: WorkerRequest[] = [];
  const store = createAppStore({
    port: { post: (r) => posted.push(r) },
    initial: { modelUrl: 'https://m.example/' },
    pageHref: () => 'https://app.example/',
    randomSeed: () => 99,
  });
  return { store, posted };
}

/** The worker's plan for the first load: every file is stored already, so the model loads. */
function planAllStored(store: AppStore) {
  store.getState().handleWorkerEvent({
    type: 'download-plan',
    id: 1,
    baseUrl: 'https://m.example/sdxl/',
    modelId: 'm',
    files: [],
    totalBytes: 0,
    storedBytes: 0,
    freeBytes: null,
  });
}

/** The opening tag of the element with this data-testid. */
function tag(html: string, testId: string): string {
  const match = new RegExp(`<[a-z]+[^>]*data-testid="${testId}"[^>]*>`).exec(html);
  if (!match) throw new Error(`no element with data-testid="${testId}"`);
  return match[0];
}

describe('<App/>', () => {
  it('renders every control the tests rely on, Generate disabled before a model', () => {
    const { store } = makeStore();
    const html = render(store);
    expect(html).toContain('SDXL Turbo runs without guidance, so there is no negative prompt.');
    for (const id of [
      'prompt',
      'generate',
      'steps',
      'seed',
      'reroll-seed',
      'size',
      'model-url',
      'load-model',
      'backend',
      'status',
      'output',
      'capabilities',
      'placeholder',
    ]) {
      expect(tag(html, id)).toBeTruthy();
    }
    expect(tag(html, 'status')).toContain('data-state="starting"');
    expect(tag(html, 'generate')).toContain('disabled');
    expect(tag(html, 'load-model')).toContain('disabled'); // worker not ready yet
    expect(tag(html, 'seed')).toContain('value="99"');
    expect(html).toContain('512×768');
    expect(html).toContain('WebAssembly (slow fallback)');
    expect(html).not.toContain('data-testid="error"');
  });

  it('enables Generate once a model is loaded and shows how it loaded', () => {
    const { store, posted } = makeStore();
    const s = store.getState();
    s.handleWorkerEvent({
      type: 'ready',
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {
        webgpu: true,
        shaderF16: false,
        adapter: 'google swiftshader',
        maxBufferSize: null,
      },
    });
    expect(tag(render(store), 'load-model')).not.toContain('disabled');
    s.loadModel();
    planAllStored(store);
    s.handleWorkerEvent({
      type: 'load-progress',
      id: 1,
      file: 'unet/model.onnx',
      loadedBytes: 5 << 20,
      totalBytes: 10 << 20,
    });
    let html = render(store);
    expect(tag(html, 'status')).toContain('data-state="loading"');
    expect(tag(html, 'generate')).toContain('disabled');
    expect(html).toContain('unet/model.onnx');
    expect(html).toContain('5.00 MB / 10.0 MB');

    s.handleWorkerEvent({
      type: 'model-loaded',
      id: 1,
      backend: 'webgpu',
      dtype: 'float32',
      loadMs: 1200,
    });
    html = render(store);
    expect(tag(html, 'status')).toContain('data-state="ready"');
    expect(tag(html, 'generate')).not.toContain('disabled');
    // The model panel folds to one line: name, streamed (not stored), size, backend, Change.
    expect(tag(html, 'model-panel')).toContain('data-state="folded"');
    expect(html).toMatch(/data-testid="model-name"[^>]*>sdxl</);
    expect(html).toMatch(/data-testid="model-kept"[^>]*>streamed</);
    expect(html).toContain('10.0 MB');
    expect(tag(html, 'model-info')).toContain('title="Model loaded on WebGPU (fp32) in 1.2 s"');
    expect(html).toMatch(/data-testid="model-info"[^>]*>WebGPU, fp32</);
    expect(tag(html, 'model-change')).toContain('aria-expanded="false"');
    expect(html).toContain('WebGPU: yes · shader-f16: no · GPU: google swiftshader');
    // list-models (on ready), plan-download, then load-model (the plan said: stored already)
    expect(posted.map((r) => r.type)).toEqual(['list-models', 'plan-download', 'load-model']);

    s.generate();
    s.handleWorkerEvent({
      type: 'frame',
      id: 2,
      width: 1,
      height: 1,
      pixels: new ArrayBuffer(4),
      backend: 'webgpu',
      params: { prompt: 'x', seed: 99, steps: 2, width: 1, height: 1 },
      timings: {
        tokenize: 1,
        textEncoders: 20,
        promptCached: false,
        unetSteps: [300, 310],
        vaeDecode: 400,
        toPixels: 3,
        total: 1034,
      },
    });
    html = render(store);
    expect(html).not.toContain('data-testid="placeholder"');
    expect(tag(html, 'timings')).toContain('data-backend="webgpu"');
    expect(html).toContain('UNet step 2');
    expect(html).toContain('1,034 ms');
  });

  it('on a first visit puts the model choice first: the suggested build, its size and why', () => {
    const store = createAppStore({
      port: { post: () => {} },
      initial: { modelUrl: '' },
      pageHref: () => 'https://app.example/',
      randomSeed: () => 99,
    });
    const hosted = [
      {
        modelId: 'webnn-sdxl-turbo-q4f16',
        displayName: 'SDXL Turbo q4f16 (webnn/sdxl-turbo)',
        baseUrl: 'https://hf.example/webnn/',
        approxBytes: 2_670_000_000,
      },
      {
        modelId: 'sdxl-turbo-fp16',
        displayName: 'SDXL Turbo fp16, converted from stabilityai/sdxl-turbo',
        baseUrl: 'https://hf.example/fp16/',
        approxBytes: 7_000_000_000,
      },
    ];
    store.getState().handleWorkerEvent({
      type: 'ready',
      protocolVersion: PROTOCOL_VERSION,
      capabilities: { webgpu: true, shaderF16: true, adapter: 'gpu', maxBufferSize: 1 << 30 },
      hostedModels: hosted,
    });
    const html = render(store);
    expect(tag(html, 'model-panel')).toContain('data-state="choosing"');
    // First on the page: before the prompt and the image.
    expect(html.indexOf('data-testid="model-panel"')).toBeLessThan(
      html.indexOf('data-testid="prompt"'),
    );
    expect(html.indexOf('data-testid="model-panel"')).toBeLessThan(
      html.indexOf('data-testid="output"'),
    );
    // Small buffers: the q4f16 build is suggested, with its size and why.
    expect(tag(html, 'selected-build')).toContain('data-model-id="webnn-sdxl-turbo-q4f16"');
    expect(html).toContain('about 2.49 GB download');
    expect(tag(html, 'recommendation-reason')).toBeTruthy();
    expect(html).toContain('under 2 GiB');
    // One primary button, enabled; the other builds whole, in the disclosure.
    expect(tag(html, 'load-model')).not.toContain('disabled');
    expect(html.match(/class="primary/g)).toHaveLength(2); // Load model, and the (disabled) Generate
    expect(html).toContain('SDXL Turbo fp16, converted from stabilityai/sdxl-turbo');
    expect(tag(html, 'model-options')).toMatch(/^<details/);
  });

  it('with a model in the link shows the download plan in the model panel, before the prompt', () => {
    const { store } = makeStore();
    const s = store.getState();
    s.handleWorkerEvent({
      type: 'ready',
      protocolVersion: PROTOCOL_VERSION,
      capabilities: { webgpu: true, shaderF16: false, adapter: null, maxBufferSize: null },
    });
    s.loadModel();
    expect(render(store)).toContain('data-testid="planning"');
    s.handleWorkerEvent({
      type: 'download-plan',
      id: 1,
      baseUrl: 'https://m.example/tiny-fp32/',
      modelId: 'm',
      files: [{ path: 'unet/model.onnx', bytes: 8 << 20 }],
      totalBytes: 8 << 20,
      storedBytes: 0,
      freeBytes: null,
    });
    const html = render(store);
    expect(tag(html, 'model-panel')).toContain('data-state="busy"');
    expect(html).not.toContain('data-testid="load-model"'); // the plan replaces the choice
    const plan = html.indexOf('data-testid="download-plan"');
    expect(plan).toBeGreaterThan(html.indexOf('data-testid="model-panel"'));
    expect(plan).toBeLessThan(html.indexOf('data-testid="prompt"'));
    expect(html).toContain('tiny-fp32');
    expect(tag(html, 'download-confirm')).toContain('class="primary"');
  });

  it("disables the sizes that do not fit the GPU's buffers and says why", () => {
    const { store } = makeStore();
    const s = store.getState();
    s.handleWorkerEvent({
      type: 'ready',
      protocolVersion: PROTOCOL_VERSION,
      capabilities: { webgpu: true, shaderF16: true, adapter: 'gpu', maxBufferSize: 1 << 30 },
    });
    s.loadModel();
    planAllStored(store);
    expect(render(store)).not.toContain('size-limit-hint');
    s.handleWorkerEvent({
      type: 'model-loaded',
      id: 1,
      backend: 'webgpu',
      dtype: 'float16',
      loadMs: 1,
      maxImagePixels: 8192 * 64, // about 724²
    });
    const html = render(store);
    const options = /<select[^>]*data-testid="size"[^>]*>(.*?)<\/select>/.exec(html)![1]!;
    const disabled = [...options.matchAll(/<option value="([^"]+)"( disabled="")?/g)]
      .filter((m) => m[2])
      .map((m) => m[1]);
    expect(disabled).toEqual(['768x768']);
    expect(html).toContain('Larger sizes do not fit this GPU&#x27;s buffers.');
  });

  it('explains errors and renders worker text as text, never HTML', () => {
    const { store } = makeStore();
    store.getState().handleWorkerEvent({
      type: 'error',
      id: null,
      error: { code: 'no-webgpu', message: '<img src=x onerror=alert(1)>' },
    });
    const html = render(store);
    expect(tag(html, 'error')).toContain('role="alert"');
    expect(tag(html, 'error')).toContain('data-code="no-webgpu"');
    expect(html).toContain('This browser has no WebGPU. Use a recent Chrome or Edge');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
  });

  it('offers the WebAssembly backend for errors it gets around, and not on it', () => {
    const { store } = makeStore();
    const s = store.getState();
    s.handleWorkerEvent({
      type: 'error',
      id: null,
      error: { code: 'gpu-limits', message: 'The unet graph has a 2.00 GB weight' },
    });
    expect(tag(render(store), 'error')).toContain('data-code="gpu-limits"');
    expect(tag(render(store), 'use-wasm-fallback')).toBeTruthy();
    s.setBackendChoice('wasm');
    expect(render(store)).not.toContain('data-testid="use-wasm-fallback"');

    s.handleWorkerEvent({
      type: 'error',
      id: null,
      error: { code: 'download-failed', message: 'HTTP 404' },
    });
    s.setBackendChoice('auto');
    expect(render(store)).not.toContain('data-testid="use-wasm-fallback"');
  });

  it('says when the engine was restarted and that the model is loading again', () => {
    const { store } = makeStore();
    store.getState().engineRestarted('hung', 'The engine did not answer for 12 s.');
    const html = render(store);
    expect(tag(html, 'restart-notice')).toContain('data-reason="hung"');
    expect(html).toContain('The engine stopped responding and was restarted.');
    expect(html).toContain('The engine did not answer for 12 s.');
  });

  it('without storage (private window) loads the model for the visit and says models stream', () => {
    const { store, posted } = makeStore();
    const s = store.getState();
    s.handleWorkerEvent({
      type: 'ready',
      protocolVersion: PROTOCOL_VERSION,
      capabilities: { webgpu: true, shaderF16: false, adapter: null, maxBufferSize: null },
    });
    // The worker answers the first list of stored models and the plan with storage-unavailable.
    const unavailable = {
      code: 'storage-unavailable' as const,
      message: 'This browser does not let the app store data.',
    };
    s.handleWorkerEvent({ type: 'error', id: 0, error: unavailable });
    expect(s.loadModel()).toBe(true);
    s.handleWorkerEvent({ type: 'error', id: 1, error: unavailable });
    // No error: the model is loaded from its host instead of failing.
    expect(posted.at(-1)).toMatchObject({ type: 'load-model', baseUrl: 'https://m.example/' });
    const html = render(store);
    expect(html).not.toContain('data-testid="error"');
    expect(tag(html, 'status')).toContain('data-state="loading"');
    expect(html).toContain('a model streams from its host on every visit');
  });

  it('shows file names, model names and prompts from outside as text, never as HTML', () => {
    const { store } = makeStore();
    const s = store.getState();
    const evil = '<img src=x onerror="globalThis.pwned=1">';
    s.handleWorkerEvent({
      type: 'ready',
      protocolVersion: PROTOCOL_VERSION,
      capabilities: { webgpu: true, shaderF16: false, adapter: evil, maxBufferSize: null },
    });
    s.handleWorkerEvent({
      type: 'stored-models',
      id: 0,
      models: [
        {
          modelId: evil,
          displayName: evil,
          baseUrl: 'https://m.example/',
          storedBytes: 1,
          totalBytes: 2,
          complete: false,
        },
      ],
      usedBytes: 1,
      freeBytes: null,
    });
    s.setPrompt(evil);
    s.loadModel();
    s.handleWorkerEvent({
      type: 'download-plan',
      id: 1,
      baseUrl: 'https://m.example/',
      modelId: 'm',
      files: [{ path: `unet/${evil}.onnx`, bytes: 10 }],
      totalBytes: 10,
      storedBytes: 0,
      freeBytes: null,
    });
    const html = render(store);
    expect(html).toContain('unet/&lt;img src=x onerror=&quot;globalThis.pwned=1&quot;&gt;.onnx');
    expect(html).toContain('&lt;img src=x');
    expect(html).not.toContain('<img');
  });
});
