/**
 * gpu-fit's image size limit against the real attention shapes of the SDXL replica
 * (scripts/test-model/sdxl): the VAE decoder's mid-block attention, run in onnxruntime-web with
 * its Softmax exposed, has one score matrix of (h/8·w/8)² values, exactly the size
 * attentionScoreBytes computes; the UNet's attentions, measured the same way, have 64-wide heads
 * over h/16·w/16 and h/32·w/32 tokens (self) and 77 keys (cross). With the full-size head
 * counts (640 and 1280 channels), the UNet's largest score tensor stays below the VAE's at every
 * size, so the VAE decoder's attention is the one that sets the limit, as gpu-fit assumes.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReplica } from '../../scripts/test-model/sdxl/write-replica.ts';
import { unetConfig } from '../../scripts/test-model/sdxl/unet.ts';
import { ModelProto, valueInfo, TensorDataType } from '../pipeline/onnx/schema.ts';
import { decodeModel } from '../pipeline/onnx/inspect.ts';
import { attentionScoreBytes, imageSizeLimit } from './gpu-fit.ts';

ort.env.wasm.numThreads = 1;
const dir = mkdtempSync(path.join(tmpdir(), 'gpu-fit-replica-'));
beforeAll(() => {
  writeReplica(dir, { scale: 0.05, layout: 'optimum-fp32' });
}, 60_000);

/** The graph with every Softmax output (the attention scores) added as a graph output. */
function exposeSoftmax(file: string): { model: Uint8Array; scores: string[] } {
  const model = structuredClone(decodeModel(new Uint8Array(readFileSync(file))));
  const scores = (model.graph.node ?? [])
    .filter((n) => n.opType === 'Softmax')
    .map((n) => n.output![0]!);
  model.graph.output = [
    ...(model.graph.output ?? []),
    ...scores.map((s) => valueInfo(s, TensorDataType.FLOAT, [])),
  ];
  model.graph.output.forEach((o) => delete o.type!.tensorType!.shape);
  return { model: ModelProto.encode(ModelProto.fromObject(model)).finish(), scores };
}

async function scoreShapes(
  graph: string,
  feeds: Record<string, ort.Tensor>,
  externalData: Array<{ path: string; data: Uint8Array }> = [],
): Promise<number[][]> {
  const { model, scores } = exposeSoftmax(path.join(dir, graph, 'model.onnx'));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    externalData,
  });
  try {
    const out = await session.run(feeds, scores);
    return scores.map((s) => [...out[s]!.dims]);
  } finally {
    await session.release();
  }
}

const zeros = (dims: number[]) =>
  new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);

describe('image size limit against the replica’s attention', () => {
  it('the VAE decoder has one attention whose scores match attentionScoreBytes', async () => {
    const [h, w] = [96, 64]; // image pixels: a 12 x 8 latent
    const shapes = await scoreShapes('vae_decoder', { latent_sample: zeros([1, 4, h / 8, w / 8]) });
    expect(shapes).toEqual([[1, 1, 96, 96]]);
    expect(shapes[0]!.reduce((a, b) => a * b, 1) * 4).toBe(attentionScoreBytes(w, h, 4));
    const limit = imageSizeLimit(
      new Uint8Array(readFileSync(path.join(dir, 'vae_decoder/model.onnx'))),
      {
        webgpu: true,
        shaderF16: false,
        adapter: 'swiftshader',
        maxBufferSize: 2 ** 30,
        maxStorageBufferBindingSize: 2 ** 30,
      },
    );
    // 1 GiB of fp32 scores: 16384 latent tokens, 1024 x 1024 pixels.
    expect(limit?.maxPixels).toBe(1024 * 1024);
  }, 120_000);

  it('the UNet’s attentions are over h/16·w/16 and h/32·w/32 tokens, and smaller than the VAE’s', async () => {
    const [h, w] = [128, 64];
    const shapes = await scoreShapes(
      'unet',
      {
        sample: zeros([1, 4, h / 8, w / 8]),
        timestep: new ort.Tensor('float32', Float32Array.of(999), [1]),
        encoder_hidden_states: zeros([1, 77, 2048]),
        text_embeds: zeros([1, 1280]),
        time_ids: new ort.Tensor('float32', Float32Array.of(h, w, 0, 0, h, w), [1, 6]),
      },
      [
        {
          path: 'model.onnx_data',
          data: new Uint8Array(readFileSync(path.join(dir, 'unet/model.onnx_data'))),
        },
      ],
    );
    const tokens = new Set(shapes.map((s) => `${s[2]}x${s[3]}`));
    const t1 = (h / 16) * (w / 16);
    const t2 = (h / 32) * (w / 32);
    expect(tokens).toEqual(new Set([`${t1}x${t1}`, `${t1}x77`, `${t2}x${t2}`, `${t2}x77`]));
    // 2 transformer blocks x 2 attentions x (2 down + 3 up) at 640; 10 x 2 x (2 + 1 + 3) at 1280.
    expect(shapes).toHaveLength(2 * 2 * 5 + 10 * 2 * 6);

    // Full size: heads = channels / 64.
    const [, c1, c2] = unetConfig(1).channels;
    for (const side of [512, 768, 1024, 1536, 2048]) {
      const unet =
        Math.max((c1 / 64) * ((side / 16) ** 2) ** 2, (c2 / 64) * ((side / 32) ** 2) ** 2) * 4;
      expect(unet, `${side}`).toBeLessThan(attentionScoreBytes(side, side, 4));
    }
  }, 180_000);
});
