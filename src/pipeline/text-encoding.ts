import {
  isDeviceTensor,
  type GraphSession,
  type SessionTensor,
  type ValueInfo,
} from './graph-session.ts';
import { ModelFormatError, idsTensor, requireInput, requireOutput, toFloat32 } from './tensors.ts';

/** The prompt as the UNet consumes it. */
export interface PromptEmbedding {
  /** [1, 77, 2048]: both encoders' penultimate hidden states, concatenated per token. */
  hiddenStates: Float32Array;
  hiddenDims: readonly number[];
  /** [1, 1280]: text_encoder_2's pooled projection. */
  pooled: Float32Array;
}

/**
 * diffusers feeds the UNet the penultimate layer (hidden_states[-2]). Full exports list
 * hidden_states.0 (embeddings) .. hidden_states.N (last layer): take N-1. Trimmed exports
 * (such as the WebNN build) keep only the one hidden state they mean to be used: take it.
 */
export function penultimateHiddenState(session: GraphSession, graph: string): ValueInfo {
  const layers = session.outputs
    .map((o) => ({ info: o, layer: /^hidden_states\.(\d+)$/.exec(o.name)?.[1] }))
    .filter((o): o is { info: ValueInfo; layer: string } => o.layer !== undefined)
    .sort((a, b) => Number(a.layer) - Number(b.layer));
  const chosen = layers.length === 1 ? layers[0] : layers[layers.length - 2];
  if (!chosen) {
    const have = session.outputs.map((o) => o.name).join(', ');
    throw new ModelFormatError(`${graph} exports no hidden_states.N output (it has: ${have})`);
  }
  return chosen.info;
}

async function hiddenStatesOf(
  session: GraphSession,
  graph: string,
  ids: readonly number[],
  extraOutputs: string[] = [],
) {
  const input = requireInput(session, graph, 'input_ids');
  const hidden = penultimateHiddenState(session, graph);
  for (const name of extraOutputs) requireOutput(session, graph, name);
  const out = await session.run({ [input.name]: idsTensor(input, graph, ids) }, [
    hidden.name,
    ...extraOutputs,
  ]);
  return { hidden: out[hidden.name], extra: extraOutputs.map((n) => out[n]) };
}

/** Runs both text encoders and joins their outputs into the UNet's conditioning. */
export async function encodePrompt(
  textEncoder: GraphSession,
  textEncoder2: GraphSession,
  ids: readonly number[],
  ids2: readonly number[],
): Promise<PromptEmbedding> {
  const first = await hiddenStatesOf(textEncoder, 'text_encoder', ids);
  const second = await hiddenStatesOf(textEncoder2, 'text_encoder_2', ids2, ['text_embeds']);
  const [pooledTensor] = second.extra;
  if (!first.hidden || !second.hidden || !pooledTensor) {
    throw new ModelFormatError('a text encoder returned fewer outputs than requested');
  }
  const a = toFloat32(first.hidden);
  const b = toFloat32(second.hidden);
  const widthA = first.hidden.dims.at(-1) ?? 0;
  const widthB = second.hidden.dims.at(-1) ?? 0;
  const tokens = a.length / widthA;
  if (!Number.isInteger(tokens) || tokens * widthB !== b.length) {
    throw new ModelFormatError(
      `text encoder hidden states do not line up: [${first.hidden.dims.join(',')}] and [${second.hidden.dims.join(',')}]`,
    );
  }
  // Concatenate on the last axis: token t = [a_t (768), b_t (1280)].
  const width = widthA + widthB;
  const hiddenStates = new Float32Array(tokens * width);
  for (let t = 0; t < tokens; t++) {
    hiddenStates.set(a.subarray(t * widthA, (t + 1) * widthA), t * width);
    hiddenStates.set(b.subarray(t * widthB, (t + 1) * widthB), t * width + widthA);
  }
  return { hiddenStates, hiddenDims: [1, tokens, width], pooled: toFloat32(pooledTensor) };
}

/** The prompt's conditioning left on the device (the GPU path): dispose when dropped. */
export interface DevicePromptEmbedding {
  location: 'device';
  /** [1, 77, 2048], in the UNet's encoder_hidden_states dtype. */
  hiddenStates: SessionTensor;
  /** [1, 1280]. */
  pooled: SessionTensor;
}

export function disposeTensor(tensor: SessionTensor | undefined): void {
  if (tensor && isDeviceTensor(tensor)) tensor.dispose();
}

/**
 * Both text encoders with their outputs kept on the device, joined by the concat helper graph:
 * nothing is read back. Sessions without device outputs (see GraphSession.runOnDevice) are
 * not handed here.
 */
export async function encodePromptOnDevice(
  textEncoder: GraphSession,
  textEncoder2: GraphSession,
  concat: GraphSession,
  ids: readonly number[],
  ids2: readonly number[],
): Promise<DevicePromptEmbedding> {
  const run = (s: GraphSession, feeds: Record<string, SessionTensor>, names: string[]) =>
    s.runOnDevice ? s.runOnDevice(feeds, names, names) : s.run(feeds as never, names);
  const input = requireInput(textEncoder, 'text_encoder', 'input_ids');
  const input2 = requireInput(textEncoder2, 'text_encoder_2', 'input_ids');
  const hidden = penultimateHiddenState(textEncoder, 'text_encoder').name;
  const hidden2 = penultimateHiddenState(textEncoder2, 'text_encoder_2').name;
  requireOutput(textEncoder2, 'text_encoder_2', 'text_embeds');
  const first = await run(textEncoder, { [input.name]: idsTensor(input, 'text_encoder', ids) }, [
    hidden,
  ]);
  const second = await run(
    textEncoder2,
    { [input2.name]: idsTensor(input2, 'text_encoder_2', ids2) },
    [hidden2, 'text_embeds'],
  );
  const a = first[hidden];
  const b = second[hidden2];
  const pooled = second['text_embeds'];
  if (!a || !b || !pooled) {
    throw new ModelFormatError('a text encoder returned fewer outputs than requested');
  }
  try {
    const joined = await run(concat, { a, b }, ['hidden']);
    const hiddenStates = joined['hidden'];
    if (!hiddenStates) throw new ModelFormatError('the concat helper returned nothing');
    return { location: 'device', hiddenStates, pooled };
  } catch (error) {
    disposeTensor(pooled);
    throw error;
  } finally {
    disposeTensor(a);
    disposeTensor(b);
  }
}
