/**
 * A graph's bytes are decoded once per load: the loader's contract checks and the WebGPU
 * pre-session checks (operators, fp16, buffer limits, the image size limit) all read the same
 * decoded model. Counted on the tiny model set loaded through the real loader.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { directorySource, nodeSessionFactory } from '../cli/node-model.ts';
import { loadSdxlModel, type SessionFactory } from '../pipeline/model-loader.ts';
import { decodeCount } from '../pipeline/onnx/inspect.ts';
import type { Capabilities } from '../protocol/messages.ts';
import { imageSizeLimit } from './gpu-fit.ts';
import { checkGraphForWebGpu } from './webgpu-graph-checks.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'decode-once-'));
beforeAll(() => {
  writeModelSet(dir, 'fp32');
}, 60_000);

const caps: Capabilities = {
  webgpu: true,
  shaderF16: false,
  adapter: 'test',
  maxBufferSize: 1 << 30,
  maxStorageBufferBindingSize: 1 << 30,
};

it('decodes each graph once per load, whatever checks read it', async () => {
  const decodedPerGraph = new Map<string, number>();
  const factory: SessionFactory = async (graph, model, data) => {
    const before = decodeCount();
    checkGraphForWebGpu(graph, model, caps);
    if (graph === 'vaeDecoder') imageSizeLimit(model, caps);
    decodedPerGraph.set(graph, decodeCount() - before);
    return nodeSessionFactory(graph, model, data);
  };
  const before = decodeCount();
  const model = await loadSdxlModel(directorySource(dir), factory);
  await model.release();
  // One decode per graph: the five model graphs in the loader (their checks reuse it), and the
  // TAESDXL decoder, which the loader builds rather than reads, in its checks.
  expect(Object.fromEntries(decodedPerGraph)).toEqual({
    textEncoder: 0,
    textEncoder2: 0,
    unet: 0,
    vaeDecoder: 0,
    vaeEncoder: 0,
    taesdDecoder: 1,
  });
  expect(decodeCount() - before).toBe(decodedPerGraph.size);
}, 60_000);
