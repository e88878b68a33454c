/**
 * Moving inline initializers to an external data file leaves the graph computing exactly the
 * same: the q4f32 webnn-layout replica's text encoder (MatMulNBits 4-bit weights) and VAE
 * decoder (uint8 convolutions through DequantizeLinear), run by onnxruntime-web's wasm backend
 * before and after the rewrite, give identical outputs.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReplica } from '../../../scripts/test-model/sdxl/write-replica.ts';
import {
  blobRangeReader,
  bytesRangeReader,
  externalDataBlob,
  moveInitializersToExternal,
  type ByteRangeReader,
} from './inline-to-external.ts';
import { decodeModel, externalDataFiles } from './inspect.ts';

ort.env.wasm.numThreads = 1;
const dir = mkdtempSync(path.join(tmpdir(), 'inline-to-external-'));
beforeAll(() => {
  writeReplica(dir, { scale: 0.05, layout: 'webnn-q4f32' });
}, 60_000);

/** Counts the bytes a reader hands out. */
function counting(reader: ByteRangeReader) {
  const counted = {
    bytesRead: 0,
    size: reader.size,
    read: async (start: number, end: number) => {
      const bytes = await reader.read(start, end);
      counted.bytesRead += bytes.byteLength;
      return bytes;
    },
  };
  return counted;
}

async function run(
  model: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  externalData: Array<{ path: string; data: Uint8Array }> = [],
) {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    externalData,
  });
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float32Array)]),
    );
  } finally {
    await session.release();
  }
}

const ids = new Int32Array(77).fill(49407);
ids.set([49406, 320, 1125, 539, 320, 2368, 49407]);
const latent = Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(i) * 3);

describe.each([
  ['text_encoder', { input_ids: new ort.Tensor('int32', ids, [1, 77]) }],
  ['vae_decoder', { latent_sample: new ort.Tensor('float32', latent, [1, 4, 8, 8]) }],
] as const)('%s moved to external data', (graph, feeds) => {
  it('computes identical outputs from a graph a fifth of the size or less', async () => {
    const inline = new Uint8Array(readFileSync(path.join(dir, graph, 'model.onnx')));
    expect(externalDataFiles(inline)).toEqual([]);
    const moved = await moveInitializersToExternal(bytesRangeReader(inline), 'weights.bin');
    expect(moved.movedTensors).toBeGreaterThan(20);
    expect(moved.model.byteLength).toBeLessThan(inline.byteLength / 5);
    expect(externalDataFiles(decodeModel(moved.model))).toEqual(['weights.bin']);
    const data = new Uint8Array(await externalDataBlob(inline, moved.dataParts).arrayBuffer());
    expect(data.byteLength).toBe(moved.dataBytes);
    const before = await run(inline, feeds);
    const after = await run(moved.model, feeds, [{ path: 'weights.bin', data }]);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const name of Object.keys(before)) expect(after[name], name).toEqual(before[name]);
  }, 120_000);
});

describe('a graph kept as a Blob (a stored model)', () => {
  it('is rewritten from its field headers alone, its weights left in place as Blob slices', async () => {
    const inline = new Uint8Array(readFileSync(path.join(dir, 'text_encoder_2', 'model.onnx')));
    const fromBytes = await moveInitializersToExternal(bytesRangeReader(inline), 'w.bin');
    // A small window, so that headers straddle windows and big fields bypass them.
    const reader = counting(blobRangeReader(new Blob([inline]), 512));
    const fromBlob = await moveInitializersToExternal(reader, 'w.bin');
    expect(Buffer.compare(fromBlob.model, fromBytes.model)).toBe(0);
    expect(fromBlob.dataParts).toEqual(fromBytes.dataParts);
    // What is read is the rewritten graph plus the headers, not the moved weights.
    expect(reader.bytesRead).toBeLessThan(fromBlob.model.byteLength * 3);
    expect(reader.bytesRead).toBeLessThan(inline.byteLength / 10);
    const blobData = externalDataBlob(new Blob([inline]), fromBlob.dataParts);
    const bytesData = externalDataBlob(inline, fromBytes.dataParts);
    expect(blobData.size).toBe(fromBlob.dataBytes);
    expect(
      Buffer.compare(
        new Uint8Array(await blobData.arrayBuffer()),
        new Uint8Array(await bytesData.arrayBuffer()),
      ),
    ).toBe(0);
  }, 60_000);

  it('is read whole when nothing in it is large enough to move', async () => {
    const inline = new Uint8Array(readFileSync(path.join(dir, 'text_encoder', 'model.onnx')));
    const moved = await moveInitializersToExternal(blobRangeReader(new Blob([inline])), 'w.bin', {
      minBytes: inline.byteLength,
    });
    expect(moved.movedTensors).toBe(0);
    expect(moved.dataParts).toEqual([]);
    expect(Buffer.compare(moved.model, inline)).toBe(0);
  });
});
