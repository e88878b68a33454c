import { bytesToUnicode } from './byte-encoder.ts';

/** Number of merges CLIP keeps from bpe_simple_vocab_16e6.txt: 49152 - 256 - 2. */
export const CLIP_MERGE_COUNT = 49152 - 256 - 2;

/**
 * CLIP's 49408-token vocabulary built from OpenAI's merges file (bpe_simple_vocab_16e6.txt),
 * in CLIP's id order: 256 byte symbols, the same with '</w>', one token per merge, then
 * <|startoftext|> and <|endoftext|>. Hosted models ship the result as vocab.json + merges.txt.
 */
export function clipVocabFromBpe(bpeText: string): {
  vocab: Record<string, number>;
  merges: string[];
} {
  const merges = bpeText.split('\n').slice(1, CLIP_MERGE_COUNT + 1);
  if (merges.length !== CLIP_MERGE_COUNT) {
    throw new Error(`expected ${CLIP_MERGE_COUNT} merges, found ${merges.length}`);
  }
  const symbols = [...bytesToUnicode().values()];
  const tokens = [
    ...symbols,
    ...symbols.map((s) => `${s}</w>`),
    ...merges.map((m) => m.split(' ').join('')),
    '<|startoftext|>',
    '<|endoftext|>',
  ];
  const vocab: Record<string, number> = {};
  tokens.forEach((token, id) => {
    vocab[token] = id;
  });
  return { vocab, merges };
}
