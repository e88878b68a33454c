/**
 * Random weights for a narrow TAESDXL (the tiny autoencoder of live-mode previews) in the test
 * model set: diffusers' AutoencoderTiny names and layer plan, width 4 instead of 64, so the file
 * stays small (~53 kB) and fast on SwiftShader while the graph the app builds from it is the real architecture.
 */
import { writeSafetensors, type FloatTensor } from '../../src/pipeline/taesd/safetensors.ts';
import { decoderLayers, encoderLayers } from '../../src/pipeline/taesd/taesd-graph.ts';
import { randn } from './random.ts';

export const TEST_TAESD_WIDTH = 4;
const SEED = 0x7ae5d;

export function testTaesdWeights(width = TEST_TAESD_WIDTH): Uint8Array {
  const tensors = new Map<string, FloatTensor>();
  let seed = SEED;
  const conv = (name: string, cin: number, cout: number, bias: boolean) => {
    // 1/sqrt(fan_in): activations stay within a few units through the residual stack.
    const weight = randn(seed++, cout * cin * 9, 1 / Math.sqrt(cin * 9));
    tensors.set(`${name}.weight`, { shape: [cout, cin, 3, 3], data: weight });
    if (bias) tensors.set(`${name}.bias`, { shape: [cout], data: randn(seed++, cout, 0.1) });
  };
  for (const [half, layers, cin, cout] of [
    ['decoder', decoderLayers(), 4, 3],
    ['encoder', encoderLayers(), 3, 4],
  ] as const) {
    layers.forEach((layer, i) => {
      if (layer.kind === 'upsample') return;
      const name = `${half}.layers.${layer.index}`;
      if (layer.kind === 'block') {
        for (const j of [0, 2, 4]) conv(`${name}.conv.${j}`, width, width, true);
      } else {
        conv(name, i === 0 ? cin : width, i === layers.length - 1 ? cout : width, layer.bias);
      }
    });
  }
  return writeSafetensors(tensors);
}
