/**
 * "Load without storing" of files larger than one buffer: with an injected buffer limit below
 * the UNet's and text_encoder_2's external data, a small-scale SDXL replica loads and runs;
 * the external data reaches the runtime as Blobs gathered piece by piece, and a graph over the
 * limit is refused with a message instead of an allocation failure.
 */
import { createReadStream, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeAll, expect, it, vi } from 'vitest';
import { writeReplica } from '../../scripts/test-model/sdxl/write-replica.ts';
import { nodeSessionFactory } from '../cli/node-model.ts';
import { loadSdxlModel, type SessionFactory } from '../pipeline/model-loader.ts';
import { TextToImagePipeline } from '../pipeline/text-to-image.ts';
import { DownloadError, fetchSource } from './fetch-source.ts';

const MiB = 2 ** 20;
const BUFFER_LIMIT = 8 * MiB;
const dir = mkdtempSync(path.join(tmpdir(), 'fetch-stream-'));
const base = new URL('http://models.test/replica/');

beforeAll(() => {
  writeReplica(dir, { scale: 0.05, layout: 'optimum-fp32' });
}, 60_000);
afterEach(() => vi.unstubAllGlobals());

/** fetch() answered from the replica's directory, streamed in the file system's chunks. */
function serveDirectory() {
  vi.stubGlobal('fetch', async (url: string) => {
    const file = path.join(
      dir,
      decodeURIComponent(new URL(url).pathname.slice(base.pathname.length)),
    );
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    return new Response(body, { headers: { 'Content-Length': String(statSync(file).size) } });
  });
}

it('loads and runs a model whose external data is larger than the buffer limit', async () => {
  serveDirectory();
  const unetData = statSync(path.join(dir, 'unet/model.onnx_data')).size;
  expect(unetData).toBeGreaterThan(BUFFER_LIMIT * 4);
  const source = fetchSource(base, undefined, {
    maxBufferBytes: BUFFER_LIMIT,
    blobPieceBytes: MiB,
  });
  const received = new Map<string, number>();
  const factory: SessionFactory = async (graph, model, data) => {
    expect(model.byteLength).toBeLessThanOrEqual(BUFFER_LIMIT);
    for (const file of data) {
      expect(file.data).toBeInstanceOf(Blob);
      received.set(`${graph}/${file.path}`, (file.data as Blob).size);
    }
    return nodeSessionFactory(graph, model, data);
  };
  const model = await loadSdxlModel(source, factory);
  try {
    expect(received.get('unet/model.onnx_data')).toBe(unetData);
    expect(received.get('textEncoder2/model.onnx_data')).toBeGreaterThan(BUFFER_LIMIT);
    const image = await new TextToImagePipeline(model).generate({
      prompt: 'a photo of a cat',
      seed: 3,
      steps: 1,
      width: 64,
      height: 64,
    });
    expect(new Set(image.pixels).size).toBeGreaterThan(20);
  } finally {
    await model.release();
  }
}, 240_000);

it('gives the runtime the file’s exact bytes as a Blob', async () => {
  serveDirectory();
  const source = fetchSource(base, undefined, {
    maxBufferBytes: BUFFER_LIMIT,
    blobPieceBytes: MiB,
  });
  const blob = await source.readBlob('text_encoder_2/model.onnx_data');
  const bytes = new Uint8Array(await blob.arrayBuffer());
  expect(
    Buffer.compare(bytes, readFileSync(path.join(dir, 'text_encoder_2/model.onnx_data'))),
  ).toBe(0);
});

it('refuses to read a file over the buffer limit into one buffer', async () => {
  serveDirectory();
  const source = fetchSource(base, undefined, { maxBufferBytes: MiB });
  await expect(source.readBytes('text_encoder/model.onnx')).rejects.toThrow(DownloadError);
  await expect(source.readBytes('text_encoder/model.onnx')).rejects.toThrow(
    /more than one buffer holds/,
  );
});
