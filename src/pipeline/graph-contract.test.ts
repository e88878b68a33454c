/**
 * Model files that are not what the pipeline needs are refused from their bytes, before any
 * session (GPU work) is created for them, with a message naming the file and the problem.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTextEncoder,
  buildTextEncoder2,
  buildUnet,
  buildVaeDecoder,
  buildVaeEncoder,
} from '../../scripts/test-model/networks.ts';
import { GraphBuilder, type Dim } from '../../scripts/test-model/onnx-builder.ts';
import { writeModelSet } from '../../scripts/test-model/write-model-set.ts';
import { directorySource } from '../cli/node-model.ts';
import { checkGraphInputs } from './graph-contract.ts';
import type { GraphSession } from './graph-session.ts';
import { loadSdxlModel, type SessionFactory } from './model-loader.ts';
import { graphInputs } from './onnx/inspect.ts';
import { TensorDataType } from './onnx/schema.ts';
import { ModelFormatError } from './tensors.ts';

const F = TensorDataType.FLOAT;
const I64 = TensorDataType.INT64;

/** A graph that only declares inputs: enough for the contract, which reads nothing else. */
function graphWith(inputs: Array<[string, number, Dim[]]>): Uint8Array {
  const g = new GraphBuilder('hand-built', 'fp32');
  for (const [name, type, dims] of inputs) g.input(name, type, dims);
  return g.serialize().model;
}

const UNET_INPUTS: Array<[string, number, Dim[]]> = [
  ['sample', F, ['b', 4, 'h', 'w']],
  ['timestep', F, [1]],
  ['encoder_hidden_states', F, ['b', 77, 2048]],
  ['text_embeds', F, ['b', 1280]],
  ['time_ids', F, ['b', 6]],
];

const check = (graph: Parameters<typeof checkGraphInputs>[0], bytes: Uint8Array) => () =>
  checkGraphInputs(graph, 'm/file.onnx', graphInputs(bytes));

describe('graph input contract', () => {
  it('accepts every graph of the tiny fp32 and fp16 model sets', () => {
    for (const dtype of ['fp32', 'fp16'] as const) {
      const graphs = {
        textEncoder: buildTextEncoder(dtype, 'int32'),
        textEncoder2: buildTextEncoder2(dtype, 'int64'),
        unet: buildUnet(dtype),
        vaeDecoder: buildVaeDecoder(dtype),
        vaeEncoder: buildVaeEncoder(dtype),
      };
      for (const [name, builder] of Object.entries(graphs)) {
        expect(check(name as keyof typeof graphs, builder.serialize().model)).not.toThrow();
      }
    }
  });

  it('refuses a UNet without timestep, listing what it has', () => {
    const bytes = graphWith(UNET_INPUTS.filter(([name]) => name !== 'timestep'));
    expect(check('unet', bytes)).toThrow(ModelFormatError);
    expect(check('unet', bytes)).toThrow(
      'm/file.onnx has no input "timestep" (its inputs: sample, encoder_hidden_states, text_embeds, time_ids): it is not the unet of an SDXL export',
    );
  });

  it('refuses the wrong fixed sizes and ranks: SD 1.5 conditioning, 64 tokens, 3 time ids', () => {
    const sd15 = UNET_INPUTS.map(([n, t, d]): [string, number, Dim[]] =>
      n === 'encoder_hidden_states' ? [n, t, ['b', 77, 768]] : [n, t, d],
    );
    expect(check('unet', graphWith(sd15))).toThrow(
      'input "encoder_hidden_states" has shape [b, 77, 768], expected [*, 77, 2048]',
    );
    expect(check('textEncoder', graphWith([['input_ids', I64, [1, 64]]]))).toThrow(
      'm/file.onnx: input "input_ids" has shape [1, 64], expected [*, 77]',
    );
    expect(check('textEncoder2', graphWith([['input_ids', I64, [77]]]))).toThrow(
      'input "input_ids" has shape [77], expected [*, 77]',
    );
    const timeIds = UNET_INPUTS.map(([n, t, d]): [string, number, Dim[]] =>
      n === 'time_ids' ? [n, t, ['b', 3]] : [n, t, d],
    );
    expect(check('unet', graphWith(timeIds))).toThrow('input "time_ids" has shape [b, 3]');
  });

  it('refuses the wrong element types', () => {
    expect(check('textEncoder', graphWith([['input_ids', F, ['b', 77]]]))).toThrow(
      'input "input_ids" is float32, expected int32 or int64',
    );
    const intSample = UNET_INPUTS.map(([n, t, d]): [string, number, Dim[]] =>
      n === 'sample' ? [n, I64, d] : [n, t, d],
    );
    expect(check('unet', graphWith(intSample))).toThrow(
      'input "sample" is int64, expected float32 or float16',
    );
  });

  it('takes a VAE whose single input has another name, but not one with 3 latent channels', () => {
    expect(check('vaeDecoder', graphWith([['z', F, ['b', 4, 'h', 'w']]]))).not.toThrow();
    expect(check('vaeDecoder', graphWith([['z', F, ['b', 3, 'h', 'w']]]))).toThrow(
      'input "z" has shape [b, 3, h, w], expected [*, 4, *, *]',
    );
    expect(check('vaeDecoder', graphWith([]))).toThrow('(its inputs: none)');
  });
});

// Each test spoils one more file of the same set. The loader reads the tokenizers first, then
// the graphs in order (text encoders, UNet, VAE), so each test's file is the first bad one read.
describe('loading a model with a bad graph', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'graph-contract-'));
    writeModelSet(dir, 'fp32');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Records which graphs got a session; sessions are stand-ins (no runtime is needed). */
  function recordingFactory() {
    const created: string[] = [];
    const released: string[] = [];
    const factory: SessionFactory = async (graph) => {
      created.push(graph);
      const session: GraphSession = {
        inputs: [],
        outputs: [],
        run: () => Promise.reject(new Error('not run in this test')),
        release: async () => void released.push(graph),
      };
      return session;
    };
    return { factory, created, released };
  }

  it('refuses a UNet without timestep before its session, and releases the ones made', async () => {
    writeFileSync(
      path.join(dir, 'unet', 'model.onnx'),
      graphWith(UNET_INPUTS.filter(([name]) => name !== 'timestep')),
    );
    const { factory, created, released } = recordingFactory();
    const error = await loadSdxlModel(directorySource(dir), factory).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toMatch(/unet[/\\]model\.onnx has no input "timestep"/);
    expect(created).toEqual(['textEncoder', 'textEncoder2']); // never the UNet
    expect(released).toEqual(['textEncoder', 'textEncoder2']);
  });

  it('refuses a file that is not ONNX (an HTML page) before any session', async () => {
    writeFileSync(
      path.join(dir, 'text_encoder', 'model.onnx'),
      '<!doctype html><html><body>Not found</body></html>',
    );
    const { factory, created } = recordingFactory();
    const error = await loadSdxlModel(directorySource(dir), factory).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toMatch(
      /text_encoder[/\\]model\.onnx: Not an ONNX model: the file is an HTML or XML page/,
    );
    expect(created).toEqual([]);
  });

  it('refuses a tokenizer vocabulary that is not JSON, naming it', async () => {
    writeFileSync(path.join(dir, 'tokenizer', 'vocab.json'), '{"a": 1,');
    const { factory, created } = recordingFactory();
    await expect(loadSdxlModel(directorySource(dir), factory)).rejects.toThrow(
      /tokenizer[/\\]vocab\.json is not valid JSON/,
    );
    expect(created).toEqual([]);
  });
});
