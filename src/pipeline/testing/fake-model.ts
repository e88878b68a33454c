/**
 * A stand-in SDXL model for unit tests of the code around the pipeline (worker engine,
 * scheduling). Graph outputs are constant; real numerics are tested on real ONNX graphs.
 */
import { DEFAULT_FAMILY } from '../families/registry.ts';
import type { GraphSession, HostTensor, ValueInfo } from '../graph-session.ts';
import type { LoadedModel } from '../model-loader.ts';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.ts';

type OutputShape = (feeds: Record<string, HostTensor>) => number[];

function fakeSession(
  inputs: ValueInfo[],
  outputs: Array<{ name: string; shape: OutputShape }>,
  onRun?: (feeds: Record<string, HostTensor>) => void | Promise<void>,
): GraphSession {
  return {
    inputs,
    outputs: outputs.map((o) => ({ name: o.name, type: 'float32', shape: null })),
    async run(feeds, names) {
      await onRun?.(feeds);
      const result: Record<string, HostTensor> = {};
      for (const name of names) {
        const out = outputs.find((o) => o.name === name);
        if (!out) throw new Error(`fake session has no output ${name}`);
        const dims = out.shape(feeds);
        result[name] = {
          type: 'float32',
          dims,
          data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.1),
        };
      }
      return result;
    },
    async release() {},
  };
}

const f32 = (name: string, shape: ValueInfo['shape'] = null): ValueInfo => ({
  name,
  type: 'float32',
  shape,
});

export type FakeGraph =
  'textEncoder' | 'textEncoder2' | 'unet' | 'vaeDecoder' | 'vaeEncoder' | 'taesdDecoder';

export interface FakeModelHooks {
  /** Called on every graph run, e.g. to count runs or to take a controlled time. */
  onRun?: (graph: FakeGraph) => void | Promise<void>;
  released?: () => void;
  /** A model set without vae_encoder (text-to-image only). */
  withoutVaeEncoder?: boolean;
  /** A model set with TAESDXL weights (previews). */
  withTaesd?: boolean;
}

export function fakeModel(hooks: FakeModelHooks = {}): LoadedModel {
  // Ids follow the text (one per character), so the prompt cache sees different prompts.
  const encode = (text: string) =>
    Array.from({ length: 77 }, (_, i) => text.toLowerCase().trim().charCodeAt(i) || 49407);
  const tokenizer = { encode } as unknown as ClipTokenizer;
  const ids: ValueInfo = { name: 'input_ids', type: 'int64', shape: [1, 77] };
  return {
    dtype: 'float32',
    family: DEFAULT_FAMILY,
    tokenizer,
    tokenizer2: tokenizer,
    textEncoder: fakeSession([ids], [{ name: 'hidden_states.11', shape: () => [1, 77, 768] }], () =>
      hooks.onRun?.('textEncoder'),
    ),
    textEncoder2: fakeSession(
      [ids],
      [
        { name: 'hidden_states.31', shape: () => [1, 77, 1280] },
        { name: 'text_embeds', shape: () => [1, 1280] },
      ],
      () => hooks.onRun?.('textEncoder2'),
    ),
    unet: fakeSession(
      [
        f32('sample'),
        f32('timestep', [1]),
        f32('encoder_hidden_states'),
        f32('text_embeds'),
        f32('time_ids'),
      ],
      [{ name: 'out_sample', shape: (feeds) => [...(feeds['sample']?.dims ?? [])] }],
      () => hooks.onRun?.('unet'),
    ),
    vaeDecoder: fakeSession(
      [f32('latent_sample')],
      [
        {
          name: 'sample',
          shape: (feeds) => {
            const [, , h = 0, w = 0] = feeds['latent_sample']?.dims ?? [];
            return [1, 3, h * 8, w * 8];
          },
        },
      ],
      () => hooks.onRun?.('vaeDecoder'),
    ),
    vaeEncoder: hooks.withoutVaeEncoder
      ? undefined
      : fakeSession(
          [f32('sample')],
          [
            {
              name: 'latent_sample',
              shape: (feeds) => {
                const [, , h = 0, w = 0] = feeds['sample']?.dims ?? [];
                return [1, 4, h / 8, w / 8];
              },
            },
          ],
          () => hooks.onRun?.('vaeEncoder'),
        ),
    vaeEncoderMissing: hooks.withoutVaeEncoder ? 'vae_encoder/model.onnx: absent' : null,
    ...(hooks.withTaesd
      ? {
          taesdDecoder: fakeSession(
            [f32('latent_sample')],
            [
              {
                name: 'sample',
                shape: (feeds) => {
                  const [, , h = 0, w = 0] = feeds['latent_sample']?.dims ?? [];
                  return [1, 3, h * 8, w * 8];
                },
              },
            ],
            () => hooks.onRun?.('taesdDecoder'),
          ),
        }
      : {}),
    async release() {
      hooks.released?.();
    },
  };
}
