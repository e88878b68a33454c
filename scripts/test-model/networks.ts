/**
 * The tiny SDXL-shaped networks of the test model set. They have the input and output names,
 * dtypes and shapes of diffusers/optimum SDXL exports, random weights from a fixed seed, and
 * just enough structure that the final image depends clearly on the prompt and on the noise:
 *
 * - text encoders: token + position embeddings, a causal attention that ignores padding (so
 *   every position after the prompt summarizes it), then small MatMul/Tanh layers;
 * - UNet: a conditioning vector from the pooled text, text_embeds, time_ids and a sinusoidal
 *   timestep embedding, added per channel and as a coarse 8x8 map resized to the latent size,
 *   into three 3x3 convolutions over the sample, plus a skip: eps = 0.9 * sample + f;
 * - VAE decoder: two 3x3 convolutions on the latents, a 1x1 convolution to RGB, a x8 linear
 *   Resize and Tanh; VAE encoder: 8x8 average pooling and two 1x1 convolutions.
 *
 * Only plain ai.onnx opset 17 operators that onnxruntime-web's WebGPU EP runs in fp32 and fp16.
 */
import { TensorDataType } from '../../src/pipeline/onnx/schema.ts';
import { GraphBuilder, attr, type FloatType } from './onnx-builder.ts';
import { randn } from './random.ts';

export const VOCAB_SIZE = 49408;
export const SEQUENCE_LENGTH = 77;
const BOS_ID = 49406;
const EOS_ID = 49407;
const EXCLAMATION_ID = 0; // '!', tokenizer_2's padding token

/** Width of the token embeddings; small, since the tables dominate the set's size. */
const EMBED = 8;
/** Width of the text encoders' hidden layers before projection to 768 / 1280. */
const TEXT_HIDDEN = 32;
/** UNet: channels of the convolutions, width of the conditioning vector, timestep frequencies. */
const UNET_CHANNELS = 32;
const UNET_COND = 32;
const UNET_FREQS = 8;
/** Side of the UNet's coarse prompt-dependent map, resized to the latent size. */
const UNET_MAP = 8;
/** out_sample = UNET_SKIP * sample + f (see buildUnet). */
const UNET_SKIP = 1;
/** Gain of the coarse map: makes the prompt's large-scale structure visible over the noise. */
const UNET_MAP_GAIN = 2;
const VAE_CHANNELS = 16;
const VAE_ENCODER_CHANNELS = 8;

/** FNV-1a of a string: a stable seed per tensor, independent of creation order. */
function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Random weights N(0, std^2), seeded by graph and tensor name. */
function normalWeight(g: GraphBuilder, name: string, dims: number[], std: number): string {
  const count = dims.reduce((a, b) => a * b, 1);
  return g.weight(name, dims, randn(seedOf(`${g.name}/${name}`), count, std));
}

/** A dense layer's weight [inputs, outputs] with N(0, gain^2 / inputs) entries. */
function dense(g: GraphBuilder, name: string, inputs: number, outputs: number, gain = 1): string {
  return normalWeight(g, name, [inputs, outputs], gain / Math.sqrt(inputs));
}

/** x @ W + b. */
function linear(
  g: GraphBuilder,
  x: string,
  name: string,
  inputs: number,
  outputs: number,
  gain = 1,
): string {
  const w = dense(g, `${name}.weight`, inputs, outputs, gain);
  const b = normalWeight(g, `${name}.bias`, [outputs], 0.1);
  return g.op('Add', [g.op('MatMul', [x, w]), b]);
}

/** A 3x3 (or kxk) same-padded convolution with N(0, gain^2 / fan_in) weights. */
function conv(
  g: GraphBuilder,
  x: string,
  name: string,
  inputs: number,
  outputs: number,
  kernel: number,
  gain = 1,
  output?: string,
): string {
  const w = normalWeight(
    g,
    `${name}.weight`,
    [outputs, inputs, kernel, kernel],
    gain / Math.sqrt(inputs * kernel * kernel),
  );
  const b = normalWeight(g, `${name}.bias`, [outputs], 0.05);
  const pad = (kernel - 1) / 2;
  return g.op(
    'Conv',
    [x, w, b],
    { kernel_shape: attr.ints([kernel, kernel]), pads: attr.ints([pad, pad, pad, pad]) },
    output,
  );
}

function idsElemType(ids: 'int32' | 'int64'): number {
  return ids === 'int32' ? TensorDataType.INT32 : TensorDataType.INT64;
}

interface TextEncoderSpec {
  name: 'text_encoder' | 'text_encoder_2';
  hiddenSize: number;
  /** Name of the hidden-state output the pipeline uses (the penultimate layer). */
  hiddenStatesName: string;
  pooledName: string;
  pooledSize: number;
  /** Outputs in the order of the real export. */
  outputOrder: string[];
  /** Token ids the attention ignores: the special tokens and the padding token. */
  ignoredIds: number[];
}

function textEncoder(spec: TextEncoderSpec, floatType: FloatType, ids: 'int32' | 'int64') {
  const g = new GraphBuilder(spec.name, floatType);
  const batch = 'batch_size';
  const seq = 'sequence_length';
  const inputIds = g.input('input_ids', idsElemType(ids), [batch, seq]);

  const tokenTable = normalWeight(g, 'token_embedding', [VOCAB_SIZE, EMBED], 1);
  const positionTable = normalWeight(g, 'position_embedding', [SEQUENCE_LENGTH, EMBED], 0.5);
  const x = g.op('Add', [g.op('Gather', [tokenTable, inputIds]), positionTable]); // [b,77,E]

  // Attention logits per key token: random for words, very low for special and pad tokens, so
  // the pads after a prompt attend to the prompt's words rather than to each other.
  const scores = randn(seedOf(`${spec.name}/token_score`), VOCAB_SIZE, 0.5);
  for (const id of spec.ignoredIds) scores[id] = -30;
  const scoreTable = g.weight('token_score', [VOCAB_SIZE, 1], scores);
  const keyScores = g.op('Transpose', [g.op('Gather', [scoreTable, inputIds])], {
    perm: attr.ints([0, 2, 1]),
  }); // [b,1,77]
  const causal = new Float32Array(SEQUENCE_LENGTH * SEQUENCE_LENGTH);
  for (let i = 0; i < SEQUENCE_LENGTH; i++)
    for (let j = i + 1; j < SEQUENCE_LENGTH; j++) causal[i * SEQUENCE_LENGTH + j] = -10000;
  const causalMask = g.weight('causal_mask', [SEQUENCE_LENGTH, SEQUENCE_LENGTH], causal);
  const weights = g.op('Softmax', [g.op('Add', [keyScores, causalMask])], { axis: attr.int(-1) });
  const mixed = g.op('Add', [x, g.op('MatMul', [weights, x])]); // [b,77,E]

  const h1 = g.tanh(linear(g, mixed, 'layer1', EMBED, TEXT_HIDDEN, 1.5));
  const hiddenW = dense(g, 'hidden_out.weight', TEXT_HIDDEN, spec.hiddenSize, 1.5);
  const hiddenB = normalWeight(g, 'hidden_out.bias', [spec.hiddenSize], 0.1);
  g.op('Add', [g.op('MatMul', [h1, hiddenW]), hiddenB], {}, spec.hiddenStatesName);

  const h2 = g.tanh(linear(g, h1, 'layer2', TEXT_HIDDEN, TEXT_HIDDEN, 1.5));
  const lastW = dense(g, 'last_out.weight', TEXT_HIDDEN, spec.hiddenSize, 1.5);
  const lastB = normalWeight(g, 'last_out.bias', [spec.hiddenSize], 0.1);
  g.op('Add', [g.op('MatMul', [h2, lastW]), lastB], {}, 'last_hidden_state');

  // Pooled like CLIP at one position: the last one, which attends to every word of the prompt.
  const lastIndex = g.int64('last_position', [], [SEQUENCE_LENGTH - 1]);
  const pooledIn = g.op('Gather', [h2, lastIndex], { axis: attr.int(1) }); // [b,H]
  const poolW = dense(g, 'pool_out.weight', TEXT_HIDDEN, spec.pooledSize, 1.5);
  g.op(
    'Add',
    [
      g.op('MatMul', [pooledIn, poolW]),
      g.weight('pool_out.bias', [spec.pooledSize], new Float32Array(spec.pooledSize)),
    ],
    {},
    spec.pooledName,
  );

  for (const name of spec.outputOrder) {
    if (name === spec.pooledName) g.output(name, g.floatElem, [batch, spec.pooledSize]);
    else g.output(name, g.floatElem, [batch, seq, spec.hiddenSize]);
  }
  return g;
}

export function buildTextEncoder(floatType: FloatType, ids: 'int32' | 'int64') {
  return textEncoder(
    {
      name: 'text_encoder',
      hiddenSize: 768,
      hiddenStatesName: 'hidden_states.11',
      pooledName: 'pooler_output',
      pooledSize: 768,
      outputOrder: ['last_hidden_state', 'pooler_output', 'hidden_states.11'],
      ignoredIds: [BOS_ID, EOS_ID],
    },
    floatType,
    ids,
  );
}

export function buildTextEncoder2(floatType: FloatType, ids: 'int32' | 'int64') {
  return textEncoder(
    {
      name: 'text_encoder_2',
      hiddenSize: 1280,
      hiddenStatesName: 'hidden_states.31',
      pooledName: 'text_embeds',
      pooledSize: 1280,
      outputOrder: ['text_embeds', 'last_hidden_state', 'hidden_states.31'],
      ignoredIds: [BOS_ID, EOS_ID, EXCLAMATION_ID],
    },
    floatType,
    ids,
  );
}

/**
 * A term added to the UNet's prediction, built into the same graph from its inputs (the
 * weights-heavy set adds an exact zero that reads forty large tensors: heavy-unet.ts).
 */
export type UnetExtraTerm = (g: GraphBuilder, inputs: { timestep: string }) => string;

export function buildUnet(floatType: FloatType, extraTerm?: UnetExtraTerm) {
  const g = new GraphBuilder('unet', floatType);
  const f = g.floatElem;
  const C = UNET_CHANNELS;
  const sample = g.input('sample', f, ['batch_size', 4, 'height', 'width']);
  const timestep = g.input('timestep', f, [1]);
  const encoderHidden = g.input('encoder_hidden_states', f, [
    'batch_size',
    'sequence_length',
    2048,
  ]);
  const textEmbeds = g.input('text_embeds', f, ['batch_size', 1280]);
  const timeIds = g.input('time_ids', f, ['batch_size', 6]);

  // Conditioning vector [b, COND] from the prompt, the size and the timestep.
  const pooledText = g.op('ReduceMean', [encoderHidden], {
    axes: attr.ints([1]),
    keepdims: attr.int(0),
  });
  const fromText = g.op('MatMul', [pooledText, dense(g, 'cond.text.weight', 2048, UNET_COND)]);
  const fromEmbeds = g.op('MatMul', [textEmbeds, dense(g, 'cond.embeds.weight', 1280, UNET_COND)]);
  const sizeScale = g.weight('time_ids_scale', [], [1 / 1024]);
  const fromSize = g.op('MatMul', [
    g.op('Mul', [timeIds, sizeScale]),
    dense(g, 'cond.time_ids.weight', 6, UNET_COND),
  ]);
  // Sinusoidal timestep embedding, computed in float32 (Cast in fp16 graphs, as an fp16 export
  // might). Frequencies 2^-5 .. 2^-12 keep the angles below ~31 rad: GPU sin/cos lose accuracy
  // on large arguments (SDXL's own angles reach 999), and WebGPU must match wasm here.
  const freqs = new Float32Array(UNET_FREQS);
  for (let k = 0, v = 2 ** -5; k < UNET_FREQS; k++, v /= 2) freqs[k] = v;
  const angles = g.op('Mul', [
    g.op('Reshape', [g.toFloat32(timestep), g.int64('timestep_shape', [2], [-1, 1])]),
    g.float32('timestep_freqs', [1, UNET_FREQS], freqs),
  ]); // [n, F]
  const timeEmbedding = g.fromFloat32(
    g.op('Concat', [g.op('Sin', [angles]), g.op('Cos', [angles])], { axis: attr.int(1) }),
  );
  const fromTime = g.op('MatMul', [
    timeEmbedding,
    dense(g, 'cond.time.weight', 2 * UNET_FREQS, UNET_COND),
  ]);
  const cond = g.tanh(
    g.op('Add', [
      g.op('Add', [g.op('Add', [fromText, fromEmbeds]), g.op('Add', [fromSize, fromTime])]),
      normalWeight(g, 'cond.bias', [UNET_COND], 0.1),
    ]),
  );

  // Per-channel bias [b,C,1,1] and a coarse spatial map [b,C,8,8] resized to [b,C,h,w].
  const channelBias = g.op('Reshape', [
    g.op('MatMul', [cond, dense(g, 'cond.channel.weight', UNET_COND, C)]),
    g.int64('channel_shape', [4], [-1, C, 1, 1]),
  ]);
  const coarseMap = g.op('Reshape', [
    g.op('MatMul', [
      cond,
      dense(g, 'cond.map.weight', UNET_COND, C * UNET_MAP * UNET_MAP, UNET_MAP_GAIN),
    ]),
    g.int64('map_shape', [4], [-1, C, UNET_MAP, UNET_MAP]),
  ]);
  const mapSize = g.op(
    'Concat',
    [
      g.op('Shape', [coarseMap], { end: attr.int(2) }),
      g.op('Shape', [sample], { start: attr.int(2) }),
    ],
    { axis: attr.int(0) },
  );
  const spatialBias = g.op('Resize', [coarseMap, '', '', mapSize], { mode: attr.string('linear') });

  const h0 = conv(g, sample, 'conv_in', 4, C, 3);
  const h1 = g.tanh(g.op('Add', [g.op('Add', [h0, channelBias]), spatialBias]));
  const h2 = g.tanh(conv(g, h1, 'conv_mid', C, C, 3, 1.5));
  // eps = SKIP * sample + f: like a real denoiser, the prediction carries most of the input
  // noise, so x0 = x - sigma * eps is mostly f (prompt structure) rather than raw noise.
  const skip = g.weight('skip_scale', [], [UNET_SKIP]);
  const terms = [g.op('Mul', [sample, skip]), conv(g, h2, 'conv_out', C, 4, 3, 0.3)];
  const eps = extraTerm ? [g.op('Add', terms), extraTerm(g, { timestep })] : terms;
  g.op('Add', eps, {}, 'out_sample');
  g.output('out_sample', f, ['batch_size', 4, 'height', 'width']);
  return g;
}

export function buildVaeDecoder(floatType: FloatType) {
  const g = new GraphBuilder('vae_decoder', floatType);
  const f = g.floatElem;
  const C = VAE_CHANNELS;
  const latent = g.input('latent_sample', f, ['batch_size', 4, 'height_latent', 'width_latent']);
  // Latents arrive divided by 0.13025: std ~4-8 for unit-variance latents, up to ~150 after
  // one step of this UNet. Each first-layer channel gets its own input gain, log-spaced from
  // 0.15 to 0.002, so some channels stay out of Tanh saturation at any of those scales (this
  // also keeps fp16 rounding of large latents from being amplified).
  const w1 = randn(seedOf('vae_decoder/conv_in.weight'), C * 4 * 9, 1 / 6);
  for (let c = 0, gain = 0.15; c < C; c++, gain *= 0.75) {
    for (let k = 0; k < 36; k++) w1[c * 36 + k]! *= gain;
  }
  const h1 = g.tanh(
    g.op(
      'Conv',
      [
        latent,
        g.weight('conv_in.weight', [C, 4, 3, 3], w1),
        normalWeight(g, 'conv_in.bias', [C], 0.05),
      ],
      {
        kernel_shape: attr.ints([3, 3]),
        pads: attr.ints([1, 1, 1, 1]),
      },
    ),
  );
  const h2 = g.tanh(conv(g, h1, 'conv_mid', C, C, 3, 2));
  // To RGB at latent resolution, then upsample: the full-resolution work is only a Resize
  // and a Tanh over 3 channels, which keeps browser tests on SwiftShader (a CPU WebGPU) quick.
  const rgb = conv(g, h2, 'conv_out', C, 3, 1, 1.2);
  const up = g.op('Resize', [rgb, '', g.float32('upsample_scales', [4], [1, 1, 8, 8])], {
    mode: attr.string('linear'),
  });
  g.tanh(up, 'sample');
  g.output('sample', f, ['batch_size', 3, 'height', 'width']);
  return g;
}

export function buildVaeEncoder(floatType: FloatType) {
  const g = new GraphBuilder('vae_encoder', floatType);
  const f = g.floatElem;
  const image = g.input('sample', f, ['batch_size', 3, 'height', 'width']);
  const pooled = g.op('AveragePool', [image], {
    kernel_shape: attr.ints([8, 8]),
    strides: attr.ints([8, 8]),
  });
  const h = g.tanh(conv(g, pooled, 'conv_in', 3, VAE_ENCODER_CHANNELS, 1, 2));
  // Unscaled latents: the pipeline multiplies by 0.13025, giving roughly unit variance.
  conv(g, h, 'conv_out', VAE_ENCODER_CHANNELS, 4, 1, 8, 'latent_sample');
  g.output('latent_sample', f, ['batch_size', 4, 'height_latent', 'width_latent']);
  return g;
}
