/**
 * Tiny ONNX graphs that keep the pipeline's own arithmetic on the GPU: the runtime runs them as
 * sessions on the same device as the model, so tensors pass from the text encoders to the
 * UNet, from step to step and to the VAE without a trip through host memory, and only the
 * final pixels (4 bytes each) are read back.
 *
 *   concat  - both encoders' hidden states joined on the last axis (the UNet's conditioning)
 *   step    - one Euler ancestral update, x + eps·dt + noise·σ_up, and the next graph's input
 *             x · scale (the UNet's 1/sqrt(σ²+1), or the VAE decoder's 1/0.13025)
 *   pixels  - the VAE decoder's [-1, 1] planes as RGB packed in one int32 per pixel,
 *             r + 256·g + 65536·b, rounded as decodedImageToRgba rounds (floor(v·255 + 0.5))
 *
 * Latents stay float32 whatever the model's dtype; fp16 graph inputs and outputs are cast.
 */
import {
  ModelProto,
  TensorDataType,
  valueInfo,
  type Model,
  type Node,
  type Tensor,
} from './schema.ts';

export type FloatDtype = 'float32' | 'float16';

const OPSET = 17;

function elem(dtype: FloatDtype): number {
  return dtype === 'float16' ? TensorDataType.FLOAT16 : TensorDataType.FLOAT;
}

function node(
  opType: string,
  input: string[],
  output: string[],
  attribute: Node['attribute'] = [],
) {
  return { name: `${opType}_${output[0]}`, opType, domain: '', input, output, attribute };
}

function castTo(elemType: number, input: string, output: string): Node {
  return node('Cast', [input], [output], [{ name: 'to', type: 2, i: elemType }]);
}

function float32Initializer(name: string, dims: number[], values: number[]): Tensor {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, dataType: TensorDataType.FLOAT, rawData: bytes };
}

function int64Initializer(name: string, values: number[]): Tensor {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims: [values.length], dataType: TensorDataType.INT64, rawData: bytes };
}

function serialize(name: string, graph: Omit<NonNullable<Model['graph']>, 'name'>): Uint8Array {
  const model: Model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'sdxl-turbo-web helper',
    graph: { name, ...graph },
  };
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** concat(a, b) on the last axis: [1, 77, 768] + [1, 77, 1280] -> [1, 77, 2048]. */
export function concatGraph(dtype: FloatDtype): Uint8Array {
  const t = elem(dtype);
  return serialize('concat_hidden_states', {
    node: [node('Concat', ['a', 'b'], ['hidden'], [{ name: 'axis', type: 2, i: -1 }])],
    input: [
      valueInfo('a', t, ['batch', 'tokens', 'width_a']),
      valueInfo('b', t, ['batch', 'tokens', 'width_b']),
    ],
    output: [valueInfo('hidden', t, ['batch', 'tokens', 'width'])],
    initializer: [],
  });
}

/**
 * One Euler ancestral step: latents = x + eps·dt + noise·sigma_up (float32, in that order, as
 * eulerAncestralUpdate adds them), scaled = latents·out_scale in the next graph's dtype.
 */
export function eulerStepGraph(epsDtype: FloatDtype, scaledDtype: FloatDtype): Uint8Array {
  const f32 = TensorDataType.FLOAT;
  const latentDims = ['batch', 'channels', 'height', 'width'];
  const nodes: Node[] = [];
  let eps = 'eps';
  if (epsDtype === 'float16') {
    nodes.push(castTo(f32, 'eps', 'eps_f32'));
    eps = 'eps_f32';
  }
  nodes.push(
    node('Mul', [eps, 'dt'], ['eps_dt']),
    node('Add', ['x', 'eps_dt'], ['x_eps']),
    node('Mul', ['noise', 'sigma_up'], ['noise_up']),
    node('Add', ['x_eps', 'noise_up'], ['latents']),
  );
  if (scaledDtype === 'float16') {
    nodes.push(
      node('Mul', ['latents', 'out_scale'], ['scaled_f32']),
      castTo(TensorDataType.FLOAT16, 'scaled_f32', 'scaled'),
    );
  } else {
    nodes.push(node('Mul', ['latents', 'out_scale'], ['scaled']));
  }
  return serialize('euler_ancestral_step', {
    node: nodes,
    input: [
      valueInfo('x', f32, latentDims),
      valueInfo('eps', elem(epsDtype), latentDims),
      // [1, 1, 1, 1] (a broadcast 0) when the step adds no noise.
      valueInfo('noise', f32, ['noise_batch', 'noise_channels', 'noise_height', 'noise_width']),
      valueInfo('dt', f32, [1]),
      valueInfo('sigma_up', f32, [1]),
      valueInfo('out_scale', f32, [1]),
    ],
    output: [
      valueInfo('latents', f32, latentDims),
      valueInfo('scaled', elem(scaledDtype), latentDims),
    ],
    initializer: [],
  });
}

/** [1, 3, H, W] in [-1, 1] -> [1, H, W] int32 r + 256·g + 65536·b (exact in float32: < 2^24). */
export function pixelsGraph(dtype: FloatDtype): Uint8Array {
  const nodes: Node[] = [];
  let image = 'image';
  if (dtype === 'float16') {
    nodes.push(castTo(TensorDataType.FLOAT, 'image', 'image_f32'));
    image = 'image_f32';
  }
  nodes.push(
    node('Mul', [image, 'half'], ['halved']),
    node('Add', ['halved', 'half'], ['unit']),
    node('Clip', ['unit', 'zero', 'one'], ['clamped']),
    node('Mul', ['clamped', 'max_byte'], ['bytes']),
    node('Add', ['bytes', 'half'], ['bytes_half']),
    node('Floor', ['bytes_half'], ['rounded']),
    node('Mul', ['rounded', 'channel_weights'], ['weighted']),
    node(
      'ReduceSum',
      ['weighted', 'channel_axis'],
      ['packed_f32'],
      [{ name: 'keepdims', type: 2, i: 0 }],
    ),
    castTo(TensorDataType.INT32, 'packed_f32', 'rgb'),
  );
  return serialize('rgb_packed', {
    node: nodes,
    input: [valueInfo('image', elem(dtype), ['batch', 3, 'height', 'width'])],
    output: [valueInfo('rgb', TensorDataType.INT32, ['batch', 'height', 'width'])],
    initializer: [
      float32Initializer('half', [], [0.5]),
      float32Initializer('zero', [], [0]),
      float32Initializer('one', [], [1]),
      float32Initializer('max_byte', [], [255]),
      float32Initializer('channel_weights', [1, 3, 1, 1], [1, 256, 65536]),
      int64Initializer('channel_axis', [1]),
    ],
  });
}

/** Unpacks the pixels graph's output to RGBA8 (alpha 255). */
export function packedRgbToRgba(packed: Int32Array): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(packed.length * 4);
  for (let p = 0; p < packed.length; p++) {
    const v = packed[p]!;
    rgba[p * 4] = v & 0xff;
    rgba[p * 4 + 1] = (v >> 8) & 0xff;
    rgba[p * 4 + 2] = (v >> 16) & 0xff;
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}
