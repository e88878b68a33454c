/**
 * The weights-heavy set at a small size (three 1 MiB tensors): one external data file holding
 * the big tensors, every one read by a node, and the Node runner's image identical to the plain
 * tiny fp32 set's.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directorySource, nodeSessionFactory } from '../../src/cli/node-model.ts';
import { loadSdxlModel } from '../../src/pipeline/model-loader.ts';
import { decodeModel, externalDataFiles } from '../../src/pipeline/onnx/inspect.ts';
import { DataLocation, int64ToNumber } from '../../src/pipeline/onnx/schema.ts';
import { TextToImagePipeline } from '../../src/pipeline/text-to-image.ts';
import { heavyTensorName, writeHeavyModelSet, type HeavySpec } from './heavy-unet.ts';
import { UNET_EXTERNAL_DATA, writeModelSet } from './write-model-set.ts';

const SPEC: HeavySpec = { tensors: 3, tensorBytes: 2 ** 20 };
const root = mkdtempSync(path.join(tmpdir(), 'heavy-unet-'));
const dirs = { plain: path.join(root, 'plain'), heavy: path.join(root, 'heavy') };

beforeAll(() => {
  writeModelSet(dirs.plain, 'fp32');
  writeHeavyModelSet(dirs.heavy, SPEC);
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the weights-heavy UNet', () => {
  it('keeps every weight, the big tensors included, in one external data file', () => {
    const unetDir = path.join(dirs.heavy, 'unet');
    expect(readdirSync(unetDir).sort()).toEqual(['model.onnx', UNET_EXTERNAL_DATA]);
    const model = decodeModel(readFileSync(path.join(unetDir, 'model.onnx')));
    expect(externalDataFiles(model)).toEqual([UNET_EXTERNAL_DATA]);
    const data = readFileSync(path.join(unetDir, UNET_EXTERNAL_DATA));
    for (let i = 0; i < SPEC.tensors; i++) {
      const tensor = model.graph.initializer?.find((t) => t.name === heavyTensorName(i));
      expect(tensor?.dataLocation).toBe(DataLocation.EXTERNAL);
      const entry = (key: string) => tensor?.externalData?.find((e) => e.key === key)?.value;
      expect(entry('location')).toBe(UNET_EXTERNAL_DATA);
      expect(Number(entry('length'))).toBe(SPEC.tensorBytes);
      expect((tensor?.dims ?? []).reduce<number>((n, d) => n * int64ToNumber(d), 4)).toBe(
        SPEC.tensorBytes,
      );
      // Written, finite and not all zero (so a read of the wrong bytes would show).
      const offset = Number(entry('offset'));
      const values = new Float32Array(
        data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + SPEC.tensorBytes),
      );
      expect(values.every(Number.isFinite)).toBe(true);
      expect(values.some((v) => v !== 0)).toBe(true);
    }
    expect(data.length).toBeGreaterThan(SPEC.tensors * SPEC.tensorBytes);
  });

  it('reads every big tensor in a node (none is dead weight)', () => {
    const model = decodeModel(readFileSync(path.join(dirs.heavy, 'unet/model.onnx')));
    const read = new Set((model.graph.node ?? []).flatMap((n) => n.input ?? []));
    const big = (model.graph.initializer ?? [])
      .map((t) => t.name ?? '')
      .filter((n) => n.startsWith('heavy.'));
    expect(big).toEqual(Array.from({ length: SPEC.tensors }, (_, i) => heavyTensorName(i)));
    for (const name of big) expect(read.has(name)).toBe(true);
  });

  it("gives the plain tiny set's image, byte for byte, in the Node runner", async () => {
    const params = { prompt: 'a photo of a cat', seed: 42, steps: 1, width: 128, height: 128 };
    const images: Uint8ClampedArray[] = [];
    // One model at a time: onnxruntime-web 1.30 cannot create sessions with external data in parallel.
    for (const dir of [dirs.plain, dirs.heavy]) {
      const model = await loadSdxlModel(directorySource(dir), nodeSessionFactory);
      images.push((await new TextToImagePipeline(model).generate(params)).pixels);
      await model.release();
    }
    const [plain, heavy] = images;
    expect(heavy!.length).toBe(128 * 128 * 4);
    expect(new Set(plain).size).toBeGreaterThan(10); // a real image, not a flat one
    expect(Buffer.compare(Buffer.from(heavy!), Buffer.from(plain!))).toBe(0);
  }, 120_000);
});
