/// <reference types="@webgpu/types" />
/**
 * The browser side of the pipeline benchmark (bench/pipeline.ts bundles it with esbuild and
 * calls these functions one at a time). It runs the app's own code: the worker's session
 * factory (onnxruntime-web, WebGPU EP), the model loader and the text-to-image pipeline, on the
 * page's thread (the app runs the same code in its worker).
 *
 * Counters: every GPU -> CPU copy in WebGPU ends in `GPUBuffer.mapAsync(MAP_READ)`, every
 * CPU -> GPU copy in `GPUQueue.writeBuffer` or a `mapAsync(MAP_WRITE)`; both are wrapped here
 * and counted in bytes, whatever onnxruntime-web does inside.
 */
import type { GraphSession, HostTensor, SessionTensor } from '../src/pipeline/graph-session.ts';
import { isDeviceTensor } from '../src/pipeline/graph-session.ts';
import {
  loadSdxlModel,
  type LoadedModel,
  type ModelSource,
  type SessionFactory,
} from '../src/pipeline/model-loader.ts';
import { OrtGraphSession } from '../src/pipeline/ort/ort-session.ts';
import { TextToImagePipeline, type StageTimings } from '../src/pipeline/text-to-image.ts';
import { reshardingSessionFactory } from '../src/storage/reshard.ts';
import { probeCapabilities } from '../src/worker/capabilities.ts';
import { fetchSource } from '../src/worker/fetch-source.ts';
import { browserSessionFactory, ortModule } from '../src/worker/ort-runtime.ts';

const counters = { readBytes: 0, writeBytes: 0, maps: 0 };
{
  const mapAsync = GPUBuffer.prototype.mapAsync;
  GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, mode, offset, size) {
    const bytes = size ?? this.size - (offset ?? 0);
    counters.maps++;
    if (mode & GPUMapMode.READ) counters.readBytes += bytes;
    if (mode & GPUMapMode.WRITE) counters.writeBytes += bytes;
    return mapAsync.call(this, mode, offset, size);
  };
  // Uploads through a staging buffer mapped at creation (onnxruntime-web's input copies).
  const createBuffer = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
    if (descriptor.mappedAtCreation) counters.writeBytes += descriptor.size;
    return createBuffer.call(this, descriptor);
  };
  const writeBuffer = GPUQueue.prototype.writeBuffer;
  GPUQueue.prototype.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    bufferOffset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset?: number,
    size?: number,
  ) {
    const total = ArrayBuffer.isView(data) ? data.byteLength : (data as ArrayBuffer).byteLength;
    const elementSize = ArrayBuffer.isView(data)
      ? ((data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1)
      : 1;
    counters.writeBytes +=
      size !== undefined ? size * elementSize : total - (dataOffset ?? 0) * elementSize;
    return writeBuffer.call(this, buffer, bufferOffset, data as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];
}

/** One session call of a pipeline run, with host copies of its feeds (for the bare replay). */
interface RecordedCall {
  graph: string;
  session: OrtGraphSession;
  feeds: Record<string, HostTensor>;
  outputNames: string[];
}

let recording: RecordedCall[] | null = null;

async function hostCopy(feeds: Record<string, SessionTensor>): Promise<Record<string, HostTensor>> {
  const copy: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(feeds))
    copy[name] = isDeviceTensor(t) ? await t.download() : t;
  return copy;
}

/** Wraps a session so that, while `recording`, each call is noted with its feeds. */
function recorded(graph: string, inner: GraphSession): GraphSession {
  const session = inner as OrtGraphSession;
  const note = async (feeds: Record<string, SessionTensor>, names: readonly string[]) => {
    if (recording)
      recording.push({ graph, session, feeds: await hostCopy(feeds), outputNames: [...names] });
  };
  const wrapper: GraphSession = {
    inputs: inner.inputs,
    outputs: inner.outputs,
    run: async (feeds, names) => {
      await note(feeds, names);
      return inner.run(feeds, names);
    },
    release: () => inner.release(),
  };
  if (inner.runOnDevice) {
    const runOnDevice = inner.runOnDevice.bind(inner);
    wrapper.runOnDevice = async (feeds, names, keep) => {
      await note(feeds, names);
      return runOnDevice(feeds, names, keep);
    };
  }
  if (inner.sync) wrapper.sync = inner.sync.bind(inner);
  return wrapper;
}

let model: LoadedModel | null = null;
let pipeline: TextToImagePipeline | null = null;

async function gpuIdle(): Promise<void> {
  const ort = await ortModule();
  const device = await ort.env.webgpu.device;
  await device.queue.onSubmittedWorkDone();
}

export interface LoadResult {
  loadMs: number;
  adapter: string | null;
  shaderF16: boolean;
  dtype: string;
  gpuResident: boolean;
}

function benchLoad(baseUrl: string, gpuResident: boolean): Promise<LoadResult> {
  return benchLoadFrom(fetchSource(new URL(baseUrl, location.href)), gpuResident);
}

/** Loads a model set from any source (the Node kit reads a local directory). */
export async function benchLoadFrom(
  source: ModelSource,
  gpuResident: boolean,
): Promise<LoadResult> {
  if (model) {
    pipeline?.dispose();
    await model.release();
    model = null;
  }
  const capabilities = await probeCapabilities();
  if (!capabilities.webgpu) throw new Error('no WebGPU adapter in this browser');
  const inner = browserSessionFactory('webgpu', capabilities, { gpuResident });
  const factory: SessionFactory = async (graph, bytes, externalData) =>
    recorded(graph, await inner(graph, bytes, externalData));
  const started = performance.now();
  model = await loadSdxlModel(source, reshardingSessionFactory(factory));
  pipeline = new TextToImagePipeline(model);
  return {
    loadMs: performance.now() - started,
    adapter: capabilities.adapter,
    shaderF16: capabilities.shaderF16,
    dtype: model.dtype,
    gpuResident: model.helpers !== undefined,
  };
}

export interface ImageResult {
  ms: number;
  timings: StageTimings;
  readBytes: number;
  writeBytes: number;
  /** A cheap fingerprint of the pixels, to check both modes draw the same image. */
  checksum: number;
  pixels?: number[];
}

export interface ImageRequest {
  prompt: string;
  seed: number;
  steps: number;
  width: number;
  height: number;
  syncStages?: boolean;
  record?: boolean;
  /** The latent decoder: the full VAE (default) or TAESDXL. */
  decoder?: 'vae' | 'taesd';
}

export async function benchImage(request: ImageRequest): Promise<ImageResult> {
  if (!pipeline) throw new Error('load first');
  const { syncStages = false, record = false, decoder = 'vae', ...params } = request;
  if (record) recording = [];
  const read0 = counters.readBytes;
  const write0 = counters.writeBytes;
  const started = performance.now();
  const image = await pipeline.generate(params, { syncStages, decoder });
  const ms = performance.now() - started;
  if (record) lastRecording = recording;
  recording = null;
  let checksum = 0;
  for (let i = 0; i < image.pixels.length; i++) checksum = (checksum * 31 + image.pixels[i]!) >>> 0;
  return {
    ms,
    timings: image.timings,
    readBytes: counters.readBytes - read0,
    writeBytes: counters.writeBytes - write0,
    checksum,
  };
}

let lastRecording: RecordedCall[] | null = null;

export interface BareResult {
  /** Per recorded call: graph name and ms of `session.run` (to GPU idle). */
  calls: Array<{ graph: string; ms: number }>;
  readBytes: number;
}

/**
 * The recorded calls replayed as bare `InferenceSession.run` calls: feeds already made as ORT
 * tensors from host memory (their upload is inside `run`, as in the pipeline), outputs where the
 * session puts them (GPU buffers when GPU-resident, host memory otherwise), each call timed until
 * the GPU is idle. GPU outputs are disposed after the clock stops, never read back.
 */
export async function benchBare(): Promise<BareResult> {
  if (!lastRecording) throw new Error('record a run first');
  const ort = await ortModule();
  const calls: BareResult['calls'] = [];
  const read0 = counters.readBytes;
  for (const call of lastRecording) {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const [name, t] of Object.entries(call.feeds))
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    await gpuIdle();
    const started = performance.now();
    const results = await call.session.session.run(feeds, call.outputNames);
    await gpuIdle();
    calls.push({ graph: call.graph, ms: performance.now() - started });
    for (const t of Object.values(results)) t.dispose();
    for (const t of Object.values(feeds)) t.dispose();
  }
  return { calls, readBytes: counters.readBytes - read0 };
}

function browserInfo() {
  return { userAgent: navigator.userAgent };
}

Object.assign(globalThis, { benchLoad, benchImage, benchBare, browserInfo });
(globalThis as { benchReady?: boolean }).benchReady = true;
