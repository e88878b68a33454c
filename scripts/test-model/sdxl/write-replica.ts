/**
 * Writes an SDXL replica set (tokenizers, scheduler, the five graphs) in the standard
 * diffusers/optimum directory layout (src/pipeline/model-layout.ts), streaming each graph's
 * weights to disk tensor by tensor. Layouts:
 *
 *   optimum-fp32  fp32, dense MatMul, int64 ids; UNet and text_encoder_2 weights in one
 *                 external data file each (model.onnx_data), the rest inline, as the
 *                 stabilityai/sdxl-turbo export ships them.
 *   webnn-q4      q4f16 as webnn/sdxl-turbo: MatMulNBits 4-bit linear layers, fp16 everything
 *                 else including inputs and outputs, int32 ids for text_encoder, weights inline.
 *   webnn-q4f32   the same with float32 activations (for GPUs without shader-f16); its
 *                 convolutions are uint8 + DequantizeLinear so the UNet stays under protobuf's
 *                 2 GB limit.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GraphBuilder } from '../onnx-builder.ts';
import { writeModelStreaming } from '../stream-model.ts';
import { readClipVocabulary, tokenizerFiles } from '../tokenizer-files.ts';
import { MODEL_INDEX, SCHEDULER_CONFIG, json } from '../write-model-set.ts';
import { buildClipText, clipTextConfig } from './clip-text.ts';
import type { Precision } from './layers.ts';
import { buildSdxlUnet } from './unet.ts';
import { buildVaeDecoder, buildVaeEncoder } from './vae.ts';

export const REPLICA_LAYOUTS = ['optimum-fp32', 'webnn-q4', 'webnn-q4f32'] as const;
export type ReplicaLayout = (typeof REPLICA_LAYOUTS)[number];
export const REPLICA_VERSION = 1;
export const EXTERNAL_DATA_NAME = 'model.onnx_data';

interface LayoutSpec {
  precision: Precision;
  ids: { textEncoder: 'int32' | 'int64'; textEncoder2: 'int32' | 'int64' };
  /** Graphs whose weights go to an external data file. */
  external: ReadonlySet<string>;
}

export const LAYOUTS: Record<ReplicaLayout, LayoutSpec> = {
  'optimum-fp32': {
    precision: { float: 'fp32', conv: 'fp32', matmul: 'dense' },
    ids: { textEncoder: 'int64', textEncoder2: 'int64' },
    external: new Set(['unet', 'text_encoder_2']),
  },
  'webnn-q4': {
    precision: { float: 'fp16', conv: 'fp16', matmul: 'q4' },
    ids: { textEncoder: 'int32', textEncoder2: 'int64' },
    external: new Set(),
  },
  'webnn-q4f32': {
    precision: { float: 'fp32', conv: 'int8', matmul: 'q4' },
    ids: { textEncoder: 'int32', textEncoder2: 'int64' },
    external: new Set(),
  },
};

/** The five graphs of a replica, built without generating any weight. */
export function replicaGraphs(scale: number, layout: ReplicaLayout): GraphBuilder[] {
  const { precision, ids } = LAYOUTS[layout];
  return [
    buildClipText(clipTextConfig(1, scale), precision, ids.textEncoder),
    buildClipText(clipTextConfig(2, scale), precision, ids.textEncoder2),
    buildSdxlUnet(scale, precision),
    buildVaeDecoder(scale, precision),
    buildVaeEncoder(scale, precision),
  ];
}

export interface ReplicaSummary {
  dir: string;
  files: Array<{ path: string; bytes: number }>;
  parameters: Record<string, number>;
  totalBytes: number;
}

export function writeReplica(
  dir: string,
  options: { scale: number; layout: ReplicaLayout; onGraph?: (name: string) => void },
): ReplicaSummary {
  const files: ReplicaSummary['files'] = [];
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

  const spec = LAYOUTS[options.layout];
  const parameters: Record<string, number> = {};
  const producerVersion = `replica-${REPLICA_VERSION}`;
  for (const graph of replicaGraphs(options.scale, options.layout)) {
    options.onGraph?.(graph.name);
    parameters[graph.name] = graph.parameterCount;
    const folder = path.join(dir, graph.name);
    mkdirSync(folder, { recursive: true });
    const external = spec.external.has(graph.name)
      ? { name: EXTERNAL_DATA_NAME, path: path.join(folder, EXTERNAL_DATA_NAME) }
      : undefined;
    const written = writeModelStreaming(graph, path.join(folder, 'model.onnx'), {
      externalData: external,
      producerVersion,
    });
    files.push({ path: `${graph.name}/model.onnx`, bytes: written.modelBytes });
    if (external)
      files.push({ path: `${graph.name}/${EXTERNAL_DATA_NAME}`, bytes: written.dataBytes });
  }

  write('scheduler/scheduler_config.json', json(SCHEDULER_CONFIG));
  write('model_index.json', json(MODEL_INDEX));
  write(
    'test-model.json',
    json({
      generator: 'scripts/make-test-model.ts',
      arch: 'sdxl',
      version: REPLICA_VERSION,
      scale: options.scale,
      layout: options.layout,
      input_ids: { text_encoder: spec.ids.textEncoder, text_encoder_2: spec.ids.textEncoder2 },
      parameters,
      note: 'SDXL-architecture replica with random weights, for size and loading tests; the images mean nothing.',
    }),
  );
  return { dir, files, parameters, totalBytes: files.reduce((sum, f) => sum + f.bytes, 0) };
}
