/**
 * Layers of the SDXL replicas, written with the operator patterns a torch.onnx export of the
 * diffusers/transformers modules produces:
 *
 * - Linear: MatMul by the transposed weight [in, out] + Add bias (or MatMulNBits, 4-bit, in
 *   the webnn layout, as Olive's int4 quantization writes it);
 * - GroupNorm: Reshape [b, G, -1] / InstanceNormalization (unit scale, zero bias) / Reshape
 *   back / Mul gamma / Add beta;
 * - LayerNorm: LayerNormalization (opset 17);
 * - attention: MatMul / Mul scale / Softmax / MatMul over [b, heads, n, 64];
 * - GELU: x · 0.5 · (1 + Erf(x / √2)); SiLU: x · Sigmoid(x); nearest x2 Resize.
 *
 * Weights are random and small (uniform, std 1/√fan_in), generated only when the model is
 * written. Every trained parameter is counted, so full-size counts can be compared with
 * SDXL's published ones without generating a byte.
 */
import { TensorDataType } from '../../../src/pipeline/onnx/schema.ts';
import { attr, type FloatType, type GraphBuilder } from '../onnx-builder.ts';
import { float16Bytes, float32Bytes, randomBytes, seedOf, uniformFloats } from './weights.ts';

/** How a layout stores weights and computes. */
export interface Precision {
  /** Activations and plain weights (norms, biases, embeddings). */
  float: FloatType;
  /**
   * Convolution weights. 'int8': uint8 with one scale, through DequantizeLinear (the
   * float32-activation webnn variant: its UNet would pass protobuf's 2 GB limit otherwise).
   */
  conv: FloatType | 'int8';
  /** Linear layers: dense MatMul, or MatMulNBits with 4-bit weights in blocks of 32. */
  matmul: 'dense' | 'q4';
}

export const Q4_BLOCK = 32;

/** A width scaled for fast tests: a multiple of 32 (GroupNorm's group count), at least 32. */
export function scaledWidth(width: number, scale: number): number {
  if (scale === 1) return width;
  return Math.max(32, Math.round((width * scale) / 32) * 32);
}

export class Layers {
  private readonly constants = new Map<string, string>();

  constructor(
    readonly g: GraphBuilder,
    readonly precision: Precision,
  ) {}

  private elemOf(type: FloatType): number {
    return type === 'fp16' ? TensorDataType.FLOAT16 : TensorDataType.FLOAT;
  }

  get floatElem(): number {
    return this.elemOf(this.precision.float);
  }

  /** A trained float parameter of `dims`, uniform with `std` around `mean`, counted. */
  param(name: string, dims: number[], std: number, mean = 0, type = this.precision.float): string {
    const count = dims.reduce((a, b) => a * b, 1);
    this.g.countParameters(count);
    return this.floats(name, dims, std, mean, type);
  }

  /** A random float tensor that is not a trained parameter (test-only adapters). */
  floats(name: string, dims: number[], std: number, mean = 0, type = this.precision.float): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const seed = seedOf(`${this.g.name}/${name}`);
    const encode = type === 'fp16' ? float16Bytes : float32Bytes;
    return this.g.lazy(name, dims, this.elemOf(type), () =>
      encode(uniformFloats(seed, count, std, mean)),
    );
  }

  /** A shared constant, created once per graph. */
  private constant(key: string, make: () => string): string {
    let name = this.constants.get(key);
    if (name === undefined) {
      name = make();
      this.constants.set(key, name);
    }
    return name;
  }

  int64(values: number[]): string {
    const key = `i64:${values.join(',')}`;
    return this.constant(key, () =>
      this.g.int64(`const_i64_${this.constants.size}`, [values.length], values),
    );
  }

  /** A scalar in the graph's float type. */
  scalar(value: number): string {
    return this.constant(`f:${value}`, () =>
      this.g.weight(`const_f_${this.constants.size}`, [], [value]),
    );
  }

  /** A float32 vector (for ops that compute in float32 whatever the graph's type). */
  float32Vector(key: string, values: ArrayLike<number>): string {
    return this.constant(`f32v:${key}`, () =>
      this.g.float32(`const_f32_${this.constants.size}`, [values.length], values),
    );
  }

  private filled(value: number, count: number): string {
    return this.constant(`fill:${value}:${count}`, () =>
      this.g.weight(
        `const_fill_${this.constants.size}`,
        [count],
        new Float32Array(count).fill(value),
      ),
    );
  }

  cast(x: string, from: FloatType, to: FloatType): string {
    if (from === to) return x;
    return this.g.op('Cast', [x], { to: attr.int(this.elemOf(to)) });
  }

  /** x @ Wᵀ (+ b) for x [..., inputs]; weight stored [inputs, outputs] as torch exports it. */
  linear(x: string, name: string, inputs: number, outputs: number, bias = true): string {
    const std = 1 / Math.sqrt(inputs);
    let y: string;
    if (this.precision.matmul === 'q4' && inputs % Q4_BLOCK === 0) {
      y = this.matMulNBits(x, name, inputs, outputs, std);
    } else {
      y = this.g.op('MatMul', [x, this.param(`${name}.weight`, [inputs, outputs], std)]);
    }
    if (!bias) return y;
    return this.g.op('Add', [y, this.param(`${name}.bias`, [outputs], 0.02)]);
  }

  /**
   * MatMulNBits (com.microsoft): B [N, K/32, 16] bytes of 4-bit values, one scale per block,
   * the default zero point 8. Random nibbles (std ≈ 4.6 around 7.5) with scales std/4.6.
   */
  private matMulNBits(x: string, name: string, k: number, n: number, std: number): string {
    this.g.countParameters(k * n);
    const blocks = k / Q4_BLOCK;
    const seed = seedOf(`${this.g.name}/${name}.weight`);
    const weight = this.g.lazy(
      `${name}.weight_Q4`,
      [n, blocks, Q4_BLOCK / 2],
      TensorDataType.UINT8,
      () => randomBytes(seed, n * blocks * (Q4_BLOCK / 2)),
    );
    const scales = this.floats(`${name}.weight_scales`, [n * blocks], std / 46, std / 4.6);
    return this.g.domainOp('com.microsoft', 'MatMulNBits', [x, weight, scales], {
      K: attr.int(k),
      N: attr.int(n),
      bits: attr.int(4),
      block_size: attr.int(Q4_BLOCK),
    });
  }

  /** A k×k convolution [out, in, k, k] with bias; padding `pads` (default same). */
  conv(
    x: string,
    name: string,
    inputs: number,
    outputs: number,
    kernel: number,
    options: { stride?: number; pads?: number[] } = {},
  ): string {
    const type = this.precision.conv === 'int8' ? this.precision.float : this.precision.conv;
    const dims = [outputs, inputs, kernel, kernel];
    const std = 1 / Math.sqrt(inputs * kernel * kernel);
    const w =
      this.precision.conv === 'int8'
        ? this.int8Weight(`${name}.weight`, dims, std)
        : this.param(`${name}.weight`, dims, std, 0, type);
    const b = this.param(`${name}.bias`, [outputs], 0.02, 0, type);
    const pad = (kernel - 1) / 2;
    const stride = options.stride ?? 1;
    const y = this.g.op('Conv', [this.cast(x, this.precision.float, type), w, b], {
      kernel_shape: attr.ints([kernel, kernel]),
      pads: attr.ints(options.pads ?? [pad, pad, pad, pad]),
      strides: attr.ints([stride, stride]),
    });
    return this.cast(y, type, this.precision.float);
  }

  /** Uniform uint8 weights around the zero point 128, dequantized to the float type. */
  private int8Weight(name: string, dims: number[], std: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    this.g.countParameters(count);
    const seed = seedOf(`${this.g.name}/${name}`);
    const q = this.g.lazy(`${name}_quantized`, dims, TensorDataType.UINT8, () =>
      randomBytes(seed, count),
    );
    // Uniform bytes have std 73.9 around 127.5.
    const scale = this.g.float32(`${name}_scale`, [], [std / 73.9]);
    const zero = this.g.lazy(`${name}_zero_point`, [], TensorDataType.UINT8, () =>
      Uint8Array.of(128),
    );
    const w = this.g.op('DequantizeLinear', [q, scale, zero]);
    return this.cast(w, 'fp32', this.precision.float);
  }

  /** torch's GroupNorm export: Reshape / InstanceNormalization / Reshape / Mul / Add. */
  groupNorm(x: string, name: string, channels: number, eps: number, groups = 32): string {
    const grouped = this.g.op('Reshape', [x, this.int64([0, groups, -1])]);
    const normed = this.g.op(
      'InstanceNormalization',
      [grouped, this.filled(1, groups), this.filled(0, groups)],
      { epsilon: attr.float(eps) },
    );
    const back = this.g.op('Reshape', [normed, this.g.op('Shape', [x])]);
    const gamma = this.param(`${name}.weight`, [channels, 1, 1], 0.05, 1);
    const beta = this.param(`${name}.bias`, [channels, 1, 1], 0.05);
    return this.g.op('Add', [this.g.op('Mul', [back, gamma]), beta]);
  }

  layerNorm(x: string, name: string, width: number, eps = 1e-5): string {
    const gamma = this.param(`${name}.weight`, [width], 0.05, 1);
    const beta = this.param(`${name}.bias`, [width], 0.05);
    return this.g.op('LayerNormalization', [x, gamma, beta], {
      axis: attr.int(-1),
      epsilon: attr.float(eps),
    });
  }

  silu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x])]);
  }

  /** Exact GELU as torch exports it: x · 0.5 · (1 + Erf(x / √2)). */
  gelu(x: string): string {
    const erf = this.g.op('Erf', [this.g.op('Div', [x, this.scalar(Math.SQRT2)])]);
    return this.g.op('Mul', [
      this.g.op('Mul', [x, this.g.op('Add', [erf, this.scalar(1)])]),
      this.scalar(0.5),
    ]);
  }

  /** CLIP ViT-L's quick_gelu: x · Sigmoid(1.702 x). */
  quickGelu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [this.g.op('Mul', [x, this.scalar(1.702)])])]);
  }

  /** Nearest-neighbour x2 upsampling of [b, c, h, w] (F.interpolate(scale_factor=2)). */
  upsampleNearest2x(x: string): string {
    const scales = this.float32Vector('scales_2x', [1, 1, 2, 2]);
    return this.g.op('Resize', [x, '', scales], {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    });
  }

  /**
   * Multi-head attention of `query` [b, n, width] over `context` [b, m, contextWidth]:
   * to_q / to_k / to_v, heads of `headDim`, softmax(q kᵀ / √d) v, then to_out.
   */
  attention(
    query: string,
    context: string,
    names: { q: string; k: string; v: string; out: string },
    width: number,
    contextWidth: number,
    headDim: number,
    options: { qkvBias: boolean; mask?: string },
  ): string {
    const heads = width / headDim;
    const q = this.linear(query, names.q, width, width, options.qkvBias);
    const k = this.linear(context, names.k, contextWidth, width, options.qkvBias);
    const v = this.linear(context, names.v, contextWidth, width, options.qkvBias);
    const split = this.int64([0, -1, heads, headDim]);
    const qh = this.g.op('Transpose', [this.g.op('Reshape', [q, split])], {
      perm: attr.ints([0, 2, 1, 3]),
    });
    const kt = this.g.op('Transpose', [this.g.op('Reshape', [k, split])], {
      perm: attr.ints([0, 2, 3, 1]),
    });
    const vh = this.g.op('Transpose', [this.g.op('Reshape', [v, split])], {
      perm: attr.ints([0, 2, 1, 3]),
    });
    let scores = this.g.op('Mul', [
      this.g.op('MatMul', [qh, kt]),
      this.scalar(1 / Math.sqrt(headDim)),
    ]);
    if (options.mask) scores = this.g.op('Add', [scores, options.mask]);
    const probs = this.g.op('Softmax', [scores], { axis: attr.int(-1) });
    const mixed = this.g.op('Transpose', [this.g.op('MatMul', [probs, vh])], {
      perm: attr.ints([0, 2, 1, 3]),
    });
    const merged = this.g.op('Reshape', [mixed, this.int64([0, -1, width])]);
    return this.linear(merged, names.out, width, width, true);
  }

  /**
   * Sinusoidal embedding of a float vector `t` [n] to [n, dim] as diffusers' Timesteps
   * (flip_sin_to_cos, shift 0): frequencies exp(-ln(10000)·i/half), then [cos, sin]. Computed
   * in float32 (Cast in fp16 graphs, as an fp16 export does).
   */
  sinusoid(t: string, dim: number, key: string): string {
    const half = dim / 2;
    const freqs = new Float32Array(half);
    for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / half);
    const angles = this.g.op('Mul', [
      this.g.op('Reshape', [this.cast(t, this.precision.float, 'fp32'), this.int64([-1, 1])]),
      this.g.op('Unsqueeze', [this.float32Vector(`freqs_${key}`, freqs), this.int64([0])]),
    ]);
    const embedding = this.g.op(
      'Concat',
      [this.g.op('Cos', [angles]), this.g.op('Sin', [angles])],
      {
        axis: attr.int(1),
      },
    );
    return this.cast(embedding, 'fp32', this.precision.float);
  }
}
