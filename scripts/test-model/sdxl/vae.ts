/**
 * SDXL's VAE (diffusers AutoencoderKL, block_out_channels 128/256/512/512, two resnets per
 * down block and three per up block, one single-head attention in the mid block, GroupNorm
 * 32) as optimum exports its halves:
 *
 *   vae_decoder: latent_sample -> post_quant_conv -> decoder -> sample
 *   vae_encoder: sample -> encoder -> quant_conv -> the mean half -> latent_sample
 */
import { attr, GraphBuilder } from '../onnx-builder.ts';
import { Layers, scaledWidth, type Precision } from './layers.ts';

export interface VaeConfig {
  channels: [number, number, number, number];
  layersPerBlock: number;
}

export function vaeConfig(scale: number): VaeConfig {
  return {
    channels: [128, 256, 512, 512].map((c) => scaledWidth(c, scale)) as VaeConfig['channels'],
    layersPerBlock: 2,
  };
}

function resnet(n: Layers, x: string, name: string, inputs: number, outputs: number): string {
  let h = n.conv(
    n.silu(n.groupNorm(x, `${name}.norm1`, inputs, 1e-6)),
    `${name}.conv1`,
    inputs,
    outputs,
    3,
  );
  h = n.conv(
    n.silu(n.groupNorm(h, `${name}.norm2`, outputs, 1e-6)),
    `${name}.conv2`,
    outputs,
    outputs,
    3,
  );
  const shortcut = inputs === outputs ? x : n.conv(x, `${name}.conv_shortcut`, inputs, outputs, 1);
  return n.g.op('Add', [shortcut, h]);
}

/** The mid block's attention: GroupNorm, one head as wide as the channels, residual. */
function attention(n: Layers, x: string, name: string, channels: number): string {
  const g = n.g;
  const normed = n.groupNorm(x, `${name}.group_norm`, channels, 1e-6);
  const tokens = g.op('Transpose', [g.op('Reshape', [normed, n.int64([0, channels, -1])])], {
    perm: attr.ints([0, 2, 1]),
  });
  const mixed = n.attention(
    tokens,
    tokens,
    { q: `${name}.to_q`, k: `${name}.to_k`, v: `${name}.to_v`, out: `${name}.to_out.0` },
    channels,
    channels,
    channels,
    { qkvBias: true },
  );
  const back = g.op('Reshape', [
    g.op('Transpose', [mixed], { perm: attr.ints([0, 2, 1]) }),
    g.op('Shape', [x]),
  ]);
  return g.op('Add', [back, x]);
}

function midBlock(n: Layers, x: string, prefix: string, channels: number): string {
  let h = resnet(n, x, `${prefix}.mid_block.resnets.0`, channels, channels);
  h = attention(n, h, `${prefix}.mid_block.attentions.0`, channels);
  return resnet(n, h, `${prefix}.mid_block.resnets.1`, channels, channels);
}

export function buildVaeDecoder(scale: number, precision: Precision): GraphBuilder {
  const config = vaeConfig(scale);
  const g = new GraphBuilder('vae_decoder', precision.float);
  const n = new Layers(g, precision);
  const f = n.floatElem;
  const latent = g.input('latent_sample', f, ['batch_size', 4, 'height_latent', 'width_latent']);
  const top = config.channels[3];
  let h = n.conv(latent, 'post_quant_conv', 4, 4, 1);
  h = n.conv(h, 'decoder.conv_in', 4, top, 3);
  h = midBlock(n, h, 'decoder', top);
  const up = [...config.channels].reverse();
  let channels = top;
  up.forEach((out, level) => {
    for (let j = 0; j <= config.layersPerBlock; j++) {
      h = resnet(n, h, `decoder.up_blocks.${level}.resnets.${j}`, channels, out);
      channels = out;
    }
    if (level < up.length - 1) {
      h = n.conv(
        n.upsampleNearest2x(h),
        `decoder.up_blocks.${level}.upsamplers.0.conv`,
        out,
        out,
        3,
      );
    }
  });
  h = n.silu(n.groupNorm(h, 'decoder.conv_norm_out', channels, 1e-6));
  g.op('Identity', [n.conv(h, 'decoder.conv_out', channels, 3, 3)], {}, 'sample');
  g.output('sample', f, ['batch_size', 3, 'height', 'width']);
  return g;
}

export function buildVaeEncoder(scale: number, precision: Precision): GraphBuilder {
  const config = vaeConfig(scale);
  const g = new GraphBuilder('vae_encoder', precision.float);
  const n = new Layers(g, precision);
  const f = n.floatElem;
  const image = g.input('sample', f, ['batch_size', 3, 'height', 'width']);
  let h = n.conv(image, 'encoder.conv_in', 3, config.channels[0], 3);
  let channels = config.channels[0];
  config.channels.forEach((out, level) => {
    for (let j = 0; j < config.layersPerBlock; j++) {
      h = resnet(n, h, `encoder.down_blocks.${level}.resnets.${j}`, channels, out);
      channels = out;
    }
    if (level < config.channels.length - 1) {
      // diffusers pads (0, 1, 0, 1) and convolves with stride 2 and no padding.
      const padded = g.op('Pad', [h, n.int64([0, 0, 0, 0, 0, 0, 1, 1])]);
      h = n.conv(padded, `encoder.down_blocks.${level}.downsamplers.0.conv`, out, out, 3, {
        stride: 2,
        pads: [0, 0, 0, 0],
      });
    }
  });
  h = midBlock(n, h, 'encoder', channels);
  h = n.silu(n.groupNorm(h, 'encoder.conv_norm_out', channels, 1e-6));
  h = n.conv(h, 'encoder.conv_out', channels, 8, 3);
  h = n.conv(h, 'quant_conv', 8, 8, 1);
  // The latent distribution's mean: the first four of the eight channels.
  g.op('Slice', [h, n.int64([0]), n.int64([4]), n.int64([1])], {}, 'latent_sample');
  g.output('latent_sample', f, ['batch_size', 4, 'height_latent', 'width_latent']);
  return g;
}
