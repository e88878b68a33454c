/**
 * A model family: everything the app needs to know about one kind of model (SDXL Turbo,
 * SDXL-Lightning ...), declared in one module per family and listed in registry.ts. The
 * loader, the pipeline, the manifests, the fit rules, the UI's choices, the test-model
 * generator and the Node runner read family-specific facts from here instead of keeping
 * their own constants. Pure data and pure functions: no DOM, no runtime.
 */
import type { GraphContract } from '../graph-contract.ts';
import type { GraphName } from '../model-layout.ts';
import type { DenoiseTraits } from '../text-to-image.ts';

/** One output size a family offers (multiples of 64: the VAE and the UNet each halve 3 times). */
export interface FamilySize {
  width: number;
  height: number;
  /** What the size control shows, e.g. '1024×1024 (native)'. */
  label: string;
}

/** The two config files of a diffusers export that say which model it is (either may be absent). */
export interface FamilyConfigFiles {
  /** `scheduler/scheduler_config.json`, parsed; null when the export has none. */
  schedulerConfig: unknown;
  /** `model_index.json`, parsed; null when the export has none. */
  modelIndex: unknown;
}

/** How a prompt becomes the UNet's conditioning. */
export interface FamilyConditioning {
  /**
   * 'sdxl-two-clip': both CLIP tokenizers and text encoders (penultimate hidden states of each,
   * concatenated to [1, 77, 2048]; text_encoder_2's pooled [1, 1280] as `text_embeds`) and
   * SDXL's micro-conditioning `time_ids` [H, W, 0, 0, H, W] (conditioning.ts). The only kind
   * the pipeline implements; a family of another architecture adds its own kind.
   */
  kind: 'sdxl-two-clip';
  /** Classifier-free guidance: both distilled SDXL families run without it (one UNet pass per step). */
  guidance: false;
}

export interface ModelFamily {
  /** Stable id: stored with models and PNG parameters, sent between page and worker. */
  id: string;
  displayName: string;
  /** One plain sentence for the model panel: what this family is good at and what it costs. */
  summary: string;
  /** File layout and graph contract. */
  graphs: {
    /** Graphs a model of this family must have (paths: MODEL_FILES in model-layout.ts). */
    required: readonly GraphName[];
    /** Graphs it may have: read when present, a missing one only turns a feature off. */
    optional: readonly GraphName[];
    /** What each graph must take as input (checked on the file before a session is made). */
    contract: GraphContract;
    /**
     * The element type of the graphs' float inputs and outputs: 'graph' = that of the weights
     * (fp32 graphs take fp32, fp16 graphs fp16), 'float32' = float32 whatever the weights (fp16
     * graphs with Cast nodes at their edges). The pipeline reads each input's declared type
     * either way (tensors.ts); the generator makes test models this way.
     */
    floatIo: 'graph' | 'float32';
  };
  conditioning: FamilyConditioning;
  /** What the denoising loop takes: scheduler kind and VAE latent scale. */
  denoise: DenoiseTraits;
  /** diffusers' scheduler config of this family, as its exports ship it (the generator writes it). */
  schedulerConfig: Readonly<Record<string, unknown>>;
  /** The step counts the UI offers and the worker accepts, and the default. */
  steps: { choices: readonly number[]; default: number };
  /** Output sizes offered, and the default (the size the model was trained at). */
  sizes: { choices: readonly FamilySize[]; default: { width: number; height: number } };
  /** Whether the family does image-to-image (needs a VAE encoder among its graphs). */
  imageToImage: boolean;
  /**
   * Whether an export's config files say it is this family. The registry asks every family;
   * an export no family claims is taken as the default family (registry.ts).
   */
  recognise(files: FamilyConfigFiles): boolean;
}

/** A record's string field, or null. */
export function stringField(value: unknown, key: string): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : null;
}

/** The scheduler class an export names: scheduler_config.json's, else model_index.json's entry. */
export function schedulerClassOf(files: FamilyConfigFiles): string | null {
  const fromConfig = stringField(files.schedulerConfig, '_class_name');
  if (fromConfig) return fromConfig;
  if (typeof files.modelIndex !== 'object' || files.modelIndex === null) return null;
  const entry = (files.modelIndex as Record<string, unknown>)['scheduler'];
  return Array.isArray(entry) && typeof entry[1] === 'string' ? entry[1] : null;
}
