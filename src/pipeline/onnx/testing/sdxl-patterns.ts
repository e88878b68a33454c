/**
 * Small fp32 graphs with the operator patterns of a torch (optimum) export of SDXL, for the fp16
 * converter's tests: GroupNorm as Reshape/InstanceNormalization/Reshape/Mul/Add, SiLU as
 * Sigmoid/Mul, attention as MatMul/Softmax, GEGLU with Erf, LayerNormalization, nearest x2
 * Resize with its scales from a Constant node, and the sinusoidal timestep embedding (Cast,
 * Unsqueeze, Mul, Sin/Cos, Concat). Random weights from a fixed seed.
 */
import { GraphBuilder, attr } from '../../../../scripts/test-model/onnx-builder.ts';
import { randn } from '../../../../scripts/test-model/random.ts';
import { DataLocation, ModelProto, TensorDataType, type Model } from '../schema.ts';

const C = 16;
const GROUPS = 4;
const TEXT = 32;
const TOKENS = 6;
const FREQS = 8;

let seed = 1;
function weight(g: GraphBuilder, name: string, dims: number[], std: number): string {
  return g.weight(
    name,
    dims,
    randn(
      seed++,
      dims.reduce((a, b) => a * b, 1),
      std,
    ),
  );
}

function ones(g: GraphBuilder, name: string, count: number, value = 1): string {
  return g.weight(name, [count], new Float32Array(count).fill(value));
}

function conv(g: GraphBuilder, x: string, name: string, cin: number, cout: number, stride = 1) {
  const w = weight(g, `${name}.weight`, [cout, cin, 3, 3], 1 / Math.sqrt(cin * 9));
  const b = weight(g, `${name}.bias`, [cout], 0.05);
  return g.op('Conv', [x, w, b], {
    kernel_shape: attr.ints([3, 3]),
    pads: attr.ints([1, 1, 1, 1]),
    strides: attr.ints([stride, stride]),
  });
}

/** torch's GroupNorm as exported: Reshape [b, G, -1], InstanceNormalization, Reshape, Mul, Add. */
function groupNorm(g: GraphBuilder, x: string, name: string, channels: number): string {
  const grouped = g.op('Reshape', [x, g.int64(`${name}.groups`, [3], [0, GROUPS, -1])]);
  const normed = g.op('InstanceNormalization', [
    grouped,
    ones(g, `${name}.in_scale`, GROUPS),
    ones(g, `${name}.in_bias`, GROUPS, 0),
  ]);
  const back = g.op('Reshape', [normed, g.op('Shape', [x])]);
  const gamma = g.weight(
    `${name}.gamma`,
    [channels, 1, 1],
    randn(seed++, channels, 0.1).map((v) => 1 + v),
  );
  const beta = weight(g, `${name}.beta`, [channels, 1, 1], 0.1);
  return g.op('Add', [g.op('Mul', [back, gamma]), beta]);
}

function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** x * 0.5 * (1 + erf(x / sqrt 2)), as torch exports gelu. */
function gelu(g: GraphBuilder, x: string, name: string): string {
  const erf = g.op('Erf', [g.op('Div', [x, g.weight(`${name}.sqrt2`, [], [Math.SQRT2])])]);
  const onePlus = g.op('Add', [erf, g.weight(`${name}.one`, [], [1])]);
  return g.op('Mul', [g.op('Mul', [x, onePlus]), g.weight(`${name}.half`, [], [0.5])]);
}

/** A transformer block on [1, tokens, C]: LayerNorm, cross-attention, LayerNorm, GEGLU. */
function transformer(g: GraphBuilder, x: string, context: string): string {
  const norm = (input: string, name: string) =>
    g.op(
      'LayerNormalization',
      [input, ones(g, `${name}.weight`, C), ones(g, `${name}.bias`, C, 0)],
      {
        axis: attr.int(-1),
        epsilon: attr.float(1e-5),
      },
    );
  const n1 = norm(x, 'ln1');
  const q = g.op('MatMul', [n1, weight(g, 'attn.q', [C, C], 1 / Math.sqrt(C))]);
  const k = g.op('MatMul', [context, weight(g, 'attn.k', [TEXT, C], 1 / Math.sqrt(TEXT))]);
  const v = g.op('MatMul', [context, weight(g, 'attn.v', [TEXT, C], 1 / Math.sqrt(TEXT))]);
  const scores = g.op('Mul', [
    g.op('MatMul', [q, g.op('Transpose', [k], { perm: attr.ints([0, 2, 1]) })]),
    g.weight('attn.scale', [], [1 / Math.sqrt(C)]),
  ]);
  const attention = g.op('MatMul', [g.op('Softmax', [scores], { axis: attr.int(-1) }), v]);
  const h = g.op('Add', [
    x,
    g.op('MatMul', [attention, weight(g, 'attn.out', [C, C], 1 / Math.sqrt(C))]),
  ]);
  const projected = g.op('MatMul', [
    norm(h, 'ln2'),
    weight(g, 'ff.proj', [C, 4 * C], 1 / Math.sqrt(C)),
  ]);
  const [value, gate] = g.ops(
    'Split',
    [projected, g.int64('ff.split', [2], [2 * C, 2 * C])],
    { axis: attr.int(-1) },
    2,
  );
  const geglu = g.op('Mul', [value!, gelu(g, gate!, 'ff.gelu')]);
  return g.op('Add', [
    h,
    g.op('MatMul', [geglu, weight(g, 'ff.out', [2 * C, C], 1 / Math.sqrt(2 * C))]),
  ]);
}

/** Nearest x2 upsampling with `scales` named by the caller (a Constant node added later). */
function upsample(g: GraphBuilder, x: string, scales: string): string {
  return g.op('Resize', [x, '', scales], {
    mode: attr.string('nearest'),
    coordinate_transformation_mode: attr.string('asymmetric'),
    nearest_mode: attr.string('floor'),
  });
}

/** Adds Constant nodes (first in the graph) holding float32 tensors. */
function withConstants(modelBytes: Uint8Array, constants: Record<string, number[]>): Uint8Array {
  const model = ModelProto.decode(modelBytes) as unknown as Model;
  const nodes = Object.entries(constants).map(([name, values]) => {
    const raw = new Uint8Array(new Float32Array(values).buffer);
    return {
      name: `${name}_constant`,
      opType: 'Constant',
      domain: '',
      input: [],
      output: [name],
      attribute: [
        {
          name: 'value',
          type: 4,
          t: { dims: [values.length], dataType: TensorDataType.FLOAT, rawData: raw },
        },
      ],
    };
  });
  model.graph!.node = [...nodes, ...(model.graph!.node ?? [])];
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

export interface PatternGraph {
  model: Uint8Array;
  /** External data (one file, `location`), when asked for. */
  data?: { location: string; bytes: Uint8Array };
}

/**
 * A UNet-like graph: sample [1,4,8,8], timestep [1], encoder_hidden_states [1,6,32] ->
 * out_sample [1,4,8,8]. conv, GroupNorm+SiLU, + timestep embedding, transformer block,
 * x2 upsample (Constant scales), stride-2 conv back.
 */
export function patternUnet(options: { externalData?: string } = {}): PatternGraph {
  seed = 100;
  const g = new GraphBuilder('pattern_unet', 'fp32');
  const f = TensorDataType.FLOAT;
  const sample = g.input('sample', f, [1, 4, 8, 8]);
  const timestep = g.input('timestep', f, [1]);
  const context = g.input('encoder_hidden_states', f, [1, TOKENS, TEXT]);

  // Sinusoidal embedding: timestep (up to 999) times frequencies 10000^(-k/F), sin and cos.
  const freqs = Array.from({ length: FREQS }, (_, k) => Math.exp((-Math.log(10000) * k) / FREQS));
  const angles = g.op('Mul', [
    g.op('Unsqueeze', [
      g.op('Cast', [timestep], { to: attr.int(TensorDataType.FLOAT) }),
      g.int64('t.axis', [1], [1]),
    ]),
    g.float32('t.freqs', [1, FREQS], freqs),
  ]);
  const embedding = g.op('Concat', [g.op('Sin', [angles]), g.op('Cos', [angles])], {
    axis: attr.int(-1),
  });
  const timeBias = g.op('Reshape', [
    g.op('MatMul', [silu(g, embedding), weight(g, 'time.weight', [2 * FREQS, C], 0.5)]),
    g.int64('time.shape', [4], [1, C, 1, 1]),
  ]);

  const h0 = conv(g, sample, 'conv_in', 4, C);
  const h1 = g.op('Add', [silu(g, groupNorm(g, h0, 'norm1', C)), timeBias]);
  const tokens = g.op('Transpose', [g.op('Reshape', [h1, g.int64('to_tokens', [3], [1, C, 64])])], {
    perm: attr.ints([0, 2, 1]),
  });
  const mixed = transformer(g, tokens, context);
  const h2 = g.op('Reshape', [
    g.op('Transpose', [mixed], { perm: attr.ints([0, 2, 1]) }),
    g.int64('to_image', [4], [1, C, 8, 8]),
  ]);
  const up = upsample(g, silu(g, groupNorm(g, h2, 'norm2', C)), 'up.scales');
  const down = conv(g, up, 'conv_down', C, C, 2);
  g.op(
    'Add',
    [conv(g, silu(g, groupNorm(g, down, 'norm_out', C)), 'conv_out', C, 4), sample],
    {},
    'out_sample',
  );
  g.output('out_sample', f, [1, 4, 8, 8]);

  const model = withConstants(g.serialize().model, { 'up.scales': [1, 1, 2, 2] });
  return options.externalData ? externalize(model, options.externalData) : { model };
}

/**
 * Moves initializers of 1 KiB or more to one external data file, at 4096-byte aligned offsets,
 * as onnx.save_model(save_as_external_data=True) does with its default size threshold. (Small
 * tensors stay inline: onnxruntime's optimizers read scalar constants while loading.)
 */
export function externalize(modelBytes: Uint8Array, location: string): Required<PatternGraph> {
  const model = ModelProto.decode(modelBytes) as unknown as Model;
  const pieces: Array<{ offset: number; bytes: Uint8Array }> = [];
  let end = 0;
  for (const tensor of model.graph!.initializer ?? []) {
    const bytes = tensor.rawData;
    if (!bytes || bytes.byteLength < 1024) continue;
    const offset = Math.ceil(end / 4096) * 4096;
    pieces.push({ offset, bytes });
    end = offset + bytes.byteLength;
    tensor.rawData = new Uint8Array(0);
    tensor.dataLocation = DataLocation.EXTERNAL;
    tensor.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.byteLength) },
    ];
  }
  const data = new Uint8Array(end);
  for (const piece of pieces) data.set(piece.bytes, piece.offset);
  return {
    model: ModelProto.encode(ModelProto.fromObject(model)).finish(),
    data: { location, bytes: data },
  };
}

/** A VAE-decoder-like graph: latent [1,4,8,8] -> sample [1,3,16,16] in [-1, 1]. */
export function patternVaeDecoder(): PatternGraph {
  seed = 200;
  const g = new GraphBuilder('pattern_vae_decoder', 'fp32');
  const f = TensorDataType.FLOAT;
  const latent = g.input('latent_sample', f, [1, 4, 8, 8]);
  const h0 = conv(g, latent, 'conv_in', 4, C);
  const h1 = silu(g, groupNorm(g, h0, 'norm1', C));
  const up = upsample(g, h1, 'up.scales');
  const h2 = silu(g, groupNorm(g, conv(g, up, 'conv_up', C, C), 'norm2', C));
  g.op('Tanh', [conv(g, h2, 'conv_out', C, 3)], {}, 'sample');
  g.output('sample', f, [1, 3, 16, 16]);
  return { model: withConstants(g.serialize().model, { 'up.scales': [1, 1, 2, 2] }) };
}
