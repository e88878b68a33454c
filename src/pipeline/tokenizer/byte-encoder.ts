/**
 * CLIP's reversible byte <-> unicode mapping (the GPT-2 scheme): every byte gets a printable
 * character so BPE can work on strings without whitespace or control characters.
 */
export function bytesToUnicode(): Map<number, string> {
  const printable: number[] = [];
  const ranges: Array<[number, number]> = [
    [0x21, 0x7e], // '!'..'~'
    [0xa1, 0xac], // '¡'..'¬'
    [0xae, 0xff], // '®'..'ÿ'
  ];
  for (const [from, to] of ranges) for (let b = from; b <= to; b++) printable.push(b);

  const map = new Map<number, string>();
  for (const b of printable) map.set(b, String.fromCharCode(b));
  // Bytes without a printable glyph are shifted past 255, in byte order.
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (!map.has(b)) {
      map.set(b, String.fromCharCode(256 + next));
      next++;
    }
  }
  return map;
}
