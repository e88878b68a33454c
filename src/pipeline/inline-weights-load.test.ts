/**
 * The loader moves a large inline graph's initializers into Blob external data (so the
 * runtime does not copy the whole graph into the wasm heap): with the threshold lowered to
 * 1 MiB, the tiny models' inline text encoders load that way and the image is identical to
 * the one from the graphs as stored.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { directorySource, nodeSessionFactory } from '../cli/node-model.ts';
import {
  INLINE_WEIGHTS_LOCATION,
  loadSdxlModel,
  type LoadOptions,
  type ModelSource,
  type SessionFactory,
} from './model-loader.ts';
import { toWorkerError } from '../worker/errors.ts';
import { TextToImagePipeline } from './text-to-image.ts';

const MiB = 2 ** 20;
const dir = mkdtempSync(path.join(tmpdir(), 'inline-weights-'));
beforeAll(() => {
  writeModelSet(dir, 'fp32');
}, 60_000);

async function imageWith(options: LoadOptions) {
  const seen: Record<string, { modelBytes: number; data: string[] }> = {};
  const factory: SessionFactory = (graph, model, data) => {
    seen[graph] = { modelBytes: model.byteLength, data: data.map((d) => d.path) };
    return nodeSessionFactory(graph, model, data);
  };
  const model = await loadSdxlModel(directorySource(dir), factory, () => {}, options);
  try {
    const params = { prompt: 'a photo of a cat', seed: 5, steps: 2, width: 128, height: 128 };
    return { pixels: (await new TextToImagePipeline(model).generate(params)).pixels, seen };
  } finally {
    await model.release();
  }
}

it('moves large inline graphs to Blob external data with an identical image', async () => {
  const stored = await imageWith({});
  const moved = await imageWith({ moveInlineAbove: MiB });
  for (const graph of ['textEncoder', 'textEncoder2']) {
    expect(stored.seen[graph]!.modelBytes, graph).toBeGreaterThan(2 * MiB);
    expect(stored.seen[graph]!.data, graph).toEqual([]);
    expect(moved.seen[graph]!.modelBytes, graph).toBeLessThan(MiB / 4);
    expect(moved.seen[graph]!.data, graph).toEqual([INLINE_WEIGHTS_LOCATION]);
  }
  expect(moved.seen['unet']!.data).toEqual(['model.onnx_data']); // already external: as it was
  expect(Buffer.compare(Buffer.from(moved.pixels), Buffer.from(stored.pixels))).toBe(0);
}, 120_000);

/** A Blob whose bytes the browser will not hand back (an off-the-record profile's limit). */
class UnreadableBlob extends Blob {
  override slice(): Blob {
    const failing = new Blob();
    failing.arrayBuffer = () =>
      Promise.reject(new DOMException('The requested file could not be read', 'NotReadableError'));
    return failing;
  }
}

it('a large graph the browser cannot read back fails as unreadable storage, naming the file', async () => {
  const base = directorySource(dir);
  const source: ModelSource = {
    ...base,
    readBlob: async (file) =>
      new UnreadableBlob([(await base.readBytes(file)) as Uint8Array<ArrayBuffer>]),
  };
  const error = await loadSdxlModel(source, nodeSessionFactory, () => {}, {
    moveInlineAbove: MiB,
  }).catch((e: unknown) => e);
  expect(toWorkerError(error)).toMatchObject({
    code: 'storage-unreadable',
    message: expect.stringContaining('text_encoder/model.onnx'),
  });
}, 60_000);
