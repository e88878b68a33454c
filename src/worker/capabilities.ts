import type { Capabilities } from '../protocol/messages.ts';

/** What this browser's WebGPU can do, asked once from inside the worker that will use it. */
export async function probeCapabilities(): Promise<Capabilities> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { webgpu: false, shaderF16: false, adapter: null, maxBufferSize: null };
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { webgpu: false, shaderF16: false, adapter: null, maxBufferSize: null };
    const info = adapter.info;
    const name =
      [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') ||
      'unknown adapter';
    return {
      webgpu: true,
      shaderF16: adapter.features.has('shader-f16'),
      adapter: name,
      maxBufferSize: adapter.limits.maxBufferSize,
      vendor: info.vendor,
      architecture: info.architecture,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    };
  } catch {
    return { webgpu: false, shaderF16: false, adapter: null, maxBufferSize: null };
  }
}
