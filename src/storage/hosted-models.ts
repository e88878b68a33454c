/**
 * Manifests of SDXL builds hosted on Hugging Face (see DESIGN.md "Hosted builds"): SDXL Turbo
 * and SDXL-Lightning (each manifest names its model family).
 *
 * Nothing here was fetched from this machine. Sizes come from the model cards and from public
 * demo code, so every file is marked `bytesApproximate`: the download manager asks the host for
 * the exact size (HEAD) before storing anything. No SHA-256 is listed because none was checked;
 * a wrong size or an HTML answer is still caught, and every chunk carries its own checksum.
 */
import { SDXL_LIGHTNING } from '../pipeline/families/sdxl-lightning.ts';
import { FAMILY_CONFIG_FILES, MODEL_FILES } from '../pipeline/model-layout.ts';
import { parseManifest, type Manifest, type ManifestFile } from './manifest.ts';

const HF = 'https://huggingface.co';

function resolveUrl(repo: string, file: string, revision = 'main'): string {
  return `${HF}/${repo}/resolve/${revision}/${file}`;
}

/**
 * The CLIP tokenizer files, from stabilityai/sdxl-turbo (the webnn build has none, and this
 * repository certainly has both folders). Both tokenizers share one vocabulary; the second
 * pads with '!' (its special_tokens_map.json says so).
 */
function tokenizerFiles(): ManifestFile[] {
  const repo = 'stabilityai/sdxl-turbo';
  const files: Array<[path: string, bytes: number, optional: boolean]> = [
    [MODEL_FILES.tokenizerVocab, 1_059_962, false],
    [MODEL_FILES.tokenizerMerges, 524_619, false],
    [MODEL_FILES.tokenizerSpecialTokens, 588, true],
    [MODEL_FILES.tokenizer2Vocab, 1_059_962, false],
    [MODEL_FILES.tokenizer2Merges, 524_619, false],
    [MODEL_FILES.tokenizer2SpecialTokens, 576, true],
  ];
  return files.map(([path, bytes, optional]) => ({
    path,
    url: resolveUrl(repo, path),
    bytes,
    bytesApproximate: true,
    role: 'tokenizer',
    ...(optional ? { optional } : {}),
  }));
}

/**
 * TAESDXL (madebyollin/taesdxl, MIT): the tiny autoencoder whose decoder draws live-mode
 * previews, as diffusers-layout safetensors (encoder + decoder, ~2.4 M float32 parameters, so
 * about 9.8 MB). Optional: without it live mode decodes every frame with the full VAE. For
 * builds that do not ship their own copy.
 */
export function taesdxlFile(repo = 'madebyollin/taesdxl'): ManifestFile {
  return {
    path: MODEL_FILES.taesd,
    url: resolveUrl(repo, 'diffusion_pytorch_model.safetensors'),
    bytes: 9_800_000,
    bytesApproximate: true,
    role: 'weights',
    optional: true,
  };
}

/**
 * webnn/sdxl-turbo: int4 MatMulNBits + fp16 (q4f16), fp16-fix VAE, ~2.67 GB. The four graphs are
 * single files under onnx/ with their weights inline (no external data); the UNet graph is
 * 1.97 GB, just under the 2 GiB a browser ArrayBuffer may hold. No vae_encoder.
 */
export const WEBNN_SDXL_TURBO_Q4F16: Manifest = parseManifest({
  id: 'webnn-sdxl-turbo-q4f16',
  revision: 'main',
  displayName: 'SDXL Turbo q4f16 (webnn/sdxl-turbo)',
  baseUrl: `${HF}/webnn/sdxl-turbo/resolve/main/`,
  files: [
    ...tokenizerFiles(),
    taesdxlFile(),
    ...(
      [
        ['textEncoder', MODEL_FILES.textEncoder, 'onnx/text_encoder_model_q4f16.onnx', 124_433_929],
        [
          'textEncoder2',
          MODEL_FILES.textEncoder2,
          'onnx/text_encoder_2_model_q4f16.onnx',
          483_677_630,
        ],
        ['unet', MODEL_FILES.unet, 'onnx/unet_model_q4f16.onnx', 1_965_607_674],
        ['vaeDecoder', MODEL_FILES.vaeDecoder, 'onnx/vae_decoder_model_q4f16.onnx', 97_617_257],
      ] as const
    ).map(([graph, path, file, bytes]) => ({
      path,
      url: resolveUrl('webnn/sdxl-turbo', file),
      bytes,
      bytesApproximate: true,
      role: 'graph',
      graph,
    })),
  ],
});

/**
 * stabilityai/sdxl-turbo's own ONNX export (fp32, optimum layout, standard operators), stored
 * as fp16: the text encoders and the UNet are converted to fp16 as they stream into the store
 * (src/pipeline/onnx/fp16-convert.ts: Resize parameters and the timestep embedding stay fp32);
 * the VAE decoder and encoder stay fp32, because SDXL's stock VAE overflows in fp16. About
 * 14 GB to download (the fp32 files), about 7 GB kept.
 *
 * Why not a ready fp16 export: the ones published (TensorStack/SDXL-Turbo-onnx and other Olive
 * exports tuned for DirectML) use com.microsoft GroupNorm and packed-QKV MultiHeadAttention,
 * which neither backend of onnxruntime-web 1.30 has (DESIGN.md, "Hosted builds").
 *
 * Sizes are estimates from the parameter counts (4 bytes each): CLIP ViT-L text 123 M,
 * OpenCLIP bigG text 695 M, UNet 2.57 B, VAE decoder 49.5 M, VAE encoder 34.2 M.
 */
export const SDXL_TURBO_FP16_CONVERTED: Manifest = parseManifest({
  id: 'sdxl-turbo-fp16-converted',
  revision: 'main',
  displayName: 'SDXL Turbo fp16, converted from stabilityai/sdxl-turbo',
  baseUrl: `${HF}/stabilityai/sdxl-turbo/resolve/main/`,
  files: [
    ...tokenizerFiles(),
    taesdxlFile(),
    ...(
      [
        ['textEncoder', 'graph', MODEL_FILES.textEncoder, 492_300_000, 'fp16'],
        ['textEncoder2', 'graph', MODEL_FILES.textEncoder2, 1_200_000, 'fp16'],
        ['textEncoder2', 'external-data', 'text_encoder_2/model.onnx_data', 2_778_700_000, 'fp16'],
        ['unet', 'graph', MODEL_FILES.unet, 7_000_000, 'fp16'],
        ['unet', 'external-data', 'unet/model.onnx_data', 10_270_000_000, 'fp16'],
        ['vaeDecoder', 'graph', MODEL_FILES.vaeDecoder, 198_100_000, null],
        ['vaeEncoder', 'graph', MODEL_FILES.vaeEncoder, 136_800_000, null],
      ] as const
    ).map(([graph, role, path, bytes, storeAs]) => ({
      path,
      url: resolveUrl('stabilityai/sdxl-turbo', path),
      bytes,
      bytesApproximate: true,
      role,
      graph,
      ...(storeAs ? { storeAs } : {}),
      ...(graph === 'vaeEncoder' ? { optional: true } : {}),
    })),
  ],
});

const LIGHTNING_REPO = 'Cyronius/sdxl-lightning-4step-onnx-web-fp16-3shard';

/**
 * SDXL-Lightning 4-step, the web build of Cyronius/sdxl-lightning-4step-onnx-web-fp16-3shard
 * (family: families/sdxl-lightning.ts): ByteDance's 4-step UNet in SDXL base, converted to
 * fp16 with float32 inputs and outputs, the fp16-fix VAE decoder, no VAE encoder, and the
 * UNet's external data in three shards (model.onnx_data, _1, _2) so that none is over the
 * ~2 GB a browser ArrayBuffer holds. About 6.9 GB, downloaded and kept as is.
 *
 * The file list and the sizes are from the build's model card (its "Contents" table), which
 * gives sizes rounded to 3 digits and the text encoders' and VAE decoder's graph and external
 * data together: the split between them below is an estimate (fp16 CLIP-L is 123 M parameters,
 * 246 MB). Every size is marked approximate, so the download manager reads the exact size
 * from the host (HEAD) before storing anything; README "Model families" says what was checked.
 * The tokenizer files come from stabilityai/sdxl-turbo (SDXL's own CLIP tokenizers, which the
 * card says this build bundles, but only as "fast tokenizers (tokenizer.json)").
 */
export const SDXL_LIGHTNING_4STEP_FP16: Manifest = parseManifest({
  id: 'sdxl-lightning-4step-fp16-3shard',
  revision: 'main',
  displayName: 'SDXL-Lightning 4-step fp16 (Cyronius/sdxl-lightning-4step-onnx-web-fp16-3shard)',
  baseUrl: `${HF}/${LIGHTNING_REPO}/resolve/main/`,
  family: SDXL_LIGHTNING.id,
  files: [
    ...tokenizerFiles(),
    taesdxlFile(),
    ...(
      [
        ['textEncoder', 'graph', MODEL_FILES.textEncoder, 400_000],
        ['textEncoder', 'external-data', 'text_encoder/model.onnx_data', 246_000_000],
        ['textEncoder2', 'graph', MODEL_FILES.textEncoder2, 1_200_000],
        ['textEncoder2', 'external-data', 'text_encoder_2/model.onnx_data', 1_389_000_000],
        ['unet', 'graph', MODEL_FILES.unet, 6_000_000],
        ['unet', 'external-data', 'unet/model.onnx_data', 2_000_000_000],
        ['unet', 'external-data', 'unet/model.onnx_data_1', 2_000_000_000],
        ['unet', 'external-data', 'unet/model.onnx_data_2', 1_130_000_000],
        ['vaeDecoder', 'graph', MODEL_FILES.vaeDecoder, 500_000],
        ['vaeDecoder', 'external-data', 'vae_decoder/model.onnx_data', 98_500_000],
      ] as const
    ).map(([graph, role, path, bytes]) => ({
      path,
      url: resolveUrl(LIGHTNING_REPO, path),
      bytes,
      bytesApproximate: true,
      role,
      graph,
    })),
    // Its scheduler config and model index (a few hundred bytes each): a stored copy is then
    // recognised as SDXL-Lightning from its own files too.
    ...[FAMILY_CONFIG_FILES.schedulerConfig, FAMILY_CONFIG_FILES.modelIndex].map((path) => ({
      path,
      url: resolveUrl(LIGHTNING_REPO, path),
      bytes: 600,
      bytesApproximate: true,
      role: 'config',
      optional: true,
    })),
  ],
});

/** The hosted builds the app offers: SDXL Turbo smallest download first, then other families. */
export const HOSTED_MODELS: readonly Manifest[] = [
  WEBNN_SDXL_TURBO_Q4F16,
  SDXL_TURBO_FP16_CONVERTED,
  SDXL_LIGHTNING_4STEP_FP16,
];
