/** Seeds are unsigned 32-bit integers: the worker's noise generator takes exactly that. */
export const MAX_SEED = 0xffff_ffff;

/**
 * Reads a seed typed by the user. Returns null for anything that is not a finite number
 * (empty text, "abc", NaN, Infinity); otherwise the integer part, clamped to 0..MAX_SEED.
 */
export function parseSeed(input: string | number): number | null {
  let value: number;
  if (typeof input === 'number') {
    value = input;
  } else {
    const text = input.trim();
    // Number('') is 0 and Number('0x10') is 16: accept plain decimal notation only.
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return null;
    value = Number(text);
  }
  if (!Number.isFinite(value)) return null;
  return Math.min(MAX_SEED, Math.max(0, Math.trunc(value)));
}

/** A uniformly random uint32 from the platform's CSPRNG (the seed only needs to be unpredictable). */
export function randomSeed(): number {
  const out = new Uint32Array(1);
  crypto.getRandomValues(out);
  return out[0] ?? 0;
}
