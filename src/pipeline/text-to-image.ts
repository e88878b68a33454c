import { LATENT_CHANNELS, VAE_DOWNSAMPLE, VAE_SCALING_FACTOR, timeIds } from './conditioning.ts';
import { denoiseLatents, startingLatents, type StepPreviewer } from './denoise/denoise-loop.ts';
import { DeviceLatentOps } from './denoise/device-latent-ops.ts';
import { HostLatentOps } from './denoise/host-latent-ops.ts';
import { decodeWithTaesd, decodeWithVae, type DecodedPicture } from './denoise/latent-decode.ts';
import type { LatentOps } from './denoise/latent-ops.ts';
import { isDeviceTensor, type GraphSession, type SessionTensor } from './graph-session.ts';
import { fitImage, imageFingerprint, rgbaToPlanar, type RgbaImage } from './image-input.ts';
import { encodeImageLatents, imageToImageTimesteps } from './image-to-image.ts';
import { LruCache } from './lru-cache.ts';
import {
  DEFAULT_NOISE_GENERATOR,
  isNoiseGeneratorName,
  type NoiseGeneratorName,
} from './noise/noise-generators.ts';
import { trailingTimesteps, type SchedulerKind } from './scheduler.ts';
import {
  disposeTensor,
  encodePrompt,
  encodePromptOnDevice,
  type DevicePromptEmbedding,
  type PromptEmbedding,
} from './text-encoding.ts';
import type { ClipTokenizer } from './tokenizer/clip-tokenizer.ts';
import { ModelFormatError, floatTensor, requireInput } from './tensors.ts';

/** Everything a text-to-image run needs, already loaded. */
export interface SdxlModel {
  tokenizer: ClipTokenizer;
  tokenizer2: ClipTokenizer;
  textEncoder: GraphSession;
  textEncoder2: GraphSession;
  unet: GraphSession;
  vaeDecoder: GraphSession;
  /** Image-to-image only; a model set without vae_encoder still does text-to-image. */
  vaeEncoder?: GraphSession | undefined;
  /**
   * TAESDXL's decoder (taesd/taesd-graph.ts), float32, for previews: unscaled latents in,
   * [-1, 1] RGB out. Absent when the model set has no TAESDXL weights.
   */
  taesdDecoder?: GraphSession | undefined;
  /**
   * Helper graphs on the model's device (onnxruntime-web WebGPU): with them, tensors stay on
   * the GPU from the text encoders to the final pixels. Without them (wasm, Node, fakes) the
   * pipeline's arithmetic runs on the host.
   */
  helpers?: PipelineHelpers | undefined;
}

/** See onnx/helper-graphs.ts. `stepToVae` is `stepToUnet` when both take the same dtype. */
export interface PipelineHelpers {
  concat: GraphSession;
  stepToUnet: GraphSession;
  stepToVae: GraphSession;
  pixels: GraphSession;
  /** The pixels graph for float32 images (TAESDXL's); `pixels` itself when the VAE's is float32. */
  taesdPixels?: GraphSession | undefined;
}

/** Which decoder turns the latents into the picture: the full VAE, or TAESDXL (previews). */
export type LatentDecoder = 'vae' | 'taesd';

/** A picture of the denoised estimate after one step of several, decoded with TAESDXL. */
export interface StepPreview {
  /** 1-based step just done, of `steps`. */
  step: number;
  steps: number;
  pixels: Uint8ClampedArray;
  width: number;
  height: number;
}

export interface TextToImageParams {
  prompt: string;
  seed: number;
  steps: number;
  width: number;
  height: number;
  /** Image-to-image only (with an `InitImage`): how much of the image is redone, (0, 1]. */
  strength?: number;
  /** Which seeded generator draws the noise; absent: DEFAULT_NOISE_GENERATOR (torch-cpu). */
  noise?: NoiseGeneratorName;
}

/** The input image of image-to-image: any size, cover-cropped and resized to the output. */
export interface InitImage {
  image: RgbaImage;
  /**
   * Identifies this image's pixels (the page's image version): its encoded latents are reused
   * while only the prompt or seed changes. Without one, a hash of the pixels is the key.
   */
  id?: string | number;
}

export interface StageTimings {
  tokenize: number;
  /** 0 when the prompt's embedding came from the cache. */
  textEncoders: number;
  promptCached: boolean;
  unetSteps: number[];
  vaeDecode: number;
  /**
   * GPU path: the pixels graph and the wait for the final pixels to come back from the GPU
   * (without `syncStages`, GPU work still queued from earlier stages finishes in here).
   */
  readback?: number;
  toPixels: number;
  total: number;
  /** Whether tensors stayed on the GPU between stages (only the final pixels read back). */
  gpuResident?: boolean;
  /**
   * The latents came from the previous run with the same prompt, seed, steps and size (decoded
   * then with TAESDXL): no text encoder or UNet ran, only the decoder.
   */
  latentsReused?: boolean;
  /** Image-to-image: fitting + VAE encoder time (next to nothing when the latents were cached). */
  vaeEncode?: number;
  imageCached?: boolean;
}

export interface GeneratedImage {
  /** RGBA8, row-major, width*height*4 bytes. */
  pixels: Uint8ClampedArray;
  width: number;
  height: number;
  timings: StageTimings;
  /** Which decoder made the picture ('taesd' only when asked for and the model has it). */
  decoder: LatentDecoder;
}

/** Thrown between stages when the caller no longer wants the result. Not a failure. */
export class SupersededError extends Error {
  override name = 'SupersededError';
}

export interface RunControl {
  /** Checked between stages; return false to stop early with SupersededError. */
  stillWanted?: () => boolean;
  now?: () => number;
  /**
   * Wait for the GPU after each stage, so that each stage's time is its GPU time (benchmarks);
   * otherwise stages only queue work and the final readback waits for all of it.
   */
  syncStages?: boolean;
  /** 'taesd': decode with TAESDXL where the model has it (else the full VAE). Default 'vae'. */
  decoder?: LatentDecoder;
  /**
   * With 2-4 steps and TAESDXL, called after every step but the last with a TAESDXL picture of
   * that step's denoised estimate (x - sigma·eps).
   */
  onStepPreview?: (preview: StepPreview) => void;
}

/** The final latents of a TAESDXL-decoded run, kept so the full VAE can redo only the decode. */
interface KeptLatents {
  key: string;
  /** Scheduler latents (float32, unscaled), on the device or the host. */
  latents: SessionTensor;
}

export const MAX_STEPS = 4;

/** Prompts kept encoded: live typing goes back and forth over a few recent texts. */
const PROMPT_CACHE_SIZE = 16;
/** Encoded input images: the current one, plus a few for going back and forth (64 KB each). */
const IMAGE_CACHE_SIZE = 4;

/** What the denoising loop takes from a model family (see families/). */
export interface DenoiseTraits {
  scheduler: SchedulerKind;
  /** Latents = VAE latent mean × this (0.13025 for SDXL's VAE). */
  vaeScalingFactor: number;
}

/** SDXL Turbo's: Euler ancestral, SDXL's VAE. */
export const SDXL_TURBO_DENOISE: DenoiseTraits = {
  scheduler: 'euler-ancestral',
  vaeScalingFactor: VAE_SCALING_FACTOR,
};

/** SDXL text-to-image: one UNet pass per step, no classifier-free guidance. */
export class TextToImagePipeline {
  /** Keyed by both tokenizers' ids, so edits that tokenize the same (spaces, case) hit it. */
  private readonly prompts = new LruCache<string, PromptEmbedding | DevicePromptEmbedding>(
    PROMPT_CACHE_SIZE,
    (evicted) => {
      if ('location' in evicted) {
        disposeTensor(evicted.hiddenStates);
        disposeTensor(evicted.pooled);
      }
    },
  );
  /** Keyed by image id (or pixel hash) and output size. */
  private readonly images = new LruCache<string, Float32Array>(IMAGE_CACHE_SIZE);
  private kept: KeptLatents | null = null;

  constructor(
    private readonly model: SdxlModel,
    private readonly traits: DenoiseTraits = SDXL_TURBO_DENOISE,
  ) {}

  /** Frees what the pipeline keeps on the GPU (cached prompts, kept latents); before release. */
  dispose(): void {
    this.prompts.clear();
    this.keep(null);
  }

  private keep(kept: KeptLatents | null): void {
    if (this.kept && this.kept.latents !== kept?.latents) disposeTensor(this.kept.latents);
    this.kept = kept;
  }

  /** Text-to-image, or image-to-image when `init` is given (then `params.strength` is required). */
  async generate(
    params: TextToImageParams,
    control: RunControl = {},
    init?: InitImage,
  ): Promise<GeneratedImage> {
    const now = control.now ?? (() => performance.now());
    const checkpoint = () => {
      if (control.stillWanted && !control.stillWanted()) throw new SupersededError('superseded');
    };
    validateParams(params);
    // Throws before any work when steps × strength rounds to no step at all.
    const timesteps = init
      ? imageToImageTimesteps(params.steps, requireStrength(params))
      : trailingTimesteps(params.steps);
    if (init && !this.model.vaeEncoder) {
      throw new ModelFormatError(
        'This model has no VAE encoder (vae_encoder/model.onnx), so it cannot do image-to-image; text-to-image works. Remove the input image, or load a model set that includes vae_encoder.',
      );
    }
    const start = now();

    const ids = this.model.tokenizer.encode(params.prompt);
    const ids2 = this.model.tokenizer2.encode(params.prompt);
    const tokenized = now();

    const key = `${ids.join(',')}|${ids2.join(',')}`;
    const { helpers } = this.model;
    const sync = async () => {
      if (control.syncStages) await this.model.unet.sync?.();
    };
    const decoder: LatentDecoder =
      control.decoder === 'taesd' && this.model.taesdDecoder ? 'taesd' : 'vae';
    // Text-to-image latents depend on the prompt's ids, seed, noise generator, steps and size
    // only (the scheduler and VAE scale are the pipeline's own).
    const noiseGenerator = params.noise ?? DEFAULT_NOISE_GENERATOR;
    const latentsKey = init
      ? null
      : `${key}|${params.seed}|${noiseGenerator}|${params.steps}|${params.width}x${params.height}`;
    if (latentsKey !== null && this.kept?.key === latentsKey && decoder === 'vae') {
      return this.decodeKept(this.kept, params, now, start, tokenized - start);
    }
    const cached = this.prompts.get(key);
    let embedding = cached;
    if (!embedding) {
      embedding = helpers
        ? await encodePromptOnDevice(
            this.model.textEncoder,
            this.model.textEncoder2,
            helpers.concat,
            ids,
            ids2,
          )
        : await encodePrompt(this.model.textEncoder, this.model.textEncoder2, ids, ids2);
      this.prompts.set(key, embedding);
    }
    await sync();
    const encoded = now();
    checkpoint();

    let imageLatents: { latents: Float32Array; cached: boolean } | null = null;
    if (init) {
      imageLatents = await this.encodeImage(init, params);
      checkpoint();
    }
    const imageEncoded = now();

    const ops = this.latentOps(
      params,
      helpers && 'location' in embedding ? helpers : undefined,
      sync,
    );
    const starting = startingLatents(
      latentDims(params),
      params.seed,
      noiseGenerator,
      timesteps,
      imageLatents?.latents ?? null,
    );
    const denoised = await denoiseLatents({
      ops,
      unet: this.model.unet,
      conditioning: unetConditioning(this.model.unet, embedding, params),
      start: starting,
      scheduler: this.traits.scheduler,
      finish: decoder === 'taesd' ? 'latents' : 'vae-input',
      preview: this.previewer(params, control, ops, now),
      checkpoint,
      now,
    });
    let picture: DecodedPicture;
    if (decoder === 'taesd') {
      const latents = denoised.latents!;
      picture = await decodeWithTaesd(ops, this.model.taesdDecoder!, latents, params, now).catch(
        (error) => {
          disposeTensor(latents);
          throw error;
        },
      );
      if (latentsKey !== null) this.keep({ key: latentsKey, latents });
      else disposeTensor(latents);
    } else {
      picture = await decodeWithVae(ops, this.model.vaeDecoder, denoised.vaeInput!, params, now);
    }
    const { pixels, ...decodeTimings } = picture;
    return {
      pixels,
      width: params.width,
      height: params.height,
      decoder,
      timings: {
        tokenize: tokenized - start,
        textEncoders: encoded - tokenized,
        promptCached: cached !== undefined,
        unetSteps: denoised.unetSteps,
        ...decodeTimings,
        total: now() - start,
        gpuResident: ops.resident,
        ...(imageLatents
          ? { vaeEncode: imageEncoded - encoded, imageCached: imageLatents.cached }
          : {}),
      },
    };
  }

  /** Where this run's tensors live: on the device with the helper graphs, else on the host. */
  private latentOps(
    params: TextToImageParams,
    helpers: PipelineHelpers | undefined,
    sync: () => Promise<void>,
  ): LatentOps {
    const { vaeScalingFactor } = this.traits;
    return helpers
      ? new DeviceLatentOps(helpers, vaeScalingFactor, params.width * params.height, sync)
      : new HostLatentOps(this.model.unet, this.model.vaeDecoder, vaeScalingFactor);
  }

  /** The input image fitted to the output size, through the VAE encoder (cached). */
  private async encodeImage(
    init: InitImage,
    params: TextToImageParams,
  ): Promise<{ latents: Float32Array; cached: boolean }> {
    const identity = init.id !== undefined ? `id:${init.id}` : imageFingerprint(init.image);
    const key = `${identity}|${params.width}x${params.height}`;
    const cached = this.images.get(key);
    if (cached) return { latents: cached, cached: true };
    const fitted = fitImage(init.image, params.width, params.height);
    const latents = await encodeImageLatents(
      this.model.vaeEncoder!,
      rgbaToPlanar(fitted),
      params.width,
      params.height,
    );
    this.images.set(key, latents);
    return { latents, cached: false };
  }

  /**
   * The step-preview callback for this run, or null: only with 2+ steps, TAESDXL and a caller
   * that wants previews. It decodes the estimate, hands the picture over and frees the tensor.
   */
  private previewer(
    params: TextToImageParams,
    control: RunControl,
    ops: LatentOps,
    now: () => number,
  ): StepPreviewer | null {
    const { onStepPreview } = control;
    const { taesdDecoder } = this.model;
    if (!onStepPreview || params.steps < 2 || !taesdDecoder) return null;
    return async (step, estimate) => {
      try {
        const { pixels } = await decodeWithTaesd(ops, taesdDecoder, estimate, params, now);
        onStepPreview({
          step,
          steps: params.steps,
          pixels,
          width: params.width,
          height: params.height,
        });
      } finally {
        disposeTensor(estimate);
      }
    };
  }

  /**
   * The full VAE on latents kept from a TAESDXL-decoded run of the same request: no text
   * encoder, no UNet. On the device the latents never leave the GPU (see DeviceLatentOps).
   */
  private async decodeKept(
    kept: KeptLatents,
    params: TextToImageParams,
    now: () => number,
    start: number,
    tokenize: number,
  ): Promise<GeneratedImage> {
    const { helpers } = this.model;
    const ops = this.latentOps(
      params,
      helpers && isDeviceTensor(kept.latents) ? helpers : undefined,
      () => Promise.resolve(),
    );
    const input = await ops.vaeInput(kept.latents);
    const { pixels, ...decodeTimings } = await decodeWithVae(
      ops,
      this.model.vaeDecoder,
      input,
      params,
      now,
    );
    return {
      pixels,
      width: params.width,
      height: params.height,
      decoder: 'vae',
      timings: {
        tokenize,
        textEncoders: 0,
        promptCached: true,
        unetSteps: [],
        ...decodeTimings,
        total: now() - start,
        gpuResident: ops.resident,
        latentsReused: true,
      },
    };
  }
}

/** [1, 4, H/8, W/8]. */
function latentDims(params: TextToImageParams): number[] {
  return [1, LATENT_CHANNELS, params.height / VAE_DOWNSAMPLE, params.width / VAE_DOWNSAMPLE];
}

/** The UNet's feeds that are the same every step: the prompt's embedding and the size's time ids. */
function unetConditioning(
  unet: GraphSession,
  embedding: PromptEmbedding | DevicePromptEmbedding,
  params: TextToImageParams,
): Record<string, SessionTensor> {
  const hiddenInfo = requireInput(unet, 'unet', 'encoder_hidden_states');
  const pooledInfo = requireInput(unet, 'unet', 'text_embeds');
  const time_ids = floatTensor(
    requireInput(unet, 'unet', 'time_ids'),
    'unet',
    [1, 6],
    timeIds(params.width, params.height),
  );
  if ('location' in embedding) {
    // Already on the device, in the UNet's dtypes (encodePromptOnDevice).
    return {
      encoder_hidden_states: embedding.hiddenStates,
      text_embeds: embedding.pooled,
      time_ids,
    };
  }
  return {
    // The conditioning is the same for every step: converted once.
    encoder_hidden_states: floatTensor(
      hiddenInfo,
      'unet',
      embedding.hiddenDims,
      embedding.hiddenStates,
    ),
    text_embeds: floatTensor(pooledInfo, 'unet', [1, embedding.pooled.length], embedding.pooled),
    time_ids,
  };
}

function requireStrength(params: TextToImageParams): number {
  if (params.strength === undefined) throw new RangeError('image-to-image needs a strength');
  return params.strength;
}

/** Rejects what the model cannot do; the UI sanitizes first, this guards every other caller. */
export function validateParams(params: TextToImageParams): void {
  const { seed, steps, width, height } = params;
  if (typeof params.prompt !== 'string') throw new RangeError('prompt must be a string');
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
    throw new RangeError(`steps must be 1..${MAX_STEPS}, got ${steps}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in 0..4294967295, got ${seed}`);
  }
  if (params.noise !== undefined && !isNoiseGeneratorName(params.noise)) {
    throw new RangeError(`unknown noise generator ${String(params.noise)}`);
  }
  for (const [name, value] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(value) || value < 64 || value > 2048 || value % 8 !== 0) {
      throw new RangeError(`${name} must be a multiple of 8 in 64..2048, got ${value}`);
    }
  }
}
