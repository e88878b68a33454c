import { beforeAll, describe, expect, it } from 'vitest';
import { CONTEXT_LENGTH, ClipTokenizer, normalize } from './clip-tokenizer.ts';
import { readClipVocabulary } from '../../../scripts/test-model/tokenizer-files.ts';

// The real CLIP vocabulary, built from the shared merges file (the app reads the model host's).
let tokenizer: ClipTokenizer;
let tokenizer2: ClipTokenizer;

beforeAll(() => {
  const { vocab, merges } = readClipVocabulary();
  const mergesTxt = ['#version: 0.2', ...merges].join('\n');
  tokenizer = new ClipTokenizer({ vocab, merges: mergesTxt, padToken: '<|endoftext|>' });
  tokenizer2 = new ClipTokenizer({ vocab, merges: mergesTxt, padToken: '!' });
});

const BOS = 49406;
const EOS = 49407;

describe('CLIP tokenizer on the real vocabulary', () => {
  it('has the 49408-token vocabulary with the known special ids', () => {
    expect(tokenizer.bosId).toBe(BOS);
    expect(tokenizer.eosId).toBe(EOS);
    expect(tokenizer.padId).toBe(EOS);
    expect(tokenizer2.padId).toBe(0); // '!'
  });

  it('"a photo of a cat" -> BOS 320 1125 539 320 2368 EOS, padded to 77', () => {
    const ids = tokenizer.encode('a photo of a cat');
    expect(ids).toHaveLength(CONTEXT_LENGTH);
    expect(ids.slice(0, 7)).toEqual([BOS, 320, 1125, 539, 320, 2368, EOS]);
    expect(ids.slice(7).every((id) => id === EOS)).toBe(true);
  });

  it('tokenizer_2 pads with "!" (id 0) after the same ids', () => {
    const ids = tokenizer2.encode('a photo of a cat');
    expect(ids.slice(0, 7)).toEqual([BOS, 320, 1125, 539, 320, 2368, EOS]);
    expect(ids.slice(7)).toEqual(new Array(70).fill(0));
  });

  it('is case- and whitespace-insensitive and unescapes HTML twice', () => {
    const plain = tokenizer.encode('a photo of a cat');
    expect(tokenizer.encode('  A   Photo\n of\ta CAT ')).toEqual(plain);
    expect(normalize('fish &amp;amp; chips')).toBe('fish & chips');
    expect(tokenizer.encode('fish &amp;amp; chips')).toEqual(tokenizer.encode('fish & chips'));
  });

  it('splits punctuation, digits and contractions as CLIP does', () => {
    // Known CLIP ids: "," = 267, "." = 269, "1" = 272, "2" = 273, "it" = 585, "'s" = 568
    const ids = tokenizer.encodeText("it's 12, ok.");
    expect(ids.slice(0, 2)).toEqual([585, 568]);
    expect(ids.slice(2, 5)).toEqual([272, 273, 267]);
    expect(ids.at(-1)).toBe(269);
  });

  it('encodes words outside the merges as byte-level pieces, and emoji and other scripts without failing', () => {
    for (const text of [
      'xqzvvkjw',
      'ein Hund 🐶 im Schnee',
      'قطة على السطح',
      '猫',
      'a\u0000b\u0007c',
    ]) {
      const ids = tokenizer.encode(text);
      expect(ids).toHaveLength(CONTEXT_LENGTH);
      expect(ids[0]).toBe(BOS);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 49408)).toBe(true);
    }
    expect(tokenizer.countTokens('🐶')).toBeGreaterThan(0);
  });

  it('truncates long prompts to 75 tokens between BOS and EOS', () => {
    const long = Array.from({ length: 200 }, () => 'cat').join(' ');
    const ids = tokenizer.encode(long);
    expect(ids).toHaveLength(CONTEXT_LENGTH);
    expect(ids[0]).toBe(BOS);
    expect(ids.slice(1, 76).every((id) => id === 2368)).toBe(true);
    expect(ids[76]).toBe(EOS);
    expect(tokenizer.countTokens(long)).toBe(200);
  });

  it('an empty prompt is BOS, EOS and padding', () => {
    expect(tokenizer.encode('').slice(0, 3)).toEqual([BOS, EOS, EOS]);
    expect(tokenizer2.encode('   ').slice(0, 3)).toEqual([BOS, EOS, 0]);
  });
});

describe('CLIP tokenizer on hostile text', () => {
  it('gives 77 valid ids for control characters, NUL, emoji, RTL text, entities and 10,000 characters', () => {
    const piece =
      '\u0000\u0007\u001b[31m 🐱‍👤👩🏽‍🚀 قطة على السجادة \u202Eevil\u202C שלום &#xD800; &#0; &#1114112; <b>bold</b> \uD83D ';
    for (const text of ['', '\u0000', piece, piece.repeat(200).slice(0, 10_000)]) {
      for (const t of [tokenizer, tokenizer2]) {
        const ids = t.encode(text);
        expect(ids).toHaveLength(CONTEXT_LENGTH);
        expect(ids[0]).toBe(BOS);
        expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 49408)).toBe(true);
      }
    }
    // Only the first 75 text tokens count: a long prompt is cut, not refused.
    expect(tokenizer.encode('cat '.repeat(2500)).slice(1, 76)).toEqual(Array(75).fill(2368));
  });
});
