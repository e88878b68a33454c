/**
 * The 32-bit Mersenne Twister (MT19937, Matsumoto & Nishimura 1998) as PyTorch's CPU generator
 * runs it (aten/src/ATen/core/MT19937RNGEngine.h, `at::mt19937`):
 * - seeding is the reference `init_genrand`: state[0] = seed, then
 *   state[i] = 1812433253 * (state[i-1] ^ (state[i-1] >> 30)) + i, all mod 2^32. torch keeps the
 *   state as uint32, so its 64-bit `manual_seed` keeps the low 32 bits of the seed; seeds in
 *   0..2^32-1 (this app's range) go in unchanged.
 * - each output is the next state word after the usual twist, tempered with the reference
 *   shifts and masks (11; 7, 0x9d2c5680; 15, 0xefc60000; 18).
 * All arithmetic is on uint32 values through Math.imul and >>> 0, so it is exact in any engine.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class Mt19937 {
  private readonly state = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer in 0..4294967295, got ${seed}`);
    }
    const s = this.state;
    s[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = s[i - 1]!;
      s[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  /** The next 32-bit output, as an unsigned integer. */
  next(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Regenerates all 624 words (the reference `genrand_int32` refill). */
  private twist(): void {
    const s = this.state;
    for (let i = 0; i < N; i++) {
      const y = (s[i]! & UPPER_MASK) | (s[(i + 1) % N]! & LOWER_MASK);
      s[i] = s[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.index = 0;
  }
}
