/**
 * The page <-> worker protocol: one discriminated union per direction. Both sides import
 * only this file, so a change to the protocol is a change in one place.
 */
import type {
  TextToImageParams as GenerateParams,
  LatentDecoder,
  StageTimings,
} from '../pipeline/text-to-image.ts';

import type { FamilyId } from '../pipeline/families/registry.ts';
import type { HostedModelInfo, StorageEvent, StorageRequest } from './storage-messages.ts';

export type { FamilyId };

export type * from './storage-messages.ts';

/** Bumped whenever a message shape changes, so an old page never talks to a new worker. */
export const PROTOCOL_VERSION = 7;

export type Backend = 'webgpu' | 'wasm';

/** The image a load warms up with (WebGPU compiles and sizes its pipelines for it). */
export interface WarmUpSize {
  width: number;
  height: number;
  steps: number;
}
/** 'auto' = WebGPU when the browser can run the model on it, else the wasm fallback. */
export type BackendChoice = 'auto' | Backend;

/** What one image needs and how long it took: the pipeline's own types. */
export type { GenerateParams, LatentDecoder, StageTimings };

export interface Capabilities {
  webgpu: boolean;
  shaderF16: boolean;
  /** Adapter vendor/architecture when WebGPU is present. */
  adapter: string | null;
  maxBufferSize: number | null;
  /** The adapter's own words (GPUAdapterInfo), '' when the browser hides them. Optional: older workers omit them. */
  vendor?: string;
  architecture?: string;
  /** Largest storage buffer one shader binding may see: bounds the largest weight tensor. */
  maxStorageBufferBindingSize?: number | null;
}

export type ErrorCode =
  | 'no-webgpu' // the browser has no usable WebGPU adapter
  | 'no-shader-f16' // fp16 model on an adapter without shader-f16
  | 'gpu-limits' // a weight is larger than the adapter's buffer limits
  | 'out-of-memory' // creating a session ran out of GPU (or wasm heap) memory
  | 'download-failed' // a model file could not be fetched
  | 'offline' // a model file could not be fetched because the browser is offline
  | 'bad-model' // a model file is not what the pipeline expects
  | 'bad-request' // the page sent something the worker cannot do
  | 'no-model' // generate before a model is loaded
  | 'device-lost' // the GPU device went away
  | 'quota' // not enough storage space for the model
  | 'storage-unavailable' // no IndexedDB (e.g. some private windows)
  | 'storage-unreadable' // stored files cannot be read back (a private window's memory limit)
  | 'load-stalled' // a loading stage made no progress for its time limit (names graph and stage)
  | 'internal'; // anything else: a bug

export interface WorkerError {
  code: ErrorCode;
  message: string;
}

export type ModelDtype = 'float32' | 'float16';

/**
 * The input image of image-to-image, sent with every generate request that uses one (the page
 * sends it already fitted to the output size, ~1 MB, so resending it costs less than keeping
 * image state in the worker in step with the page). The worker reuses the image's encoded
 * latents while `version` and the output size stay the same.
 */
export interface InputImage {
  width: number;
  height: number;
  /** RGBA8, width*height*4 bytes. */
  pixels: ArrayBuffer;
  /** Changes whenever the page's input image changes. */
  version: number;
}

/** Messages from the page to the worker. */
export type WorkerRequest =
  | {
      type: 'load-model';
      id: number;
      baseUrl: string;
      backend: BackendChoice;
      /** The model family, when the user chose one (absent: recognised from the export's files). */
      family?: FamilyId;
      /** The size and steps the user will generate at: the load's warm-up image uses them. */
      warmUp?: WarmUpSize;
    }
  /**
   * Newest wins: a generate replaces any generate still waiting. A live one (sent while the
   * user types) lets the running generation finish so frames keep coming; any other
   * (Generate button) stops the running one at its next stage boundary.
   */
  | {
      type: 'generate';
      id: number;
      params: GenerateParams;
      live: boolean;
      /** Image-to-image: the input image (then `params.strength` is required). */
      image?: InputImage;
      /**
       * 'taesd': decode with TAESDXL (a preview; the worker keeps the latents, and a later
       * 'vae' request with the same parameters decodes them without rerunning the UNet).
       * Default 'vae'. Ignored where the model has no TAESDXL.
       */
      decoder?: LatentDecoder;
      /** With 2-4 steps: a 'preview' event after every step but the last. */
      stepPreviews?: boolean;
    }
  /** Stop the running generation at its next stage boundary and drop the waiting one. */
  | { type: 'cancel'; id: number }
  /**
   * Heartbeat: the worker answers 'pong' at once. The page restarts a worker that stops
   * answering (crashed, closed, or stuck in a loop).
   */
  | { type: 'ping'; id: number }
  | StorageRequest;

/** Messages from the worker to the page. */
export type WorkerEvent =
  | {
      type: 'ready';
      protocolVersion: number;
      capabilities: Capabilities;
      /** SDXL Turbo builds on public hosts the app knows how to download. */
      hostedModels?: HostedModelInfo[];
    }
  | { type: 'load-progress'; id: number; file: string; loadedBytes: number; totalBytes: number }
  /** The stage of a load: which graph, doing what, how far (see pipeline/load-watchdog.ts). */
  | {
      type: 'load-stage';
      id: number;
      graph: string;
      stage: 'reading' | 'creating-session' | 'warm-up';
      loadedBytes: number;
      totalBytes: number;
    }
  | {
      type: 'model-loaded';
      id: number;
      backend: Backend;
      dtype: ModelDtype;
      loadMs: number;
      /** The model has a VAE encoder, so it can do image-to-image (absent: it cannot). */
      imageToImage?: boolean;
      /** Why it cannot (which file, what went wrong reading it). */
      imageToImageMissing?: string;
      /** The largest width × height this GPU's buffer limits allow (absent: no known limit). */
      maxImagePixels?: number;
      /** The model has TAESDXL weights: live previews and per-step previews are possible. */
      previews?: boolean;
      /** Its model family (steps, sizes, image-to-image); absent from older workers: SDXL Turbo. */
      family?: FamilyId;
    }
  | { type: 'generation-started'; id: number }
  /** The request was replaced or cancelled before it produced a frame; not an error. */
  | { type: 'superseded'; id: number }
  | {
      type: 'frame';
      id: number;
      width: number;
      height: number;
      /** RGBA8, width*height*4 bytes, transferred (not copied) from the worker. */
      pixels: ArrayBuffer;
      backend: Backend;
      params: GenerateParams;
      timings: StageTimings;
      /** Which decoder made the picture (absent from older workers: the full VAE). */
      decoder?: LatentDecoder;
    }
  /** A TAESDXL picture after step `step` of `steps` (before the request's own 'frame'). */
  | {
      type: 'preview';
      id: number;
      step: number;
      steps: number;
      width: number;
      height: number;
      /** RGBA8, transferred. */
      pixels: ArrayBuffer;
      backend: Backend;
      params: GenerateParams;
    }
  | { type: 'error'; id: number | null; error: WorkerError }
  | { type: 'pong'; id: number }
  | StorageEvent;
