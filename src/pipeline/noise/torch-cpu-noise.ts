import { Mt19937 } from './mt19937.ts';

/**
 * `torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)`,
 * call after call, in TypeScript: the noise diffusers draws for a seed when a pipeline is given
 * a CPU generator. Each `sample(count)` is one randn call of `count` contiguous values; like
 * torch, the values depend on how the draws are split into calls, not only on their total.
 *
 * Where each rule comes from (PyTorch source, 1.13 to 2.x; checked against torch 1.13's output
 * by src/pipeline/noise/torch-cpu-noise.test.ts):
 * - The engine is MT19937 seeded as `manual_seed` does (see mt19937.ts;
 *   aten/src/ATen/CPUGeneratorImpl.cpp). `manual_seed` also clears the cached normal below.
 * - A float uniform in [0, 1) takes one 32-bit output and keeps its low 24 bits:
 *   (x & (2^24 - 1)) * 2^-24 (`uniform_real_distribution<float>` over `generator->random()`,
 *   aten/src/ATen/core/TransformationHelper.h `uniform_real`). A double uniform takes
 *   `random64()`, two outputs with the first as the high word, and keeps the low 53 bits:
 *   (x & (2^53 - 1)) * 2^-53.
 * - float32 tensors of 16 or more values (`normal_fill` / `normal_fill_AVX2` in
 *   aten/src/ATen/native/cpu/DistributionTemplates.h): every value first gets a float uniform,
 *   in order; then each block of 16 is transformed in place with value j (0..7) paired with
 *   value j + 8: u1 = 1 - data[j], u2 = data[j + 8], radius = sqrt(-2 log u1),
 *   theta = 2 pi u2, data[j] = radius cos(theta), data[j + 8] = radius sin(theta). When the size
 *   is not a multiple of 16 the last 16 values are refilled with 16 fresh uniforms and
 *   transformed again (overwriting values the last whole block already wrote).
 * - Fewer than 16 values (`normal_kernel`'s serial path, same file, with
 *   `at::normal_distribution<double>` from aten/src/ATen/core/DistributionsHelper.h): each value
 *   is a double Box-Muller: u1, u2 double uniforms, r = sqrt(-2 log(1 - u2)) (torch 2.x writes
 *   log1p(-u2), used here; the two agree once rounded to float), theta = 2 pi u1; it returns r cos(theta) rounded to float and caches r sin(theta) on the
 *   generator, which the next value taken this way (in this call or a later one) uses instead
 *   of drawing. The float paths above neither read nor clear that cache.
 *
 * Float rounding: torch computes the 16-blocks in float32. Here each operation is done in
 * double and rounded to float32 (Math.fround), which gives the correctly rounded float result of
 * sqrt, products and theta; log, cos and sin differ from torch's float functions (glibc's or, in
 * the AVX2 kernel, avx_mathfun.h's polynomials) by a unit or so in the last place. The two
 * kernels torch picks between at run time round theta differently: the AVX2 one (x86 machines
 * with AVX2, most of those running diffusers) multiplies float(2 pi) by u2 in float, the
 * portable one (other CPUs, e.g. arm64) rounds 2 pi * u2 from double once; the results differ in
 * the last bit of theta for a few values in a thousand, up to about 2e-6 in the value. `kernel`
 * picks which to follow; either way every value is within 1e-6 of that kernel's torch output
 * (see the test).
 */
export type TorchCpuKernel = 'avx2' | 'portable';

export class TorchCpuNoise {
  private readonly engine: Mt19937;
  /** `next_double_normal_sample`: the second value of the serial path's last pair, if unused. */
  private cachedNormal: number | null = null;

  constructor(
    seed: number,
    private readonly kernel: TorchCpuKernel = 'avx2',
  ) {
    this.engine = new Mt19937(seed);
  }

  /** One `torch.randn` call of `count` values (any shape with that many elements). */
  sample(count: number): Float32Array {
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`count must be a non-negative integer, got ${count}`);
    }
    const out = new Float32Array(count);
    if (count >= 16) this.fillBlocks(out);
    else for (let i = 0; i < count; i++) out[i] = this.serialNormal();
    return out;
  }

  /** A float32 uniform in [0, 1) from 24 random bits. */
  private uniformFloat(): number {
    return (this.engine.next() & 0xffffff) * 2 ** -24;
  }

  /** A double uniform in [0, 1) from the low 53 bits of random64(). */
  private uniformDouble(): number {
    const high = this.engine.next();
    const low = this.engine.next();
    return ((high & 0x1fffff) * 2 ** 32 + low) * 2 ** -53;
  }

  private fillBlocks(data: Float32Array): void {
    const size = data.length;
    for (let i = 0; i < size; i++) data[i] = this.uniformFloat();
    const twoPi = this.kernel === 'avx2' ? TWO_PI_FLOAT : TWO_PI_DOUBLE;
    for (let i = 0; i + 16 <= size; i += 16) transformBlock(data, i, twoPi);
    if (size % 16 !== 0) {
      const start = size - 16;
      for (let i = 0; i < 16; i++) data[start + i] = this.uniformFloat();
      transformBlock(data, start, twoPi);
    }
  }

  private serialNormal(): number {
    if (this.cachedNormal !== null) {
      const cached = this.cachedNormal;
      this.cachedNormal = null;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** float32(2 pi): the AVX2 kernel's `_mm256_set1_ps(2.0f * c10::pi<double>)`. */
const TWO_PI_FLOAT = Math.fround(2 * Math.PI);
/** The portable kernel's `2.0f * c10::pi<double>`, a double. */
const TWO_PI_DOUBLE = 2 * Math.PI;

/**
 * Box-Muller on one block of 16 float uniforms, in place, pairing j with j + 8. theta rounds as
 * each kernel does: for AVX2 the product of two floats is exact in double, so rounding it to
 * float is the float multiply; the portable kernel rounds the double product, then converts
 * it to float, which is what the double multiply and Math.fround do here.
 */
function transformBlock(data: Float32Array, start: number, twoPi: number): void {
  const f = Math.fround;
  for (let j = start; j < start + 8; j++) {
    const u1 = 1 - data[j]!; // (0, 1]: exact in float, and log stays finite
    const u2 = data[j + 8]!;
    const radius = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
    const theta = f(twoPi * u2);
    data[j] = radius * f(Math.cos(theta));
    data[j + 8] = radius * f(Math.sin(theta));
  }
}
