/**
 * TAESD / TAESDXL (madebyollin's tiny autoencoder; diffusers `AutoencoderTiny`) as ONNX graphs
 * built here from its safetensors weights, so no ONNX export of it is needed.
 *
 * The architecture, as diffusers' EncoderTiny / DecoderTiny (models/autoencoders/vae.py) and
 * AutoencoderTinyBlock (unet_2d_blocks.py) define it with AutoencoderTiny's default config
 * (block_out_channels 64 x4, num_encoder_blocks (1,3,3,3), num_decoder_blocks (3,3,3,1), ReLU,
 * x2 nearest upsampling, scaling_factor 1):
 *
 *   block(x)  = relu(conv3(relu(conv3(relu(conv3(x))))) + x)      (no skip conv when C_in = C_out)
 *   decoder   = tanh(z/3)*3 -> conv(4,C)+relu -> 3 blocks -> up x2 -> conv(C,C, no bias)
 *               -> 3 blocks -> up x2 -> conv -> 3 blocks -> up x2 -> conv -> 1 block
 *               -> conv(C,3) -> image in [0,1] -> *2-1 (diffusers' [-1,1] convention)
 *   encoder   = (x+1)/2 -> conv(3,C) -> 1 block -> [conv stride 2 (no bias) -> 3 blocks] x3
 *               -> conv(C,4)
 *
 * Weight names follow diffusers' layout: `decoder.layers.<i>.weight`, and for a block
 * `decoder.layers.<i>.conv.{0,2,4}.{weight,bias}` (+ `skip.weight` when channels change).
 * The channel width is read from the weights, so tests can use a narrow random copy.
 *
 * Latents are unscaled (scaling factor 1): the decoder takes the pipeline's latents as they
 * come out of the scheduler, not divided by the SDXL VAE's 0.13025. Its output is the same
 * [-1,1] `sample` as the full VAE decoder's, so the same pixels helper turns it into RGBA.
 */
import { ModelFormatError } from '../tensors.ts';
import {
  AttributeType,
  ModelProto,
  TensorDataType,
  valueInfo,
  type Attribute,
  type Model,
  type Node,
  type Tensor,
  type ValueInfo,
} from '../onnx/schema.ts';
import type { FloatTensor } from './safetensors.ts';

const OPSET = 17;
export const TAESD_DECODER_BLOCKS = [3, 3, 3, 1] as const;
export const TAESD_ENCODER_BLOCKS = [1, 3, 3, 3] as const;
/** diffusers' DecoderTiny input clamp: tanh(z / 3) * 3. */
const LATENT_MAGNITUDE = 3;
const LATENT_CHANNELS = 4;

/** The layer sequence of one half, as diffusers numbers `layers.<i>`. */
type Layer =
  | { kind: 'conv'; index: number; stride: number; bias: boolean; relu: boolean }
  | { kind: 'block'; index: number }
  | { kind: 'upsample' };

export function decoderLayers(blocks: readonly number[] = TAESD_DECODER_BLOCKS): Layer[] {
  const layers: Layer[] = [{ kind: 'conv', index: 0, stride: 1, bias: true, relu: true }];
  let index = 2; // layers.1 is the ReLU after the first conv
  blocks.forEach((count, i) => {
    const last = i === blocks.length - 1;
    for (let b = 0; b < count; b++) layers.push({ kind: 'block', index: index++ });
    if (!last) {
      layers.push({ kind: 'upsample' });
      index++;
    }
    layers.push({ kind: 'conv', index: index++, stride: 1, bias: last, relu: false });
  });
  return layers;
}

export function encoderLayers(blocks: readonly number[] = TAESD_ENCODER_BLOCKS): Layer[] {
  const layers: Layer[] = [];
  let index = 0;
  blocks.forEach((count, i) => {
    layers.push(
      i === 0
        ? { kind: 'conv', index: index++, stride: 1, bias: true, relu: false }
        : { kind: 'conv', index: index++, stride: 2, bias: false, relu: false },
    );
    for (let b = 0; b < count; b++) layers.push({ kind: 'block', index: index++ });
  });
  layers.push({ kind: 'conv', index: index++, stride: 1, bias: true, relu: false });
  return layers;
}

class GraphWriter {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;

  constructor(
    private readonly weights: ReadonlyMap<string, FloatTensor>,
    private readonly what: string,
  ) {}

  fresh(stem: string): string {
    return `${stem}_${this.counter++}`;
  }

  op(opType: string, input: string[], attribute: Attribute[] = [], stem = opType): string {
    const out = this.fresh(stem.toLowerCase());
    this.nodes.push({
      name: `${opType}_${out}`,
      opType,
      domain: '',
      input,
      output: [out],
      attribute,
    });
    return out;
  }

  constant(name: string, dims: number[], values: number[]): string {
    this.initializers.push(floatInitializer(name, dims, Float32Array.from(values)));
    return name;
  }

  /** A named weight, checked against the shape the architecture needs. */
  weight(name: string, shape: number[]): string {
    const tensor = this.weights.get(name);
    if (!tensor) throw new ModelFormatError(`${this.what} has no tensor "${name}"`);
    if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(
        `${this.what}: "${name}" is [${tensor.shape.join(',')}], expected [${shape.join(',')}]`,
      );
    }
    this.initializers.push(floatInitializer(name, shape, tensor.data));
    return name;
  }

  has(name: string): boolean {
    return this.weights.has(name);
  }

  conv(
    x: string,
    prefix: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    bias: boolean,
  ): string {
    const inputs = [x, this.weight(`${prefix}.weight`, [cout, cin, k, k])];
    if (bias) inputs.push(this.weight(`${prefix}.bias`, [cout]));
    const pad = (k - 1) / 2;
    return this.op(
      'Conv',
      inputs,
      [
        { name: 'kernel_shape', type: AttributeType.INTS, ints: [k, k] },
        { name: 'pads', type: AttributeType.INTS, ints: [pad, pad, pad, pad] },
        { name: 'strides', type: AttributeType.INTS, ints: [stride, stride] },
      ],
      'conv',
    );
  }

  /** AutoencoderTinyBlock with C channels in and out. */
  block(x: string, prefix: string, c: number): string {
    let h = this.op('Relu', [this.conv(x, `${prefix}.conv.0`, c, c, 3, 1, true)]);
    h = this.op('Relu', [this.conv(h, `${prefix}.conv.2`, c, c, 3, 1, true)]);
    h = this.conv(h, `${prefix}.conv.4`, c, c, 3, 1, true);
    const skip = this.has(`${prefix}.skip.weight`)
      ? this.conv(x, `${prefix}.skip`, c, c, 1, 1, false)
      : x;
    return this.op('Relu', [this.op('Add', [h, skip])]);
  }

  upsample(x: string): string {
    // Resize's "asymmetric" + "floor" nearest is torch's nn.Upsample(mode="nearest") exactly.
    if (!this.initializers.some((t) => t.name === 'upsample_scales')) {
      this.constant('upsample_scales', [4], [1, 1, 2, 2]);
    }
    const str = (name: string, value: string): Attribute => ({
      name,
      type: AttributeType.STRING,
      s: new TextEncoder().encode(value),
    });
    return this.op(
      'Resize',
      [x, '', 'upsample_scales'],
      [
        str('mode', 'nearest'),
        str('coordinate_transformation_mode', 'asymmetric'),
        str('nearest_mode', 'floor'),
      ],
      'up',
    );
  }
}

function floatInitializer(name: string, dims: number[], values: Float32Array): Tensor {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, dataType: TensorDataType.FLOAT, rawData: bytes };
}

/** The channel width, from the first conv of the half named by `prefix`. */
export function taesdChannels(
  weights: ReadonlyMap<string, FloatTensor>,
  prefix: 'encoder' | 'decoder',
): number {
  const first = weights.get(`${prefix}.layers.0.weight`);
  if (!first || first.shape.length !== 4) {
    throw new ModelFormatError(`the tiny autoencoder's weights have no ${prefix}.layers.0.weight`);
  }
  return first.shape[0]!;
}

function runLayers(
  w: GraphWriter,
  x: string,
  layers: Layer[],
  prefix: string,
  c: number,
  cin: number,
  cout: number,
): string {
  let h = x;
  layers.forEach((layer, i) => {
    const name = `${prefix}.layers.${'index' in layer ? layer.index : ''}`;
    if (layer.kind === 'upsample') h = w.upsample(h);
    else if (layer.kind === 'block') h = w.block(h, name, c);
    else {
      const inC = i === 0 ? cin : c;
      const outC = i === layers.length - 1 ? cout : c;
      h = w.conv(h, name, inC, outC, 3, layer.stride, layer.bias);
      if (layer.relu) h = w.op('Relu', [h]);
    }
  });
  return h;
}

function serialize(
  name: string,
  w: GraphWriter,
  input: ValueInfo[],
  output: ValueInfo[],
): Uint8Array {
  const model: Model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'sdxl-turbo-web taesd',
    graph: { name, node: w.nodes, initializer: w.initializers, input, output },
  };
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/**
 * The decoder: `latent_sample` [batch, 4, h, w] (unscaled latents) -> `sample`
 * [batch, 3, 8h, 8w] in [-1, 1], float32.
 */
export function taesdDecoderGraph(
  weights: ReadonlyMap<string, FloatTensor>,
  what = 'taesd weights',
): Uint8Array {
  const c = taesdChannels(weights, 'decoder');
  const w = new GraphWriter(weights, what);
  const magnitude = w.constant('latent_magnitude', [], [LATENT_MAGNITUDE]);
  const clamped = w.op('Mul', [
    w.op('Tanh', [w.op('Div', ['latent_sample', magnitude])]),
    magnitude,
  ]);
  const unit = runLayers(w, clamped, decoderLayers(), 'decoder', c, LATENT_CHANNELS, 3);
  // [0, 1] -> [-1, 1], as diffusers' DecoderTiny returns it.
  const two = w.constant('two', [], [2]);
  const one = w.constant('one', [], [1]);
  const last = w.op('Sub', [w.op('Mul', [unit, two]), one]);
  w.nodes.push({
    name: 'Identity_sample',
    opType: 'Identity',
    domain: '',
    input: [last],
    output: ['sample'],
  });
  return serialize(
    'taesd_decoder',
    w,
    [
      valueInfo('latent_sample', TensorDataType.FLOAT, [
        'batch',
        LATENT_CHANNELS,
        'latent_height',
        'latent_width',
      ]),
    ],
    [valueInfo('sample', TensorDataType.FLOAT, ['batch', 3, 'height', 'width'])],
  );
}

/**
 * The encoder: `sample` [batch, 3, H, W] in [-1, 1] -> `latent_sample` [batch, 4, H/8, W/8],
 * unscaled (the pipeline's latent space as it is, no 0.13025 factor).
 */
export function taesdEncoderGraph(
  weights: ReadonlyMap<string, FloatTensor>,
  what = 'taesd weights',
): Uint8Array {
  const c = taesdChannels(weights, 'encoder');
  const w = new GraphWriter(weights, what);
  const half = w.constant('half', [], [0.5]);
  const unit = w.op('Add', [w.op('Mul', ['sample', half]), half]);
  const latents = runLayers(w, unit, encoderLayers(), 'encoder', c, 3, LATENT_CHANNELS);
  w.nodes.push({
    name: 'Identity_latents',
    opType: 'Identity',
    domain: '',
    input: [latents],
    output: ['latent_sample'],
  });
  return serialize(
    'taesd_encoder',
    w,
    [valueInfo('sample', TensorDataType.FLOAT, ['batch', 3, 'height', 'width'])],
    [
      valueInfo('latent_sample', TensorDataType.FLOAT, [
        'batch',
        LATENT_CHANNELS,
        'latent_height',
        'latent_width',
      ]),
    ],
  );
}

/**
 * Multiply-adds x2 of the decoder's convolutions at an output size (weights of width
 * `channels`; TAESDXL's is 64). Element-wise ops are left out (under 1% here).
 */
export function taesdDecoderFlops(width: number, height: number, channels = 64): number {
  let h = height / 8;
  let wd = width / 8;
  let flops = 0;
  const conv = (cin: number, cout: number, k: number) => {
    flops += 2 * cin * cout * k * k * h * wd;
  };
  const layers = decoderLayers();
  layers.forEach((layer, i) => {
    if (layer.kind === 'upsample') {
      h *= 2;
      wd *= 2;
    } else if (layer.kind === 'block') {
      for (let j = 0; j < 3; j++) conv(channels, channels, 3);
    } else {
      conv(i === 0 ? LATENT_CHANNELS : channels, i === layers.length - 1 ? 3 : channels, 3);
    }
  });
  return flops;
}
