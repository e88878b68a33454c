/**
 * Seeded standard-normal noise: the app's first generator ("mulberry32" in PNG parameters; an
 * image whose parameters name no generator was made with it). The same seed gives the same
 * latents in every browser and in Node (only IEEE-exact integer ops and V8's deterministic
 * Math.log/cos/sqrt are used), so the Node runner is a reference for the app. It is not torch's
 * generator: new images use noise/torch-cpu-noise.ts, which is; this one stays so that older
 * images can be made again exactly.
 */

/** mulberry32: a small, fast 32-bit PRNG with a full 2^32 period over seeds. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class GaussianNoise {
  private readonly uniform: () => number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer in 0..4294967295, got ${seed}`);
    }
    this.uniform = mulberry32(seed);
  }

  /** `count` samples of N(0, 1) by the Box-Muller transform, two at a time. */
  sample(count: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i += 2) {
      const u1 = 1 - this.uniform(); // (0, 1]: log stays finite
      const u2 = this.uniform();
      const radius = Math.sqrt(-2 * Math.log(u1));
      const angle = 2 * Math.PI * u2;
      out[i] = radius * Math.cos(angle);
      if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
    }
    return out;
  }
}
