/**
 * The CLIP tokenizer folders (`tokenizer/`, `tokenizer_2/`) in HuggingFace's format, built from
 * OpenAI's bpe_simple_vocab_16e6.txt.gz exactly as CLIP's SimpleTokenizer builds its vocabulary.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { clipVocabFromBpe } from '../../src/pipeline/tokenizer/clip-vocab.ts';

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the merges file lives: $CLIP_BPE_PATH, else ../shared/data beside the repository. */
export function clipBpePath(): string {
  return (
    process.env.CLIP_BPE_PATH ??
    path.resolve(repoRoot, '../shared/data/clip-bpe-simple-vocab-16e6.txt.gz')
  );
}

/** CLIP's vocabulary (token -> id) and merges ("a b", by rank) from the shared merges file. */
export function readClipVocabulary(file = clipBpePath()): {
  vocab: Record<string, number>;
  merges: string[];
} {
  let text: string;
  try {
    text = gunzipSync(readFileSync(file)).toString('utf8');
  } catch (error) {
    throw new Error(
      `cannot read the CLIP BPE merges at ${file} (set CLIP_BPE_PATH to override): ${String(error)}`,
    );
  }
  return clipVocabFromBpe(text);
}

export interface TokenizerFiles {
  'vocab.json': string;
  'merges.txt': string;
  'special_tokens_map.json': string;
  'tokenizer_config.json': string;
}

/** The four files of a tokenizer folder; `padToken` differs between tokenizer and tokenizer_2. */
export function tokenizerFiles(
  vocab: Record<string, number>,
  merges: string[],
  padToken: string,
): TokenizerFiles {
  const vocabulary = Object.keys(vocab).sort((a, b) => (vocab[a] as number) - (vocab[b] as number));
  // Written by hand to keep id order: JSON.stringify would move integer-like keys ("0".."9") first.
  const vocabJson = `{${vocabulary.map((t, id) => `${JSON.stringify(t)}: ${id}`).join(', ')}}\n`;
  const special = {
    bos_token: START_OF_TEXT,
    eos_token: END_OF_TEXT,
    unk_token: END_OF_TEXT,
    pad_token: padToken,
  };
  const config = {
    add_prefix_space: false,
    ...special,
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    errors: 'replace',
    model_max_length: 77,
    tokenizer_class: 'CLIPTokenizer',
  };
  return {
    'vocab.json': vocabJson,
    'merges.txt': `#version: 0.2\n${merges.join('\n')}\n`,
    'special_tokens_map.json': `${JSON.stringify(special, null, 2)}\n`,
    'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n`,
  };
}
