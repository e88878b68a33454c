/// <reference types="@webgpu/types" />
/**
 * WebGPU in Node through Dawn's Node bindings (npm `webgpu`, which ships `dawn.node`), set up
 * the way onnxruntime-web's WebGPU EP expects to find it in a browser: `navigator.gpu` and the
 * `GPU*` classes as globals.
 *
 * Which Vulkan driver Dawn uses is up to the Vulkan loader: on an NVIDIA machine the NVIDIA ICD
 * that its driver installs; on a machine without a GPU, SwiftShader (Chromium's
 * `vk_swiftshader_icd.json`) when `VK_ICD_FILENAMES` points at it (see README, "Real-GPU
 * benchmark kit").
 */

/** `create` and `globals` of the `webgpu` package (or of a bundled copy of its dawn.node). */
export interface DawnBindings {
  create(options: string[]): GPU;
  globals: object;
}

/**
 * One shim: Dawn's `GPUQueue.writeBuffer` refuses views on a SharedArrayBuffer, and
 * onnxruntime-web's threaded wasm build keeps its heap in one. Such views are copied first.
 */
function copySharedViewsBeforeWrite(): void {
  const proto = GPUQueue.prototype as GPUQueue & { sharedViewShim?: true };
  if (proto.sharedViewShim) return;
  const writeBuffer = proto.writeBuffer;
  proto.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    bufferOffset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset?: number,
    size?: number,
  ) {
    let source = data;
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      // Same element type as the original, so dataOffset and size keep their meaning.
      const Ctor = data.constructor as new (buffer: ArrayBuffer) => ArrayBufferView<ArrayBuffer>;
      source = new Ctor(bytes.slice().buffer);
    } else if (data instanceof SharedArrayBuffer) {
      source = new Uint8Array(data).slice().buffer;
    }
    return writeBuffer.call(this, buffer, bufferOffset, source as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  proto.sharedViewShim = true;
}

/** Makes `navigator.gpu` and the WebGPU classes globals, as in a browser. Returns `navigator.gpu`. */
export function installNodeWebGpu(dawn: DawnBindings, dawnOptions: string[] = []): GPU {
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(dawnOptions);
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  if (nav) {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu, hardwareConcurrency: 1, userAgent: `Node.js ${process.version}` },
      configurable: true,
    });
  }
  copySharedViewsBeforeWrite();
  return gpu;
}
