import { bytesToUnicode } from './byte-encoder.ts';

/** CLIP's context length: <|startoftext|> + 75 tokens + <|endoftext|>, padded to 77. */
export const CONTEXT_LENGTH = 77;
const START_OF_TEXT = '<|startoftext|>';
const END_OF_TEXT = '<|endoftext|>';

/**
 * CLIP's pre-tokenizer: special tokens, English contractions, runs of letters, single digits,
 * and runs of other non-space characters. Matched on lower-cased text.
 */
const WORD_PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

export interface ClipTokenizerFiles {
  /** tokenizer/vocab.json: token string -> id. */
  vocab: Record<string, number>;
  /** tokenizer/merges.txt: "#version" header line, then one "a b" merge per line, by rank. */
  merges: string;
  /** The padding token: '<|endoftext|>' for `tokenizer`, '!' for `tokenizer_2`. */
  padToken: string;
}

/**
 * Byte-level BPE tokenizer matching OpenAI CLIP / transformers' CLIPTokenizer (without ftfy):
 * HTML-unescape twice, collapse whitespace, lower-case, split into words, BPE each word.
 */
export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly vocab: Map<string, number>;
  private readonly mergeRanks: Map<string, number>;
  private readonly byteEncoder = bytesToUnicode();
  private readonly textEncoder = new TextEncoder();
  private readonly cache = new Map<string, string[]>();

  constructor(files: ClipTokenizerFiles) {
    this.vocab = new Map(Object.entries(files.vocab));
    this.mergeRanks = new Map();
    const lines = files.merges.split(/\r?\n/);
    let rank = 0;
    for (const line of lines) {
      if (line.startsWith('#version') || line.trim() === '') continue;
      this.mergeRanks.set(line, rank++);
    }
    this.bosId = this.requireId(START_OF_TEXT);
    this.eosId = this.requireId(END_OF_TEXT);
    this.padId = this.requireId(files.padToken);
  }

  /** Token ids of the text without special tokens or padding. */
  encodeText(text: string): number[] {
    const ids: number[] = [];
    for (const word of normalize(text).match(WORD_PATTERN) ?? []) {
      if (word === START_OF_TEXT || word === END_OF_TEXT) {
        ids.push(this.requireId(word));
        continue;
      }
      const unicodeWord = Array.from(this.textEncoder.encode(word), (b) =>
        this.byteEncoder.get(b),
      ).join('');
      for (const token of this.bpe(unicodeWord)) ids.push(this.requireId(token));
    }
    return ids;
  }

  /**
   * The 77 ids the text encoders take: BOS, at most 75 text tokens (longer prompts are
   * truncated, as diffusers does), EOS, then padding.
   */
  encode(text: string): number[] {
    const body = this.encodeText(text).slice(0, CONTEXT_LENGTH - 2);
    const ids = [this.bosId, ...body, this.eosId];
    while (ids.length < CONTEXT_LENGTH) ids.push(this.padId);
    return ids;
  }

  /** How many text tokens the prompt has, so the UI can say when it will be truncated. */
  countTokens(text: string): number {
    return this.encodeText(text).length;
  }

  private requireId(token: string): number {
    const id = this.vocab.get(token);
    if (id === undefined)
      throw new Error(`Tokenizer vocabulary has no token ${JSON.stringify(token)}`);
    return id;
  }

  /** Byte-pair merges of one word, the last symbol marked with '</w>'. */
  private bpe(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const chars = Array.from(word);
    let symbols = [...chars.slice(0, -1), `${chars[chars.length - 1] ?? ''}</w>`];
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestIndex = -1;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.mergeRanks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) break;
      // Merge every occurrence of the best pair, left to right, as CLIP does.
      const first = symbols[bestIndex];
      const second = symbols[bestIndex + 1];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === first && symbols[i + 1] === second) {
          merged.push(`${first}${second}`);
          i++;
        } else {
          merged.push(symbols[i] as string);
        }
      }
      symbols = merged;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(word, symbols);
    return symbols;
  }
}

/** CLIP's basic_clean + whitespace_clean + lower(), without ftfy. */
export function normalize(text: string): string {
  return unescapeHtml(unescapeHtml(text)).replace(/\s+/g, ' ').trim().toLowerCase();
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
};

/**
 * Python's html.unescape for the entities that occur in prompts: named basics and numeric
 * references. (A DOM parser is not available in workers or Node, and must not be used on
 * user text anyway.)
 */
function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);?/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code =
        body[1] === 'x' || body[1] === 'X'
          ? parseInt(body.slice(2), 16)
          : parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff
        ? String.fromCodePoint(code)
        : whole;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}
