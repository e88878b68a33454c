/**
 * Re-sharding: the rewritten graph names slices of the original external data, each under the
 * limit and holding whole tensors, and onnxruntime-web computes exactly the same outputs from
 * the slices (passed as Blob slices, as the browser loader does) as from the unsplit file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import protobuf from 'protobufjs/light';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNET_EXTERNAL_DATA, writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { externalDataFiles } from '../pipeline/onnx/inspect.ts';
import {
  DataLocation,
  ModelProto,
  TensorDataType,
  type Model,
  type Tensor,
} from '../pipeline/onnx/schema.ts';
import { externalTensorRefs, reshardExternalData, reshardingSessionFactory } from './reshard.ts';
import { randn } from '../../scripts/test-model/random.ts';

ort.env.wasm.numThreads = 1;
const TIMEOUT_MS = 60_000;

let dir = '';
let unetModel: Uint8Array;
let unetData: Uint8Array<ArrayBuffer>;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'reshard-test-'));
  writeModelSet(dir, 'fp32');
  unetModel = new Uint8Array(readFileSync(path.join(dir, 'unet/model.onnx')));
  unetData = new Uint8Array(readFileSync(path.join(dir, 'unet', UNET_EXTERNAL_DATA)));
}, TIMEOUT_MS);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function unetFeeds(): Record<string, ort.Tensor> {
  return {
    sample: new ort.Tensor('float32', randn(1, 4 * 8 * 12), [1, 4, 8, 12]),
    timestep: new ort.Tensor('float32', Float32Array.from([999]), [1]),
    encoder_hidden_states: new ort.Tensor('float32', randn(2, 77 * 2048), [1, 77, 2048]),
    text_embeds: new ort.Tensor('float32', randn(3, 1280), [1, 1280]),
    time_ids: new ort.Tensor('float32', Float32Array.from([64, 96, 0, 0, 64, 96]), [1, 6]),
  };
}

/** Creates a session, runs the UNet once and releases it (sessions one at a time: see below). */
async function runUnet(
  model: Uint8Array,
  externalData: Array<{ path: string; data: Uint8Array | Blob }>,
): Promise<Float32Array> {
  // onnxruntime-web 1.30 in Node mounts external data in one global table that a finishing
  // session creation clears: concurrent creates with external data fail. Tests run in series.
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    externalData,
  });
  try {
    const out = await session.run(unetFeeds());
    return out['out_sample']!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('reshardExternalData', () => {
  it(
    'splits the UNet weights into slices under the limit that give exactly the same outputs',
    async () => {
      const refs = externalTensorRefs(unetModel);
      const largest = Math.max(...refs.map((r) => r.length));
      const limit = Math.max(largest, Math.ceil(unetData.byteLength / 5));
      const plan = reshardExternalData(
        unetModel,
        { [UNET_EXTERNAL_DATA]: unetData.byteLength },
        limit,
      );

      expect(plan.changed).toBe(true);
      expect(plan.files.length).toBeGreaterThanOrEqual(3);
      plan.files.forEach((slice, index) => {
        expect(slice).toMatchObject({
          path: `${UNET_EXTERNAL_DATA}.shard${index}`,
          source: UNET_EXTERNAL_DATA,
        });
        expect(slice.end - slice.start).toBeLessThanOrEqual(limit);
      });
      // Every tensor lies whole inside the slice it names, and nothing refers to the old file.
      const sizes = new Map(plan.files.map((s) => [s.path, s.end - s.start]));
      const moved = externalTensorRefs(plan.model);
      expect(moved).toHaveLength(refs.length);
      for (const ref of moved)
        expect(ref.offset + ref.length).toBeLessThanOrEqual(sizes.get(ref.location)!);
      expect(externalDataFiles(plan.model)).toEqual(plan.files.map((s) => s.path));
      // Tensor for tensor, the slice holds the same bytes the original offset pointed at.
      const byPath = new Map(plan.files.map((s) => [s.path, s]));
      refs.forEach((ref, i) => {
        const now = moved[i]!;
        const slice = byPath.get(now.location)!;
        expect(
          unetData.subarray(slice.start + now.offset, slice.start + now.offset + now.length),
        ).toEqual(unetData.subarray(ref.offset, ref.offset + ref.length));
      });

      const whole = await runUnet(unetModel, [{ path: UNET_EXTERNAL_DATA, data: unetData }]);
      const blob = new Blob([unetData]);
      const sharded = await runUnet(
        plan.model,
        plan.files.map((s) => ({ path: s.path, data: blob.slice(s.start, s.end) })),
      );
      expect(sharded.length).toBe(whole.length);
      expect(sharded).toEqual(whole);
    },
    TIMEOUT_MS,
  );

  it('keeps the graph as it is when no file is over the limit', () => {
    const plan = reshardExternalData(unetModel, { [UNET_EXTERNAL_DATA]: unetData.byteLength });
    expect(plan.changed).toBe(false);
    expect(plan.model).toBe(unetModel);
    expect(plan.files).toEqual([
      { path: UNET_EXTERNAL_DATA, source: UNET_EXTERNAL_DATA, start: 0, end: unetData.byteLength },
    ]);
  });

  it('copies every byte it does not rewrite, fields unknown to our schema included', () => {
    // ModelProto.model_version (field 5) and domain (4) are not in src/pipeline/onnx/schema.ts:
    // a decode/encode round trip would drop them.
    const extra = Uint8Array.from([5 << 3, 42, (4 << 3) | 2, 3, 0x61, 0x62, 0x63]);
    const model = new Uint8Array(unetModel.byteLength + extra.byteLength);
    model.set(unetModel);
    model.set(extra, unetModel.byteLength);
    const plan = reshardExternalData(model, { [UNET_EXTERNAL_DATA]: unetData.byteLength }, 300_000);
    expect(plan.changed).toBe(true);
    expect(plan.model.subarray(plan.model.byteLength - extra.byteLength)).toEqual(extra);

    // Decoded, the two graphs differ only in the external-data entries.
    const strip = (bytes: Uint8Array) => {
      const decoded = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number }) as Model;
      for (const t of decoded.graph?.initializer ?? []) delete t.externalData;
      return decoded;
    };
    expect(strip(plan.model)).toEqual(strip(model));
  });

  it('finds external tensors in node attributes and subgraphs', () => {
    const external = (name: string, offset: number): Tensor => ({
      name,
      dims: [2],
      dataType: TensorDataType.FLOAT,
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: 'w.bin' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: '8' },
        { key: 'checksum', value: 'kept' },
      ],
    });
    // Built field by field: our schema has no AttributeProto.g (field 6), so protobufjs could
    // not encode the If body; the rewrite must find the tensor inside it all the same.
    const type = (name: string) => ModelProto.root.lookupType(`onnx.${name}`);
    const subgraph = type('GraphProto')
      .encode({ name: 'then', initializer: [external('nested', 16)] })
      .finish();
    const thenBranch = concat(
      type('AttributeProto').encode({ name: 'then_branch', type: 5 }).finish(),
      field(6, subgraph),
    );
    const ifNode = concat(
      type('NodeProto')
        .encode({ opType: 'If', input: ['cond'], output: ['y'] })
        .finish(),
      field(5, thenBranch),
    );
    const constNode = {
      opType: 'Constant',
      output: ['c'],
      attribute: [{ name: 'value', type: 4, t: external('const', 8) }],
    };
    const graph = concat(
      type('GraphProto')
        .encode({ name: 'g', initializer: [external('init', 0)], node: [constNode] })
        .finish(),
      field(1, ifNode),
    );
    const model = concat(ModelProto.encode({ irVersion: 8 }).finish(), field(7, graph));
    const plan = reshardExternalData(model, { 'w.bin': 24 }, 8);
    expect(plan.files).toEqual([
      { path: 'w.bin.shard0', source: 'w.bin', start: 0, end: 8 },
      { path: 'w.bin.shard1', source: 'w.bin', start: 8, end: 16 },
      { path: 'w.bin.shard2', source: 'w.bin', start: 16, end: 24 },
    ]);
    expect(
      externalTensorRefs(plan.model).sort((a, b) => a.location.localeCompare(b.location)),
    ).toEqual([
      { name: 'init', location: 'w.bin.shard0', offset: 0, length: 8 },
      { name: 'const', location: 'w.bin.shard1', offset: 0, length: 8 },
      { name: 'nested', location: 'w.bin.shard2', offset: 0, length: 8 },
    ]);
    expect(new TextDecoder().decode(plan.model)).toContain('kept');
  });

  it('refuses a tensor larger than the limit, and a file it was not given', () => {
    const largest = Math.max(...externalTensorRefs(unetModel).map((r) => r.length));
    expect(() =>
      reshardExternalData(unetModel, { [UNET_EXTERNAL_DATA]: unetData.byteLength }, largest - 1),
    ).toThrow(/ONNX tensor .* is \d+ bytes, more than the \d+-byte shard limit/);
    expect(() => reshardExternalData(unetModel, { 'other.bin': 10 })).toThrow(
      /names model\.onnx_data, which was not given/,
    );
    expect(() => reshardExternalData(unetModel, { [UNET_EXTERNAL_DATA]: 100 })).toThrow(
      /reaches past the end/,
    );
  });
});

/** A length-delimited protobuf field. */
function field(number: number, bytes: Uint8Array): Uint8Array {
  return concat(
    protobuf.Writer.create()
      .uint32((number << 3) | 2)
      .uint32(bytes.byteLength)
      .finish(),
    bytes,
  );
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.byteLength), 0);
  return out;
}

describe('reshardingSessionFactory', () => {
  it('passes small files through and hands large ones over as slices of the same data', async () => {
    const calls: Array<{ model: Uint8Array; files: Array<{ path: string; data: Blob }> }> = [];
    const factory = reshardingSessionFactory(
      async (_graph: string, model: Uint8Array, files: Array<{ path: string; data: Blob }>) => {
        calls.push({ model, files });
        return 'session';
      },
      300_000,
    );
    const blob = new Blob([unetData]);
    await factory('vaeDecoder', unetModel, [
      { path: UNET_EXTERNAL_DATA, data: blob.slice(0, 200_000) },
    ]);
    expect(calls[0]!.model).toBe(unetModel);
    expect(calls[0]!.files[0]!.path).toBe(UNET_EXTERNAL_DATA);

    await factory('unet', unetModel, [{ path: UNET_EXTERNAL_DATA, data: blob }]);
    const { model, files } = calls[1]!;
    expect(model).not.toBe(unetModel);
    expect(files.map((f) => f.path)).toEqual(externalDataFiles(model));
    expect(files.every((f) => f.data instanceof Blob && f.data.size <= 300_000)).toBe(true);
  });
});
