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

/** Bump when the generated models change, so cached copies are not mistaken for new ones. */
export const GENERATOR_VERSION = 2;
export const UNET_EXTERNAL_DATA = 'model.onnx_data';

export interface ModelSetSummary {
  dir: string;
  dtype: FloatType;
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

export function writeModelSet(dir: string, dtype: FloatType): ModelSetSummary {
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
  const unet = buildUnet(dtype).serialize({ producerVersion, externalData: UNET_EXTERNAL_DATA });
  write('unet/model.onnx', unet.model);
  write(`unet/${UNET_EXTERNAL_DATA}`, unet.data!);
  inline('vae_decoder', buildVaeDecoder(dtype));
  inline('vae_encoder', buildVaeEncoder(dtype));
  // Optional file of the set (live-mode previews); float32 whatever the set's dtype.
  write(MODEL_FILES.taesd, testTaesdWeights());

  write('scheduler/scheduler_config.json', json(SCHEDULER_CONFIG));
  write('model_index.json', json(MODEL_INDEX));
  write(
    'test-model.json',
    json({
      generator: 'scripts/make-test-model.ts',
      version: GENERATOR_VERSION,
      dtype,
      input_ids: { text_encoder: ids.textEncoder, text_encoder_2: ids.textEncoder2 },
      note: 'Tiny random SDXL-shaped ONNX models for tests; the images mean nothing.',
    }),
  );

  return { dir, dtype, files, totalBytes: files.reduce((sum, f) => sum + f.bytes, 0) };
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** stabilityai/sdxl-turbo's scheduler settings. */
export const SCHEDULER_CONFIG = {
  _class_name: 'EulerAncestralDiscreteScheduler',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  steps_offset: 1,
  timestep_spacing: 'trailing',
  trained_betas: null,
};

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
