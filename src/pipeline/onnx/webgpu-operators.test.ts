import { describe, expect, it } from 'vitest';
import { ModelProto, valueInfo, type Node } from './schema.ts';
import {
  PACKED_ATTENTION,
  checkOperators,
  operatorRefusal,
  operatorsMissingOnWebGpu,
} from './webgpu-operators.ts';

/** A graph file with these nodes (inputs declared rank by rank where given). */
function graph(nodes: Node[], ranks: Record<string, number> = {}): Uint8Array {
  return ModelProto.encode(
    ModelProto.fromObject({
      irVersion: 8,
      opsetImport: [
        { domain: '', version: 17 },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: {
        name: 'g',
        node: nodes,
        input: Object.entries(ranks).map(([name, rank]) =>
          valueInfo(
            name,
            10,
            Array.from({ length: rank }, (_, i) => `d${i}`),
          ),
        ),
      },
    }),
  ).finish();
}

const op = (opType: string, input: string[], domain = 'com.microsoft'): Node => ({
  opType,
  domain,
  input,
  output: [`${opType}_out`],
  name: opType,
});

describe('operators the WebGPU EP lacks', () => {
  it('passes standard operators and the contrib ones the native WebGPU EP implements', () => {
    expect(
      operatorsMissingOnWebGpu([
        'ai.onnx:Conv',
        'ai.onnx:Resize',
        'ai.onnx:SimplifiedLayerNormalization',
        'com.microsoft:BiasGelu',
        'com.microsoft:MatMulNBits',
        'com.microsoft:MultiHeadAttention',
      ]),
    ).toEqual([]);
  });

  it('names CUDA/DirectML-only contrib operators from optimized exports', () => {
    expect(
      operatorsMissingOnWebGpu([
        'ai.onnx:Conv',
        'com.microsoft:GroupNorm',
        'com.microsoft:NhwcConv',
        'com.microsoft:SkipGroupNorm',
        'com.microsoft:EmbedLayerNormalization',
        'com.microsoft:SimplifiedLayerNormalization',
      ]),
    ).toEqual([
      'com.microsoft:GroupNorm',
      'com.microsoft:NhwcConv',
      'com.microsoft:SkipGroupNorm',
      'com.microsoft:EmbedLayerNormalization',
      'com.microsoft:SimplifiedLayerNormalization',
    ]);
  });

  it('refuses GroupNorm naming the operator and the graph, without suggesting WebAssembly', () => {
    const model = graph([op('Conv', ['x', 'w'], ''), op('GroupNorm', ['Conv_out', 'g', 'b'])]);
    for (const backend of ['webgpu', 'wasm', 'any'] as const) {
      const message = operatorRefusal('unet', model, backend)!;
      expect(message).toContain('The unet graph');
      expect(message).toContain('com.microsoft:GroupNorm');
      expect(message).not.toMatch(/WebAssembly backend can/);
    }
  });

  it('refuses packed QKV and packed KV attention (rank-5 inputs) on both backends', () => {
    const packedQkv = graph([op('MultiHeadAttention', ['qkv'])], { qkv: 5 });
    const packedKv = graph([op('MultiHeadAttention', ['q', 'kv'])], { q: 3, kv: 5 });
    const rank5Key = graph([op('MultiHeadAttention', ['q', 'k', 'v'])], { q: 3, k: 5, v: 3 });
    for (const model of [packedQkv, packedKv, rank5Key]) {
      expect(checkOperators(model)).toEqual({
        missingOnWebGpu: [PACKED_ATTENTION],
        missingOnWasm: [PACKED_ATTENTION],
      });
      expect(operatorRefusal('vae_decoder', model, 'any')).toMatch(
        /The vae_decoder graph .*MultiHeadAttention with packed QKV\/KV/,
      );
    }
    const unpacked = graph([op('MultiHeadAttention', ['q', 'k', 'v'])], { q: 3, k: 3, v: 3 });
    expect(operatorRefusal('unet', unpacked, 'webgpu')).toBeNull();
  });

  it('points to the WebAssembly backend only when it has the operator', () => {
    const model = graph([op('EmbedLayerNormalization', ['ids', 'seg', 'w'])]);
    expect(operatorRefusal('text_encoder', model, 'webgpu')).toMatch(
      /The text_encoder graph .*EmbedLayerNormalization\. The WebAssembly backend can run this graph/,
    );
    expect(operatorRefusal('text_encoder', model, 'wasm')).toBeNull();
    expect(operatorRefusal('text_encoder', model, 'any')).toBeNull();
  });
});
