/**
 * File layout of a standard diffusers/optimum ONNX export of SDXL, relative to the model's
 * base URL or directory. Both the app and the Node runner read models through these paths.
 */
export const MODEL_FILES = {
  tokenizerVocab: 'tokenizer/vocab.json',
  tokenizerMerges: 'tokenizer/merges.txt',
  tokenizerSpecialTokens: 'tokenizer/special_tokens_map.json',
  tokenizer2Vocab: 'tokenizer_2/vocab.json',
  tokenizer2Merges: 'tokenizer_2/merges.txt',
  tokenizer2SpecialTokens: 'tokenizer_2/special_tokens_map.json',
  textEncoder: 'text_encoder/model.onnx',
  textEncoder2: 'text_encoder_2/model.onnx',
  unet: 'unet/model.onnx',
  vaeDecoder: 'vae_decoder/model.onnx',
  vaeEncoder: 'vae_encoder/model.onnx',
  /** Optional: TAESDXL (madebyollin/taesdxl) weights, diffusers layout; live-mode previews. */
  taesd: 'taesdxl/diffusion_pytorch_model.safetensors',
} as const;

/**
 * diffusers' config files that say which model an export is (families/registry.ts recognises
 * the family from them). Optional: an export without them is taken as the default family.
 */
export const FAMILY_CONFIG_FILES = {
  schedulerConfig: 'scheduler/scheduler_config.json',
  modelIndex: 'model_index.json',
} as const;

/** The graphs of a model set, in the order a text-to-image run needs them. */
export const GRAPH_NAMES = ['textEncoder', 'textEncoder2', 'unet', 'vaeDecoder'] as const;
/** Graphs a model set may lack: without vae_encoder there is no image-to-image. */
export const OPTIONAL_GRAPH_NAMES = ['vaeEncoder'] as const;
export type GraphName = (typeof GRAPH_NAMES)[number] | (typeof OPTIONAL_GRAPH_NAMES)[number];
