/**
 * The graph contract every SDXL-architecture family shares (see graph-contract.ts for how it
 * is checked): input names, ranks and SDXL's fixed sizes (77 tokens, 2048 + 1280 conditioning
 * features, 6 time ids, 4 latent channels). Batch, height and width may be symbolic, and the
 * timestep's shape and type differ between exports. Float inputs may be float32 or float16:
 * fp16 builds differ in whether they keep float32 at their edges.
 *
 * Element types are ONNX TensorProto.DataType numbers, written out here so that the UI (which
 * reads the families for its choices) does not pull the protobuf schema into its bundle;
 * sdxl-graphs.test.ts checks them against onnx/schema.ts.
 */
import type { GraphContract, InputRule } from '../graph-contract.ts';

export const ONNX_ELEMENT = { FLOAT: 1, INT32: 6, INT64: 7, FLOAT16: 10 } as const;

const FLOATS = [ONNX_ELEMENT.FLOAT, ONNX_ELEMENT.FLOAT16] as const;
const IDS = [ONNX_ELEMENT.INT32, ONNX_ELEMENT.INT64] as const;
const TOKEN_IDS: InputRule = { name: 'input_ids', types: IDS, rank: 2, sizes: { 1: 77 } };

export const SDXL_GRAPH_CONTRACT: GraphContract = {
  textEncoder: [TOKEN_IDS],
  textEncoder2: [TOKEN_IDS],
  unet: [
    { name: 'sample', types: FLOATS, rank: 4, sizes: { 1: 4 } },
    { name: 'timestep' },
    { name: 'encoder_hidden_states', types: FLOATS, rank: 3, sizes: { 1: 77, 2: 2048 } },
    { name: 'text_embeds', types: FLOATS, rank: 2, sizes: { 1: 1280 } },
    { name: 'time_ids', types: FLOATS, rank: 2, sizes: { 1: 6 } },
  ],
  vaeDecoder: [
    { name: 'latent_sample', types: FLOATS, rank: 4, sizes: { 1: 4 }, anyNameIfSingle: true },
  ],
  vaeEncoder: [{ name: 'sample', types: FLOATS, rank: 4, sizes: { 1: 3 }, anyNameIfSingle: true }],
};

/** The four graphs text-to-image needs in every SDXL family. */
export const SDXL_TEXT_TO_IMAGE_GRAPHS = [
  'textEncoder',
  'textEncoder2',
  'unet',
  'vaeDecoder',
] as const;

/** Training configuration both SDXL families' Euler schedulers share (diffusers config keys). */
export const SDXL_SCHEDULER_BASE = {
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  steps_offset: 1,
  timestep_spacing: 'trailing',
  trained_betas: null,
} as const;
