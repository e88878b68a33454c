/**
 * The SDXL replica generator: full-size parameter counts (built without generating weights)
 * against SDXL's published ones, the hosted q4f16 build's file sizes against the webnn-layout
 * replica's, the streamed writer against the in-memory serializer, and small-scale replicas
 * of each layout read back and run: inputs, outputs, operators, parameters in the files, and
 * a one-step image through the Node runner (onnxruntime-web's wasm backend).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { directorySource, nodeSessionFactory } from '../../../src/cli/node-model.ts';
import { loadSdxlModel } from '../../../src/pipeline/model-loader.ts';
import { MODEL_FILES } from '../../../src/pipeline/model-layout.ts';
import { decodeModel, graphInputs, operatorTypes } from '../../../src/pipeline/onnx/inspect.ts';
import { int64ToNumber, TensorDataType } from '../../../src/pipeline/onnx/schema.ts';
import { halfToFloat32 } from '../../../src/pipeline/float16.ts';
import { TextToImagePipeline } from '../../../src/pipeline/text-to-image.ts';
import { WEBNN_SDXL_TURBO_Q4F16 } from '../../../src/storage/hosted-models.ts';
import { writeModelStreaming } from '../stream-model.ts';
import { LAYOUTS, replicaGraphs, writeReplica, type ReplicaLayout } from './write-replica.ts';

/**
 * Published parameter counts. UNet: the SDXL paper (Podell et al. 2023, arXiv:2307.01952,
 * Table 1: "2.6B") and the count of diffusers' UNet2DConditionModel for
 * stabilityai/sdxl-turbo, 2,567,463,684. Text encoders: CLIPTextModel (ViT-L/14) 123,060,480
 * and CLIPTextModelWithProjection (OpenCLIP ViT-bigG/14) 694,659,840 (the paper's 817 M for
 * both). VAE (AutoencoderKL, 83.65 M): decoder with post_quant_conv 49,490,199, encoder
 * 34,163,592 plus quant_conv's 72.
 */
const PUBLISHED = {
  unet: 2_567_463_684,
  text_encoder: 123_060_480,
  text_encoder_2: 694_659_840,
  vae_decoder: 49_490_199,
  vae_encoder: 34_163_592 + 72,
};

const SCALE = 0.05;
const TIMEOUT_MS = 240_000;
const root = mkdtempSync(path.join(tmpdir(), 'sdxl-replica-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('full-size replica (graphs built, no weights generated)', () => {
  it('has SDXL published parameter counts in every graph and layout', () => {
    for (const layout of Object.keys(LAYOUTS) as ReplicaLayout[]) {
      const counts = Object.fromEntries(
        replicaGraphs(1, layout).map((g) => [g.name, g.parameterCount]),
      );
      expect(counts, layout).toEqual(PUBLISHED);
    }
  });

  it('webnn-q4 graphs are within 3% of the hosted webnn/sdxl-turbo q4f16 files', () => {
    const sizes = new Map(WEBNN_SDXL_TURBO_Q4F16.files.map((f) => [f.path, f.bytes]));
    for (const g of replicaGraphs(1, 'webnn-q4')) {
      const file = `${g.name}/model.onnx`;
      const published = sizes.get(file);
      if (g.name === 'vae_encoder') {
        expect(published).toBeUndefined(); // the webnn build has none
        continue;
      }
      expect(published, file).toBeGreaterThan(0);
      expect(Math.abs(g.weightBytes / published! - 1), file).toBeLessThan(0.03);
    }
  });

  it('keeps every inline graph under protobuf’s 2 GB limit', () => {
    for (const layout of ['webnn-q4', 'webnn-q4f32'] as const) {
      for (const g of replicaGraphs(1, layout))
        expect(g.weightBytes, `${layout} ${g.name}`).toBeLessThan(2 ** 31 - 1);
    }
  });
});

describe('streamed writer', () => {
  it('writes the same model as the in-memory serializer', () => {
    for (const layout of ['optimum-fp32', 'webnn-q4'] as const) {
      const g = replicaGraphs(SCALE, layout)[3]!; // the VAE decoder: small, all patterns
      const file = path.join(root, `streamed-${layout}.onnx`);
      writeModelStreaming(g, file);
      const streamed = decodeModel(readFileSync(file));
      const inMemory = decodeModel(g.serialize().model);
      expect(streamed.graph.initializer!.length).toBeGreaterThan(50);
      expect(JSON.stringify(streamed)).toBe(JSON.stringify(inMemory));
    }
  });
});

/** Elements of a graph's trained parameters: initializers that are not helper constants. */
function parametersInFile(bytes: Uint8Array): number {
  let count = 0;
  for (const t of decodeModel(bytes).graph.initializer ?? []) {
    const name = t.name ?? '';
    if (
      /^(const_|causal_attention_mask|test_only\.)/.test(name) ||
      /_(scales|scale|zero_point)$/.test(name)
    )
      continue;
    const elements = (t.dims ?? []).reduce((a: number, d) => a * int64ToNumber(d), 1);
    // 4-bit blobs [N, K/32, 16] hold two weights per byte.
    count += t.dataType === TensorDataType.UINT8 && name.endsWith('_Q4') ? elements * 2 : elements;
  }
  return count;
}

const EXPECTED_IO = {
  text_encoder: {
    inputs: ['input_ids'],
    outputs: [
      'last_hidden_state',
      'pooler_output',
      ...Array.from({ length: 13 }, (_, i) => `hidden_states.${i}`),
    ],
  },
  text_encoder_2: {
    inputs: ['input_ids'],
    outputs: [
      'text_embeds',
      'last_hidden_state',
      ...Array.from({ length: 33 }, (_, i) => `hidden_states.${i}`),
    ],
  },
  unet: {
    inputs: ['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids'],
    outputs: ['out_sample'],
  },
  vae_decoder: { inputs: ['latent_sample'], outputs: ['sample'] },
  vae_encoder: { inputs: ['sample'], outputs: ['latent_sample'] },
};

describe.each(['optimum-fp32', 'webnn-q4', 'webnn-q4f32'] as const)(
  '%s replica at scale 0.05',
  (layout) => {
    const dir = path.join(root, layout);
    const summary = writeReplica(dir, { scale: SCALE, layout });
    const spec = LAYOUTS[layout];
    const floatType =
      spec.precision.float === 'fp16' ? TensorDataType.FLOAT16 : TensorDataType.FLOAT;

    it('has the export’s inputs, outputs, types and file layout', () => {
      for (const [graph, io] of Object.entries(EXPECTED_IO)) {
        const model = decodeModel(readFileSync(path.join(dir, graph, 'model.onnx')));
        expect(
          graphInputs(model).map((i) => i.name),
          graph,
        ).toEqual(io.inputs);
        expect(
          (model.graph.output ?? []).map((o) => o.name),
          graph,
        ).toEqual(io.outputs);
        for (const input of graphInputs(model)) {
          const expected =
            input.name !== 'input_ids'
              ? floatType
              : (graph === 'text_encoder' ? spec.ids.textEncoder : spec.ids.textEncoder2) ===
                  'int32'
                ? TensorDataType.INT32
                : TensorDataType.INT64;
          expect(input.elemType, `${graph} ${input.name}`).toBe(expected);
        }
        const external = summary.files.some((f) => f.path === `${graph}/model.onnx_data`);
        expect(external, `${graph} external data`).toBe(spec.external.has(graph));
      }
      expect(graphInputs(readFileSync(path.join(dir, MODEL_FILES.unet)))[2]!.dims).toEqual([
        'batch_size',
        'sequence_length',
        2048,
      ]);
    });

    it('holds the counted parameters, with torch-export operator patterns', () => {
      for (const [graph, count] of Object.entries(summary.parameters)) {
        const bytes = readFileSync(path.join(dir, graph, 'model.onnx'));
        expect(parametersInFile(bytes), graph).toBe(count);
      }
      const unetOps = operatorTypes(readFileSync(path.join(dir, MODEL_FILES.unet)));
      for (const op of [
        'InstanceNormalization',
        'LayerNormalization',
        'Softmax',
        'Erf',
        'Resize',
        'Sin',
        'Cos',
        'Split',
      ]) {
        expect(unetOps, op).toContain(`ai.onnx:${op}`);
      }
      const textOps = operatorTypes(readFileSync(path.join(dir, MODEL_FILES.textEncoder2)));
      if (spec.precision.matmul === 'q4') expect(textOps).toContain('com.microsoft:MatMulNBits');
      else expect(textOps).not.toContain('com.microsoft:MatMulNBits');
      expect(unetOps.includes('com.microsoft:MatMulNBits')).toBe(spec.precision.matmul === 'q4');
    });
  },
);

describe.each(['optimum-fp32', 'webnn-q4f32'] as const)(
  '%s replica in the Node runner',
  (layout) => {
    it(
      'generates a one-step image that depends on the prompt',
      async () => {
        const dir = path.join(root, layout);
        const model = await loadSdxlModel(directorySource(dir), nodeSessionFactory);
        try {
          expect(model.dtype).toBe('float32');
          const params = { prompt: 'a photo of a cat', seed: 7, steps: 1, width: 128, height: 128 };
          const a = await new TextToImagePipeline(model).generate(params);
          const b = await new TextToImagePipeline(model).generate({
            ...params,
            prompt: 'a red car',
          });
          expect(a.pixels.length).toBe(128 * 128 * 4);
          let differ = 0;
          const levels = new Set<number>();
          for (let i = 0; i < a.pixels.length; i++) {
            if (a.pixels[i] !== b.pixels[i]) differ++;
            levels.add(a.pixels[i]!);
          }
          expect(levels.size).toBeGreaterThan(50); // not a flat or NaN-black image
          expect(differ / a.pixels.length).toBeGreaterThan(0.1); // the prompt reaches the image
        } finally {
          await model.release();
        }
      },
      TIMEOUT_MS,
    );
  },
);

// The q4f16 UNet takes ~45 s to become a session on the wasm EP's CPU kernels (fp16 is cast
// around most of them), so the fp16 layout runs its text encoder and VAE decoder here; its
// UNet has the same structure as the q4f32 one that generates above.
describe('webnn-q4 (fp16) replica graphs in onnxruntime-web (wasm)', () => {
  it(
    'give finite fp16 outputs of the expected shapes',
    async () => {
      const dir = path.join(root, 'webnn-q4');
      const text = await nodeSessionFactory(
        'textEncoder',
        readFileSync(path.join(dir, MODEL_FILES.textEncoder)),
        [],
      );
      const ids = new Int32Array(77).fill(49407);
      ids.set([49406, 320, 1125, 539, 320, 2368, 49407]);
      const textOut = await text.run({ input_ids: { type: 'int32', data: ids, dims: [1, 77] } }, [
        'hidden_states.11',
        'pooler_output',
      ]);
      await text.release();
      const vae = await nodeSessionFactory(
        'vaeDecoder',
        readFileSync(path.join(dir, MODEL_FILES.vaeDecoder)),
        [],
      );
      const latent = new Uint16Array(4 * 8 * 8).fill(0x3c00); // 1.0 in fp16
      const image = await vae.run(
        { latent_sample: { type: 'float16', data: latent, dims: [1, 4, 8, 8] } },
        ['sample'],
      );
      await vae.release();
      expect(textOut['hidden_states.11']!.dims).toEqual([1, 77, 768]);
      expect(textOut.pooler_output!.dims).toEqual([1, 768]);
      expect(image.sample!.dims).toEqual([1, 3, 64, 64]);
      for (const tensor of [textOut['hidden_states.11']!, textOut.pooler_output!, image.sample!]) {
        expect(tensor.type).toBe('float16');
        const values = halfToFloat32(tensor.data as Uint16Array);
        expect(values.every(Number.isFinite)).toBe(true);
        expect(new Set(values).size).toBeGreaterThan(10);
      }
    },
    TIMEOUT_MS,
  );
});
