/**
 * Writes the tiny SDXL-shaped test model set to a directory, in the diffusers/optimum ONNX
 * layout (see src/pipeline/model-layout.ts). Deterministic: the same bytes on every run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FloatType, GraphBuilder } from './onnx-builder.ts';
import {
  buildTextEncoder,
  buildTextEncoder2,
  buildUnet,
  buildVaeDecoder,
  buildVaeEncoder,
} from './networks.ts';
import { readClipVocabulary, tokenizerFiles } from './tokenizer-files.ts';
import { testTaesdWeights } from './taesd-weights.ts';
import { MODEL_FILES } from '../../src/pipeline/model-layout.ts';
import type { ModelFamily } from '../../src/pipeline/families/family.ts';
import { DEFAULT_FAMILY } from '../../src/pipeline/families/registry.ts';
import { SDXL_LIGHTNING } from '../../src/pipeline/families/sdxl-lightning.ts';

/** Bump when the generated models change, so cached copies are not mistaken for new ones. */
export const GENERATOR_VERSION = 2;
export const UNET_EXTERNAL_DATA = 'model.onnx_data';
/**
 * The UNet's external data files of an SDXL-Lightning set: three shards, named as in its web
 * build (Cyronius/sdxl-lightning-4step-onnx-web-fp16-3shard: unet/model.onnx_data, _1, _2).
 */
export const LIGHTNING_UNET_SHARDS = ['model.onnx_data', 'model.onnx_data_1', 'model.onnx_data_2'];

/** How a family's tiny set differs from SDXL Turbo's: its UNet shards, graphs and configs. */
function unetExternalData(family: ModelFamily): string | readonly string[] {
  return family.id === SDXL_LIGHTNING.id ? LIGHTNING_UNET_SHARDS : UNET_EXTERNAL_DATA;
}

export interface ModelSetSummary {
  dir: string;
  dtype: FloatType;
  family: string;
  files: Array<{ path: string; bytes: number }>;
  totalBytes: number;
}

/** Input id types per dtype: fp16 follows the hosted webnn builds (int32 for the first encoder). */
export function idsTypes(dtype: FloatType): {
  textEncoder: 'int32' | 'int64';
  textEncoder2: 'int64';
} {
  return { textEncoder: dtype === 'fp16' ? 'int32' : 'int64', textEncoder2: 'int64' };
}

/**
 * The tiny set of a model family (default SDXL Turbo): the family's graphs (no vae_encoder for
 * a family without image-to-image), its scheduler config and a model_index.json naming it, and
 * for SDXL-Lightning the UNet's external data in three shard files like its web build.
 */
export function writeModelSet(
  dir: string,
  dtype: FloatType,
  family: ModelFamily = DEFAULT_FAMILY,
): ModelSetSummary {
  const files: ModelSetSummary['files'] = [];
  const write = (relative: string, content: string | Uint8Array) => {
    const target = path.join(dir, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
    files.push({ path: relative, bytes: Buffer.byteLength(content) });
  };

  const { vocab, merges } = readClipVocabulary();
  for (const [folder, pad] of [
    ['tokenizer', '<|endoftext|>'],
    ['tokenizer_2', '!'],
  ] as const) {
    for (const [name, content] of Object.entries(tokenizerFiles(vocab, merges, pad))) {
      write(`${folder}/${name}`, content);
    }
  }

  const producerVersion = String(GENERATOR_VERSION);
  const ids = idsTypes(dtype);
  const inline = (folder: string, graph: GraphBuilder) =>
    write(`${folder}/model.onnx`, graph.serialize({ producerVersion }).model);
  inline('text_encoder', buildTextEncoder(dtype, ids.textEncoder));
  inline('text_encoder_2', buildTextEncoder2(dtype, ids.textEncoder2));
  const unet = buildUnet(dtype).serialize({
    producerVersion,
    externalData: unetExternalData(family),
  });
  write('unet/model.onnx', unet.model);
  for (const file of unet.files!) write(`unet/${file.location}`, file.data);
  inline('vae_decoder', buildVaeDecoder(dtype));
  if (family.graphs.optional.includes('vaeEncoder')) inline('vae_encoder', buildVaeEncoder(dtype));
  // Optional file of the set (live-mode previews); float32 whatever the set's dtype.
  write(MODEL_FILES.taesd, testTaesdWeights());

  write('scheduler/scheduler_config.json', json(family.schedulerConfig));
  write('model_index.json', json(modelIndex(family)));
  write(
    'test-model.json',
    json({
      generator: 'scripts/make-test-model.ts',
      version: GENERATOR_VERSION,
      dtype,
      family: family.id,
      input_ids: { text_encoder: ids.textEncoder, text_encoder_2: ids.textEncoder2 },
      note: 'Tiny random SDXL-shaped ONNX models for tests; the images mean nothing.',
    }),
  );

  return {
    dir,
    dtype,
    family: family.id,
    files,
    totalBytes: files.reduce((sum, f) => sum + f.bytes, 0),
  };
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** stabilityai/sdxl-turbo's scheduler settings (the default family's own declaration). */
export const SCHEDULER_CONFIG = DEFAULT_FAMILY.schedulerConfig;

/** model_index.json naming the family's scheduler and only the graphs its builds have. */
function modelIndex(family: ModelFamily): Record<string, unknown> {
  const hasEncoder = family.graphs.optional.includes('vaeEncoder');
  return Object.fromEntries(
    Object.entries(MODEL_INDEX)
      .filter(([key]) => key !== 'vae_encoder' || hasEncoder)
      .map(([key, value]) =>
        key === 'scheduler'
          ? [key, ['diffusers', family.schedulerConfig['_class_name']]]
          : [key, value],
      ),
  );
}

/** As in diffusers' ONNX pipelines (informational only). */
export const MODEL_INDEX = {
  _class_name: 'ORTStableDiffusionXLPipeline',
  _diffusers_version: '0.24.0',
  force_zeros_for_empty_prompt: true,
  scheduler: ['diffusers', 'EulerAncestralDiscreteScheduler'],
  text_encoder: ['diffusers', 'OnnxRuntimeModel'],
  text_encoder_2: ['diffusers', 'OnnxRuntimeModel'],
  tokenizer: ['transformers', 'CLIPTokenizer'],
  tokenizer_2: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'OnnxRuntimeModel'],
  vae_decoder: ['diffusers', 'OnnxRuntimeModel'],
  vae_encoder: ['diffusers', 'OnnxRuntimeModel'],
};
