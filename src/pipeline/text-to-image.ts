import { LATENT_CHANNELS, VAE_DOWNSAMPLE, VAE_SCALING_FACTOR, timeIds } from './conditioning.ts';
import {
  isDeviceTensor,
  type GraphSession,
  type HostTensor,
  type SessionTensor,
} from './graph-session.ts';
import { packedRgbToRgba } from './onnx/helper-graphs.ts';
import { decodedImageToRgba } from './pixels.ts';
import { fitImage, imageFingerprint, rgbaToPlanar, type RgbaImage } from './image-input.ts';
import { encodeImageLatents, imageToImageTimesteps, noisedImageLatents } from './image-to-image.ts';
import { LruCache } from './lru-cache.ts';
import {
  DEFAULT_NOISE_GENERATOR,
  createNoise,
  isNoiseGeneratorName,
  type NoiseGeneratorName,
} from './noise/noise-generators.ts';
import {
  eulerStep,
  eulerAncestralUpdate,
  modelInputScale,
  planEulerAncestral,
  trailingTimesteps,
  type SchedulerKind,
} from './scheduler.ts';
import {
  disposeTensor,
  encodePrompt,
  encodePromptOnDevice,
  type DevicePromptEmbedding,
  type PromptEmbedding,
} from './text-encoding.ts';
import type { ClipTokenizer } from './tokenizer/clip-tokenizer.ts';
import {
  ModelFormatError,
  elementCount,
  floatTensor,
  requireInput,
  scalarTensor,
  toFloat32,
} from './tensors.ts';

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
    // Text-to-image latents depend on the prompt's ids, seed, steps and size only.
    const latentsKey = init
      ? null
      : `${key}|${params.seed}|${params.steps}|${params.width}x${params.height}`;
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

    let pixels: Uint8ClampedArray;
    let unetSteps: number[];
    let vaeDecode: number;
    let readback: number | undefined;
    let toPixels: number;
    const preview = this.previewer(params, control);
    if (helpers && 'location' in embedding) {
      const denoised = await this.denoiseOnDevice(
        params,
        embedding,
        helpers,
        checkpoint,
        now,
        sync,
        timesteps,
        imageLatents?.latents ?? null,
        decoder === 'taesd',
        preview,
      );
      unetSteps = denoised.unetSteps;
      const decodeStart = now();
      if (decoder === 'taesd') {
        const latents = denoised.latents!;
        const packed = await this.taesdPacked(latents, helpers, params).catch((error) => {
          disposeTensor(latents);
          throw error;
        });
        if (latentsKey !== null) this.keep({ key: latentsKey, latents });
        else disposeTensor(latents);
        // (TAESDXL's decode and its pixels' readback are timed together, as vaeDecode.)
        const decoded = now();
        vaeDecode = decoded - decodeStart;
        pixels = packedRgbToRgba(packed);
        toPixels = now() - decoded;
        const end = now();
        return {
          pixels,
          width: params.width,
          height: params.height,
          decoder,
          timings: {
            tokenize: tokenized - start,
            textEncoders: encoded - tokenized,
            promptCached: cached !== undefined,
            unetSteps,
            vaeDecode,
            toPixels,
            total: end - start,
            gpuResident: true,
            ...(imageLatents
              ? { vaeEncode: imageEncoded - encoded, imageCached: imageLatents.cached }
              : {}),
          },
        };
      }
      const image = await this.runKeeping(
        this.model.vaeDecoder,
        { [this.vaeInputName()]: denoised.vaeInput! },
        [this.vaeOutputName()],
      ).finally(() => disposeTensor(denoised.vaeInput));
      await sync();
      const decoded = now();
      vaeDecode = decoded - decodeStart;
      const rgbTensor = image[this.vaeOutputName()];
      // (denoised.vaeInput is always set when the decoder is the VAE.)
      let packed: Int32Array | undefined;
      try {
        // The only readback of the run: 4 bytes per pixel.
        const out = await this.runKeeping(helpers.pixels, { image: rgbTensor! }, ['rgb'], []);
        const rgb = out['rgb'];
        packed = rgb && !isDeviceTensor(rgb) ? (rgb.data as Int32Array) : undefined;
      } finally {
        disposeTensor(rgbTensor);
      }
      const readDone = now();
      readback = readDone - decoded;
      if (!packed || packed.length !== params.width * params.height) {
        throw new ModelFormatError('the pixels helper returned the wrong number of pixels');
      }
      pixels = packedRgbToRgba(packed);
      toPixels = now() - readDone;
    } else {
      const denoised = await this.denoise(
        params,
        embedding as PromptEmbedding,
        checkpoint,
        now,
        timesteps,
        imageLatents?.latents ?? null,
        preview,
      );
      unetSteps = denoised.unetSteps;
      const decodeStart = now();
      const decoded =
        decoder === 'taesd'
          ? await this.taesdPlanes(denoised.latents, params)
          : await this.decode(denoised.latents, params);
      if (decoder === 'taesd' && latentsKey !== null) {
        const dims = [
          1,
          LATENT_CHANNELS,
          params.height / VAE_DOWNSAMPLE,
          params.width / VAE_DOWNSAMPLE,
        ];
        this.keep({ key: latentsKey, latents: { type: 'float32', dims, data: denoised.latents } });
      }
      const vaeDone = now();
      vaeDecode = vaeDone - decodeStart;
      pixels = decodedImageToRgba(decoded, params.width, params.height);
      toPixels = now() - vaeDone;
    }
    const end = now();

    return {
      pixels,
      width: params.width,
      height: params.height,
      decoder,
      timings: {
        tokenize: tokenized - start,
        textEncoders: encoded - tokenized,
        promptCached: cached !== undefined,
        unetSteps,
        vaeDecode,
        ...(readback !== undefined ? { readback } : {}),
        toPixels,
        total: end - start,
        gpuResident: helpers !== undefined,
        ...(imageLatents
          ? { vaeEncode: imageEncoded - encoded, imageCached: imageLatents.cached }
          : {}),
      },
    };
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
   * Euler ancestral down to sigma 0: text-to-image from seeded noise at sigma_max,
   * image-to-image from the image latents noised to the sigma of its first timestep.
   */
  private async denoise(
    params: TextToImageParams,
    embedding: PromptEmbedding,
    checkpoint: () => void,
    now: () => number,
    timesteps: number[],
    imageLatents: Float32Array | null,
    preview: StepPreviewer | null = null,
  ): Promise<{ latents: Float32Array; unetSteps: number[] }> {
    const { unet } = this.model;
    const { dims, count, plan, noise, latents } = startingLatents(params, timesteps, imageLatents);

    const sampleInfo = requireInput(unet, 'unet', 'sample');
    const timestepInfo = requireInput(unet, 'unet', 'timestep');
    // The conditioning is the same for every step: convert it once.
    const fixedFeeds = {
      encoder_hidden_states: floatTensor(
        requireInput(unet, 'unet', 'encoder_hidden_states'),
        'unet',
        embedding.hiddenDims,
        embedding.hiddenStates,
      ),
      text_embeds: floatTensor(
        requireInput(unet, 'unet', 'text_embeds'),
        'unet',
        [1, embedding.pooled.length],
        embedding.pooled,
      ),
      time_ids: floatTensor(
        requireInput(unet, 'unet', 'time_ids'),
        'unet',
        [1, 6],
        timeIds(params.width, params.height),
      ),
    };
    const outputName =
      unet.outputs.find((o) => o.name === 'out_sample')?.name ?? unet.outputs[0]?.name;
    if (!outputName) throw new ModelFormatError('unet has no outputs');

    const unetSteps: number[] = [];
    for (let i = 0; i < plan.timesteps.length; i++) {
      const stepStart = now();
      const sigma = plan.sigmas[i] as number;
      const scale = modelInputScale(sigma);
      const scaled = latents.map((v) => v * scale);
      const out = await unet.run(
        {
          ...fixedFeeds,
          sample: floatTensor(sampleInfo, 'unet', dims, scaled),
          timestep: scalarTensor(timestepInfo, 'unet', plan.timesteps[i] as number),
        },
        [outputName],
      );
      const epsTensor = out[outputName];
      if (!epsTensor || elementCount(epsTensor.dims) !== count) {
        throw new ModelFormatError(
          `unet returned ${epsTensor ? `[${epsTensor.dims.join(',')}]` : 'nothing'}, expected [${dims.join(',')}]`,
        );
      }
      const eps = toFloat32(epsTensor);
      if (preview && i < plan.timesteps.length - 1) {
        // The step's denoised estimate x - sigma·eps: what the image would be if this were the last step.
        const estimate = latents.map((v, j) => v - sigma * (eps[j] as number));
        await preview(i + 1, { type: 'float32', dims, data: estimate });
      }
      eulerAncestralUpdate(
        latents,
        eps,
        sigma,
        plan.sigmas[i + 1] as number,
        () => noise.sample(count),
        this.traits.scheduler,
      );
      unetSteps.push(now() - stepStart);
      checkpoint();
    }
    return { latents, unetSteps };
  }

  /** A run with outputs kept on the device where the session can (all of them by default). */
  private runKeeping(
    session: GraphSession,
    feeds: Record<string, SessionTensor>,
    outputNames: string[],
    keepOnDevice: string[] = outputNames,
  ): Promise<Record<string, SessionTensor>> {
    if (session.runOnDevice) return session.runOnDevice(feeds, outputNames, keepOnDevice);
    for (const [name, t] of Object.entries(feeds)) {
      if (isDeviceTensor(t)) throw new Error(`feed "${name}" is on a device this session lacks`);
    }
    return session.run(feeds as Record<string, never>, outputNames);
  }

  private vaeInputName(): string {
    const { vaeDecoder } = this.model;
    const input = vaeDecoder.inputs.find((i) => i.name === 'latent_sample') ?? vaeDecoder.inputs[0];
    if (!input) throw new ModelFormatError('vae_decoder has no inputs');
    return input.name;
  }

  private vaeOutputName(): string {
    const { vaeDecoder } = this.model;
    const name =
      vaeDecoder.outputs.find((o) => o.name === 'sample')?.name ?? vaeDecoder.outputs[0]?.name;
    if (!name) throw new ModelFormatError('vae_decoder has no outputs');
    return name;
  }

  /**
   * denoise() with the latents on the device: the UNet's noise prediction goes straight into
   * the step helper, whose scaled output is the next UNet input (or, after the last step, the
   * VAE decoder's input). Host to device per step: the timestep, three scalars and, while
   * sigma_up > 0, the step's Gaussian noise (drawn on the host from the seeded generator, so the
   * image matches the host path's; 64 KiB at 512²). Nothing is read back.
   */
  private async denoiseOnDevice(
    params: TextToImageParams,
    embedding: DevicePromptEmbedding,
    helpers: PipelineHelpers,
    checkpoint: () => void,
    now: () => number,
    sync: () => Promise<void>,
    timesteps: number[],
    imageLatents: Float32Array | null,
    keepLatents = false,
    preview: StepPreviewer | null = null,
  ): Promise<{ vaeInput?: SessionTensor; latents?: SessionTensor; unetSteps: number[] }> {
    const { unet } = this.model;
    const start = startingLatents(params, timesteps, imageLatents);
    const { dims, count, plan, noise } = start;
    const x0 = start.latents;
    const sampleInfo = requireInput(unet, 'unet', 'sample');
    const timestepInfo = requireInput(unet, 'unet', 'timestep');
    requireInput(unet, 'unet', 'encoder_hidden_states');
    requireInput(unet, 'unet', 'text_embeds');
    const outputName =
      unet.outputs.find((o) => o.name === 'out_sample')?.name ?? unet.outputs[0]?.name;
    if (!outputName) throw new ModelFormatError('unet has no outputs');
    const fixedFeeds: Record<string, SessionTensor> = {
      encoder_hidden_states: embedding.hiddenStates,
      text_embeds: embedding.pooled,
      time_ids: floatTensor(
        requireInput(unet, 'unet', 'time_ids'),
        'unet',
        [1, 6],
        timeIds(params.width, params.height),
      ),
    };
    const scale0 = modelInputScale(plan.sigmas[0] as number);
    let x: SessionTensor = { type: 'float32', dims, data: x0 };
    let sample: SessionTensor = floatTensor(
      sampleInfo,
      'unet',
      dims,
      x0.map((v) => v * scale0),
    );
    const scalar = (v: number): SessionTensor => ({
      type: 'float32',
      dims: [1],
      data: Float32Array.of(v),
    });
    const unetSteps: number[] = [];
    try {
      for (let i = 0; i < plan.timesteps.length; i++) {
        const stepStart = now();
        const sigma = plan.sigmas[i] as number;
        const sigmaNext = plan.sigmas[i + 1] as number;
        const last = i === plan.timesteps.length - 1;
        const out = await this.runKeeping(
          unet,
          {
            ...fixedFeeds,
            sample,
            timestep: scalarTensor(timestepInfo, 'unet', plan.timesteps[i] as number),
          },
          [outputName],
        );
        const eps = out[outputName];
        if (!eps || elementCount(eps.dims) !== count) {
          disposeTensor(eps);
          throw new ModelFormatError(
            `unet returned ${eps ? `[${eps.dims.join(',')}]` : 'nothing'}, expected [${dims.join(',')}]`,
          );
        }
        if (preview && !last) {
          // The denoised estimate x - sigma·eps, by the same step graph: dt = -sigma, no noise.
          try {
            const estimate = await this.runKeeping(
              helpers.stepToUnet,
              {
                x,
                eps,
                noise: { type: 'float32', dims: [1, 1, 1, 1], data: new Float32Array(1) },
                dt: scalar(-sigma),
                sigma_up: scalar(0),
                out_scale: scalar(1),
              },
              ['latents'],
            );
            await preview(i + 1, estimate['latents']!);
          } catch (error) {
            disposeTensor(eps);
            throw error;
          }
        }
        const { dt, sigmaUp } = eulerStep(this.traits.scheduler, sigma, sigmaNext);
        // The host path draws noise only when sigma_up > 0; so does this one (same sequence).
        // Without noise (the last step) a single broadcast 0 is uploaded instead of a tensor.
        const stepNoise: SessionTensor =
          sigmaUp > 0
            ? { type: 'float32', dims, data: noise.sample(count) }
            : { type: 'float32', dims: [1, 1, 1, 1], data: new Float32Array(1) };
        const outScale = last ? 1 / this.traits.vaeScalingFactor : modelInputScale(sigmaNext);
        const step = last ? helpers.stepToVae : helpers.stepToUnet;
        // TAESDXL decodes the unscaled latents; the VAE takes them / 0.13025 ('scaled').
        const names = last && !keepLatents ? ['scaled'] : ['latents', 'scaled'];
        let next: Record<string, SessionTensor>;
        try {
          next = await this.runKeeping(
            step,
            {
              x,
              eps,
              noise: stepNoise,
              dt: scalar(dt),
              sigma_up: scalar(sigmaUp),
              out_scale: scalar(outScale),
            },
            names,
          );
        } finally {
          disposeTensor(eps);
        }
        disposeTensor(x);
        disposeTensor(sample);
        x = next['latents'] ?? { type: 'float32', dims: [0], data: new Float32Array(0) };
        sample = next['scaled']!;
        await sync();
        unetSteps.push(now() - stepStart);
        checkpoint();
      }
    } catch (error) {
      disposeTensor(x);
      disposeTensor(sample);
      throw error;
    }
    if (keepLatents) {
      disposeTensor(sample);
      return { latents: x, unetSteps };
    }
    return { vaeInput: sample, unetSteps };
  }

  /**
   * The step-preview callback for this run, or null: only with 2+ steps, TAESDXL and a caller
   * that wants previews. It decodes the estimate, hands the picture over and frees the tensor.
   */
  private previewer(params: TextToImageParams, control: RunControl): StepPreviewer | null {
    const { onStepPreview } = control;
    if (!onStepPreview || params.steps < 2 || !this.model.taesdDecoder) return null;
    return async (step, estimate) => {
      try {
        const helpers = this.model.helpers;
        const pixels =
          isDeviceTensor(estimate) && helpers
            ? packedRgbToRgba(await this.taesdPacked(estimate, helpers, params))
            : decodedImageToRgba(
                await this.taesdPlanes(toFloat32(estimate as HostTensor), params),
                params.width,
                params.height,
              );
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

  /** TAESDXL on the device: latents -> decoder -> pixels helper; reads back 4 bytes a pixel. */
  private async taesdPacked(
    latents: SessionTensor,
    helpers: PipelineHelpers,
    params: TextToImageParams,
  ): Promise<Int32Array> {
    const decoder = this.model.taesdDecoder!;
    const pixelsGraph = helpers.taesdPixels ?? helpers.pixels;
    const image = (await this.runKeeping(decoder, { latent_sample: latents }, ['sample']))[
      'sample'
    ];
    let packed: Int32Array | undefined;
    try {
      const out = await this.runKeeping(pixelsGraph, { image: image! }, ['rgb'], []);
      const rgb = out['rgb'];
      packed = rgb && !isDeviceTensor(rgb) ? (rgb.data as Int32Array) : undefined;
    } finally {
      disposeTensor(image);
    }
    if (!packed || packed.length !== params.width * params.height) {
      throw new ModelFormatError('the TAESDXL pixels helper returned the wrong number of pixels');
    }
    return packed;
  }

  /** TAESDXL on the host: unscaled latents -> planar RGB in [-1, 1]. */
  private async taesdPlanes(
    latents: Float32Array,
    params: TextToImageParams,
  ): Promise<Float32Array> {
    const dims = [
      1,
      LATENT_CHANNELS,
      params.height / VAE_DOWNSAMPLE,
      params.width / VAE_DOWNSAMPLE,
    ];
    const out = await this.model.taesdDecoder!.run(
      { latent_sample: { type: 'float32', dims, data: latents } },
      ['sample'],
    );
    const image = out['sample'];
    if (!image) throw new ModelFormatError('the TAESDXL decoder returned no image');
    return toFloat32(image);
  }

  /**
   * The full VAE on latents kept from a TAESDXL-decoded run of the same request: no text
   * encoder, no UNet. On the device the latents are scaled by the step helper (eps = 0, no
   * noise, out_scale 1/0.13025) so they never leave the GPU.
   */
  private async decodeKept(
    kept: KeptLatents,
    params: TextToImageParams,
    now: () => number,
    start: number,
    tokenize: number,
  ): Promise<GeneratedImage> {
    const { helpers } = this.model;
    const decodeStart = now();
    let pixels: Uint8ClampedArray;
    let readback: number | undefined;
    let vaeDone: number;
    if (helpers && isDeviceTensor(kept.latents)) {
      const count = elementCount(kept.latents.dims);
      const epsType = helpers.stepToVae.inputs.find((i) => i.name === 'eps')?.type;
      const zeros: SessionTensor =
        epsType === 'float16'
          ? { type: 'float16', dims: kept.latents.dims, data: new Uint16Array(count) }
          : { type: 'float32', dims: kept.latents.dims, data: new Float32Array(count) };
      const scalar = (v: number): SessionTensor => ({
        type: 'float32',
        dims: [1],
        data: Float32Array.of(v),
      });
      const scaled = (
        await this.runKeeping(
          helpers.stepToVae,
          {
            x: kept.latents,
            eps: zeros,
            noise: { type: 'float32', dims: [1, 1, 1, 1], data: new Float32Array(1) },
            dt: scalar(0),
            sigma_up: scalar(0),
            out_scale: scalar(1 / this.traits.vaeScalingFactor),
          },
          ['scaled'],
        )
      )['scaled']!;
      const image = await this.runKeeping(
        this.model.vaeDecoder,
        { [this.vaeInputName()]: scaled },
        [this.vaeOutputName()],
      ).finally(() => disposeTensor(scaled));
      vaeDone = now();
      const rgbTensor = image[this.vaeOutputName()];
      let packed: Int32Array | undefined;
      try {
        const out = await this.runKeeping(helpers.pixels, { image: rgbTensor! }, ['rgb'], []);
        const rgb = out['rgb'];
        packed = rgb && !isDeviceTensor(rgb) ? (rgb.data as Int32Array) : undefined;
      } finally {
        disposeTensor(rgbTensor);
      }
      if (!packed || packed.length !== params.width * params.height) {
        throw new ModelFormatError('the pixels helper returned the wrong number of pixels');
      }
      readback = now() - vaeDone;
      pixels = packedRgbToRgba(packed);
    } else {
      const latents = toFloat32(kept.latents as HostTensor);
      const decoded = await this.decode(latents, params);
      vaeDone = now();
      pixels = decodedImageToRgba(decoded, params.width, params.height);
    }
    const end = now();
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
        vaeDecode: vaeDone - decodeStart,
        ...(readback !== undefined ? { readback } : {}),
        toPixels: end - vaeDone - (readback ?? 0),
        total: end - start,
        gpuResident: helpers !== undefined,
        latentsReused: true,
      },
    };
  }

  /** latents / 0.13025 through the VAE decoder, giving planar RGB in [-1, 1]. */
  private async decode(latents: Float32Array, params: TextToImageParams): Promise<Float32Array> {
    const { vaeDecoder } = this.model;
    const input = vaeDecoder.inputs.find((i) => i.name === 'latent_sample') ?? vaeDecoder.inputs[0];
    const outputName =
      vaeDecoder.outputs.find((o) => o.name === 'sample')?.name ?? vaeDecoder.outputs[0]?.name;
    if (!input || !outputName)
      throw new ModelFormatError('vae_decoder has no latent_sample input or sample output');
    const dims = [
      1,
      LATENT_CHANNELS,
      params.height / VAE_DOWNSAMPLE,
      params.width / VAE_DOWNSAMPLE,
    ];
    const unscaled = latents.map((v) => v / this.traits.vaeScalingFactor);
    const out = await vaeDecoder.run(
      { [input.name]: floatTensor(input, 'vae_decoder', dims, unscaled) },
      [outputName],
    );
    const image = out[outputName];
    if (!image) throw new ModelFormatError('vae_decoder returned no image');
    return toFloat32(image);
  }
}

/** Decodes one step's denoised estimate for a preview; frees the tensor. */
type StepPreviewer = (step: number, estimate: SessionTensor) => Promise<void>;

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

/**
 * The latents denoising starts from, the same on the host and on the device: seeded noise at
 * sigma_max for text-to-image; for image-to-image, the encoded image noised as diffusers'
 * add_noise does at timesteps[0] (see image-to-image.ts), not scaled by init_noise_sigma.
 * `noise` goes on to draw each step's ancestral noise from the same sequence.
 *
 * Order of draws with torch-cpu, as diffusers makes them with one CPU generator (each a
 * `randn_tensor` of the latent shape): text-to-image, `prepare_latents` first, then one in every
 * `EulerAncestralDiscreteScheduler.step`. The last step's draw is multiplied by sigma_up = 0 and
 * comes after every draw that is used, so it is skipped here (on both paths) without changing
 * any value. Image-to-image: diffusers' first draw samples the VAE encoder's latent
 * distribution (`retrieve_latents`, sample_mode="sample"); this app takes the distribution's
 * mean, so that draw is made and dropped, and the add_noise draw and the step draws are then
 * diffusers' own. mulberry32 keeps its original order (no dropped draw) so old images repeat.
 */
function startingLatents(
  params: TextToImageParams,
  timesteps: number[],
  imageLatents: Float32Array | null,
) {
  const dims = [1, LATENT_CHANNELS, params.height / VAE_DOWNSAMPLE, params.width / VAE_DOWNSAMPLE];
  const count = elementCount(dims);
  const plan = planEulerAncestral(timesteps);
  const generator = params.noise ?? DEFAULT_NOISE_GENERATOR;
  const noise = createNoise(generator, params.seed);
  if (imageLatents && generator === 'torch-cpu') noise.sample(count); // latent_dist.sample's draw
  const latents = noise.sample(count);
  if (imageLatents) {
    noisedImageLatents(imageLatents, latents, plan.sigmas[0] as number);
  } else {
    for (let i = 0; i < count; i++) latents[i] = (latents[i] as number) * plan.initNoiseSigma;
  }
  return { dims, count, plan, noise, latents };
}
