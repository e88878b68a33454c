/**
 * Manifests of SDXL Turbo builds hosted on Hugging Face (see DESIGN.md "Hosted builds").
 *
 * Nothing here was fetched from this machine. Sizes come from the model cards and from public
 * demo code, so every file is marked `bytesApproximate`: the download manager asks the host for
 * the exact size (HEAD) before storing anything. No SHA-256 is listed because none was checked;
 * a wrong size or an HTML answer is still caught, and every chunk carries its own checksum.
 */
import { MODEL_FILES } from '../pipeline/model-layout.ts';
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

/** The hosted builds the app offers, smallest download first. */
export const HOSTED_MODELS: readonly Manifest[] = [
  WEBNN_SDXL_TURBO_Q4F16,
  SDXL_TURBO_FP16_CONVERTED,
];
