import { LATENT_CHANNELS, VAE_DOWNSAMPLE, VAE_SCALING_FACTOR, timeIds } from './conditioning.ts';
import type { GraphSession } from './graph-session.ts';
import { decodedImageToRgba } from './pixels.ts';
import { fitImage, imageFingerprint, rgbaToPlanar, type RgbaImage } from './image-input.ts';
import { encodeImageLatents, imageToImageTimesteps, noisedImageLatents } from './image-to-image.ts';
import { LruCache } from './lru-cache.ts';
import { GaussianNoise } from './random.ts';
import {
  eulerAncestralUpdate,
  modelInputScale,
  planEulerAncestral,
  trailingTimesteps,
} from './scheduler.ts';
import { encodePrompt, type PromptEmbedding } from './text-encoding.ts';
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
}

export interface TextToImageParams {
  prompt: string;
  seed: number;
  steps: number;
  width: number;
  height: number;
  /** Image-to-image only (with an `InitImage`): how much of the image is redone, (0, 1]. */
  strength?: number;
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
  toPixels: number;
  total: number;
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
}

/** Thrown between stages when the caller no longer wants the result. Not a failure. */
export class SupersededError extends Error {
  override name = 'SupersededError';
}

export interface RunControl {
  /** Checked between stages; return false to stop early with SupersededError. */
  stillWanted?: () => boolean;
  now?: () => number;
}

export const MAX_STEPS = 4;

/** Prompts kept encoded: live typing goes back and forth over a few recent texts. */
const PROMPT_CACHE_SIZE = 16;
/** Encoded input images: the current one, plus a few for going back and forth (64 KB each). */
const IMAGE_CACHE_SIZE = 4;

/** SDXL Turbo text-to-image: one UNet pass per step, no classifier-free guidance. */
export class TextToImagePipeline {
  /** Keyed by both tokenizers' ids, so edits that tokenize the same (spaces, case) hit it. */
  private readonly prompts = new LruCache<string, PromptEmbedding>(PROMPT_CACHE_SIZE);
  /** Keyed by image id (or pixel hash) and output size. */
  private readonly images = new LruCache<string, Float32Array>(IMAGE_CACHE_SIZE);

  constructor(private readonly model: SdxlModel) {}

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
    const cached = this.prompts.get(key);
    const embedding =
      cached ?? (await encodePrompt(this.model.textEncoder, this.model.textEncoder2, ids, ids2));
    if (!cached) this.prompts.set(key, embedding);
    const encoded = now();
    checkpoint();

    let imageLatents: { latents: Float32Array; cached: boolean } | null = null;
    if (init) {
      imageLatents = await this.encodeImage(init, params);
      checkpoint();
    }
    const imageEncoded = now();

    const { latents, unetSteps } = await this.denoise(
      params,
      embedding,
      checkpoint,
      now,
      timesteps,
      imageLatents?.latents ?? null,
    );
    const denoised = now();

    const decoded = await this.decode(latents, params);
    const vaeDone = now();
    const pixels = decodedImageToRgba(decoded, params.width, params.height);
    const end = now();

    return {
      pixels,
      width: params.width,
      height: params.height,
      timings: {
        tokenize: tokenized - start,
        textEncoders: encoded - tokenized,
        promptCached: cached !== undefined,
        unetSteps,
        vaeDecode: vaeDone - denoised,
        toPixels: end - vaeDone,
        total: end - start,
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
  ): Promise<{ latents: Float32Array; unetSteps: number[] }> {
    const { unet } = this.model;
    const dims = [
      1,
      LATENT_CHANNELS,
      params.height / VAE_DOWNSAMPLE,
      params.width / VAE_DOWNSAMPLE,
    ];
    const count = elementCount(dims);
    const plan = planEulerAncestral(timesteps);
    const noise = new GaussianNoise(params.seed);
    const latents = noise.sample(count);
    if (imageLatents) {
      // diffusers' add_noise at timesteps[0] (see image-to-image.ts), not init_noise_sigma.
      noisedImageLatents(imageLatents, latents, plan.sigmas[0] as number);
    } else {
      for (let i = 0; i < count; i++) latents[i] = (latents[i] as number) * plan.initNoiseSigma;
    }

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
      eulerAncestralUpdate(latents, toFloat32(epsTensor), sigma, plan.sigmas[i + 1] as number, () =>
        noise.sample(count),
      );
      unetSteps.push(now() - stepStart);
      checkpoint();
    }
    return { latents, unetSteps };
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
    const unscaled = latents.map((v) => v / VAE_SCALING_FACTOR);
    const out = await vaeDecoder.run(
      { [input.name]: floatTensor(input, 'vae_decoder', dims, unscaled) },
      [outputName],
    );
    const image = out[outputName];
    if (!image) throw new ModelFormatError('vae_decoder returned no image');
    return toFloat32(image);
  }
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
  for (const [name, value] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(value) || value < 64 || value > 2048 || value % 8 !== 0) {
      throw new RangeError(`${name} must be a multiple of 8 in 64..2048, got ${value}`);
    }
  }
}
