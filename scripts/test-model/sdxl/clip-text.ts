/**
 * SDXL's two text encoders as transformers' CLIPTextModel / CLIPTextModelWithProjection export
 * them: token + position embeddings, pre-LayerNorm blocks with causal self-attention (64-wide
 * heads, biased q/k/v/out), MLP 4x wide, a final LayerNorm, pooling at the end-of-text token
 * (the highest id: ArgMax of the ids), and every layer's hidden state as an output.
 *
 *   text_encoder   CLIP ViT-L/14:    width 768, 12 layers, quick_gelu   (~123 M parameters)
 *   text_encoder_2 OpenCLIP ViT-bigG: width 1280, 32 layers, gelu, text_projection (~695 M)
 *
 * At a reduced scale the width shrinks and, so the pipeline still gets 768 and 1280 wide
 * outputs, one untrained projection (not counted as a parameter) widens the hidden states.
 */
import { TensorDataType } from '../../../src/pipeline/onnx/schema.ts';
import { attr, GraphBuilder } from '../onnx-builder.ts';
import { Layers, scaledWidth, type Precision } from './layers.ts';

export const VOCAB_SIZE = 49408;
export const SEQUENCE_LENGTH = 77;

export interface ClipTextConfig {
  name: 'text_encoder' | 'text_encoder_2';
  width: number;
  /** Width of the outputs the pipeline reads (the real encoder's width). */
  outputWidth: number;
  layers: number;
  headDim: number;
  activation: 'quick_gelu' | 'gelu';
  /** text_encoder_2 projects the pooled state to text_embeds (no bias). */
  projection: boolean;
}

export function clipTextConfig(which: 1 | 2, scale: number): ClipTextConfig {
  const outputWidth = which === 1 ? 768 : 1280;
  const headDim = 64;
  // Whole 64-wide heads: a width rounded only to 32 (e.g. 544 at --scale 0.7) splits no heads.
  const scaled = scaledWidth(outputWidth, scale);
  const width = scaled > headDim ? Math.round(scaled / headDim) * headDim : scaled;
  return {
    name: which === 1 ? 'text_encoder' : 'text_encoder_2',
    width,
    outputWidth,
    layers: which === 1 ? 12 : 32,
    headDim,
    activation: which === 1 ? 'quick_gelu' : 'gelu',
    projection: which === 2,
  };
}

export function buildClipText(
  config: ClipTextConfig,
  precision: Precision,
  ids: 'int32' | 'int64',
): GraphBuilder {
  const g = new GraphBuilder(config.name, precision.float);
  const n = new Layers(g, precision);
  const f = n.floatElem;
  const w = config.width;
  const headDim = Math.min(config.headDim, w);
  const batch = 'batch_size';
  const seq = 'sequence_length';
  const inputIds = g.input(
    'input_ids',
    ids === 'int32' ? TensorDataType.INT32 : TensorDataType.INT64,
    [batch, seq],
  );

  const tokens = n.param('text_model.embeddings.token_embedding.weight', [VOCAB_SIZE, w], 0.5);
  const positions = n.param(
    'text_model.embeddings.position_embedding.weight',
    [SEQUENCE_LENGTH, w],
    0.1,
  );
  let h = g.op('Add', [g.op('Gather', [tokens, inputIds]), positions]);

  const causal = new Float32Array(SEQUENCE_LENGTH * SEQUENCE_LENGTH);
  for (let i = 0; i < SEQUENCE_LENGTH; i++)
    for (let j = i + 1; j < SEQUENCE_LENGTH; j++) causal[i * SEQUENCE_LENGTH + j] = -10000;
  const mask = g.weight('causal_attention_mask', [SEQUENCE_LENGTH, SEQUENCE_LENGTH], causal);

  // Widening projection for reduced-scale replicas only.
  const widen =
    w === config.outputWidth
      ? undefined
      : n.floats('test_only.widen.weight', [w, config.outputWidth], 1 / Math.sqrt(w));
  const hiddenOutput = (x: string, name: string) => {
    g.op('Identity', [widen ? g.op('MatMul', [x, widen]) : x], {}, name);
  };

  const hiddenNames: string[] = [];
  hiddenOutput(h, 'hidden_states.0');
  hiddenNames.push('hidden_states.0');
  for (let l = 0; l < config.layers; l++) {
    const p = `text_model.encoder.layers.${l}`;
    const normed = n.layerNorm(h, `${p}.layer_norm1`, w);
    const attn = n.attention(
      normed,
      normed,
      {
        q: `${p}.self_attn.q_proj`,
        k: `${p}.self_attn.k_proj`,
        v: `${p}.self_attn.v_proj`,
        out: `${p}.self_attn.out_proj`,
      },
      w,
      w,
      headDim,
      { qkvBias: true, mask },
    );
    h = g.op('Add', [h, attn]);
    const mlpIn = n.layerNorm(h, `${p}.layer_norm2`, w);
    const hidden = n.linear(mlpIn, `${p}.mlp.fc1`, w, w * 4);
    const act = config.activation === 'gelu' ? n.gelu(hidden) : n.quickGelu(hidden);
    h = g.op('Add', [h, n.linear(act, `${p}.mlp.fc2`, w * 4, w)]);
    hiddenOutput(h, `hidden_states.${l + 1}`);
    hiddenNames.push(`hidden_states.${l + 1}`);
  }
  const last = n.layerNorm(h, 'text_model.final_layer_norm', w);
  hiddenOutput(last, 'last_hidden_state');

  // Pool at the end-of-text token: the position of the highest id (transformers' own rule).
  const eos = g.op('ArgMax', [g.op('Cast', [inputIds], { to: attr.int(TensorDataType.INT32) })], {
    axis: attr.int(-1),
    keepdims: attr.int(0),
  });
  const index = g.op('Expand', [g.op('Reshape', [eos, n.int64([-1, 1, 1])]), n.int64([1, 1, w])]);
  const pooled = g.op('Reshape', [
    g.op('GatherElements', [last, index], { axis: attr.int(1) }),
    n.int64([-1, w]),
  ]);
  if (config.projection) {
    const projection = n.param('text_projection.weight', [w, config.outputWidth], 1 / Math.sqrt(w));
    g.op('MatMul', [pooled, projection], {}, 'text_embeds');
    g.output('text_embeds', f, [batch, config.outputWidth]);
    g.output('last_hidden_state', f, [batch, seq, config.outputWidth]);
  } else {
    g.op('Identity', [widen ? g.op('MatMul', [pooled, widen]) : pooled], {}, 'pooler_output');
    g.output('last_hidden_state', f, [batch, seq, config.outputWidth]);
    g.output('pooler_output', f, [batch, config.outputWidth]);
  }
  for (const name of hiddenNames) g.output(name, f, [batch, seq, config.outputWidth]);
  return g;
}
