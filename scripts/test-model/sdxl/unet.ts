/**
 * The SDXL UNet (diffusers UNet2DConditionModel with stabilityai/sdxl-turbo's config) as a
 * torch export lays it out: block_out_channels 320/640/1280, layers_per_block 2, transformer
 * depths 0/2/10 (down), 10 (mid), 10/2/0 (up, three resnets each), 64-wide heads, linear
 * projections in and out of the transformers, cross-attention to 2048-wide text, GEGLU
 * feed-forward, and the "text_time" added embedding (text_embeds 1280 + six time ids through
 * 256-wide sinusoids = 2816 → 1280). Inputs and outputs as optimum exports them.
 */
import { attr, GraphBuilder } from '../onnx-builder.ts';
import { Layers, scaledWidth, type Precision } from './layers.ts';

export interface UnetConfig {
  channels: [number, number, number];
  depths: [number, number, number];
  midDepth: number;
  layersPerBlock: number;
  headDim: number;
  crossAttentionDim: number;
  timeEmbedDim: number;
  addTimeDim: number;
  textEmbedsDim: number;
}

export function unetConfig(scale: number): UnetConfig {
  const channels = [320, 640, 1280].map((c) => scaledWidth(c, scale)) as [number, number, number];
  return {
    channels,
    depths: [0, 2, 10],
    midDepth: 10,
    layersPerBlock: 2,
    headDim: 64,
    crossAttentionDim: 2048,
    timeEmbedDim: channels[0] * 4,
    addTimeDim: 256,
    textEmbedsDim: 1280,
  };
}

class UnetBuilder {
  readonly n: Layers;
  private readonly g: GraphBuilder;
  private temb = '';
  private context = '';

  constructor(
    readonly config: UnetConfig,
    precision: Precision,
  ) {
    this.g = new GraphBuilder('unet', precision.float);
    this.n = new Layers(this.g, precision);
  }

  private resnet(x: string, name: string, inputs: number, outputs: number): string {
    const n = this.n;
    let h = n.conv(
      n.silu(n.groupNorm(x, `${name}.norm1`, inputs, 1e-5)),
      `${name}.conv1`,
      inputs,
      outputs,
      3,
    );
    const t = n.linear(this.temb, `${name}.time_emb_proj`, this.config.timeEmbedDim, outputs);
    h = this.g.op('Add', [h, this.g.op('Unsqueeze', [t, n.int64([2, 3])])]);
    h = n.conv(
      n.silu(n.groupNorm(h, `${name}.norm2`, outputs, 1e-5)),
      `${name}.conv2`,
      outputs,
      outputs,
      3,
    );
    const shortcut =
      inputs === outputs ? x : n.conv(x, `${name}.conv_shortcut`, inputs, outputs, 1);
    return this.g.op('Add', [shortcut, h]);
  }

  private transformer(x: string, name: string, width: number, depth: number): string {
    const n = this.n;
    const g = this.g;
    const headDim = Math.min(this.config.headDim, width);
    let h = n.groupNorm(x, `${name}.norm`, width, 1e-6);
    h = g.op('Reshape', [
      g.op('Transpose', [h], { perm: attr.ints([0, 2, 3, 1]) }),
      n.int64([0, -1, width]),
    ]);
    h = n.linear(h, `${name}.proj_in`, width, width);
    for (let d = 0; d < depth; d++) {
      const b = `${name}.transformer_blocks.${d}`;
      const self = n.layerNorm(h, `${b}.norm1`, width);
      h = g.op('Add', [
        n.attention(self, self, names(`${b}.attn1`), width, width, headDim, { qkvBias: false }),
        h,
      ]);
      const cross = n.layerNorm(h, `${b}.norm2`, width);
      h = g.op('Add', [
        n.attention(
          cross,
          this.context,
          names(`${b}.attn2`),
          width,
          this.config.crossAttentionDim,
          headDim,
          {
            qkvBias: false,
          },
        ),
        h,
      ]);
      const ff = n.layerNorm(h, `${b}.norm3`, width);
      const [value, gate] = g.ops(
        'Split',
        [n.linear(ff, `${b}.ff.net.0.proj`, width, width * 8), n.int64([width * 4, width * 4])],
        { axis: attr.int(-1) },
        2,
      );
      const geglu = g.op('Mul', [value!, n.gelu(gate!)]);
      h = g.op('Add', [n.linear(geglu, `${b}.ff.net.2`, width * 4, width), h]);
    }
    h = n.linear(h, `${name}.proj_out`, width, width);
    // Back to [b, c, h, w] with the input's spatial size.
    const shape = g.op(
      'Concat',
      [
        g.op('Shape', [x], { start: attr.int(0), end: attr.int(1) }),
        g.op('Shape', [x], { start: attr.int(2), end: attr.int(4) }),
        n.int64([width]),
      ],
      { axis: attr.int(0) },
    );
    h = g.op('Transpose', [g.op('Reshape', [h, shape])], { perm: attr.ints([0, 3, 1, 2]) });
    return g.op('Add', [h, x]);
  }

  build(): GraphBuilder {
    const { g, n, config } = this;
    const f = n.floatElem;
    const batch = 'batch_size';
    const sample = g.input('sample', f, [batch, 4, 'height', 'width']);
    const timestep = g.input('timestep', f, [1]);
    this.context = g.input('encoder_hidden_states', f, [
      batch,
      'sequence_length',
      config.crossAttentionDim,
    ]);
    const textEmbeds = g.input('text_embeds', f, [batch, config.textEmbedsDim]);
    const timeIds = g.input('time_ids', f, [batch, 6]);

    // Time embedding + the "text_time" added embedding.
    const [c0, c1, c2] = config.channels;
    const T = config.timeEmbedDim;
    let temb = n.sinusoid(timestep, c0, 'time');
    temb = n.linear(
      n.silu(n.linear(temb, 'time_embedding.linear_1', c0, T)),
      'time_embedding.linear_2',
      T,
      T,
    );
    const timeIdEmbeds = g.op('Reshape', [
      n.sinusoid(timeIds, config.addTimeDim, 'time_ids'),
      n.int64([-1, 6 * config.addTimeDim]),
    ]);
    const addInputs = config.textEmbedsDim + 6 * config.addTimeDim;
    let aug = g.op('Concat', [textEmbeds, timeIdEmbeds], { axis: attr.int(-1) });
    aug = n.linear(
      n.silu(n.linear(aug, 'add_embedding.linear_1', addInputs, T)),
      'add_embedding.linear_2',
      T,
      T,
    );
    // Each resnet applies SiLU to the embedding; computed once here.
    this.temb = n.silu(g.op('Add', [temb, aug]));

    let h = n.conv(sample, 'conv_in', 4, c0, 3);
    const skips: Array<{ x: string; c: number }> = [{ x: h, c: c0 }];
    let channels = c0;
    config.channels.forEach((out, level) => {
      for (let j = 0; j < config.layersPerBlock; j++) {
        h = this.resnet(h, `down_blocks.${level}.resnets.${j}`, channels, out);
        channels = out;
        if (config.depths[level]! > 0) {
          h = this.transformer(
            h,
            `down_blocks.${level}.attentions.${j}`,
            out,
            config.depths[level]!,
          );
        }
        skips.push({ x: h, c: out });
      }
      if (level < config.channels.length - 1) {
        h = n.conv(h, `down_blocks.${level}.downsamplers.0.conv`, out, out, 3, { stride: 2 });
        skips.push({ x: h, c: out });
      }
    });

    h = this.resnet(h, 'mid_block.resnets.0', c2, c2);
    h = this.transformer(h, 'mid_block.attentions.0', c2, config.midDepth);
    h = this.resnet(h, 'mid_block.resnets.1', c2, c2);

    const upChannels = [c2, c1, c0];
    const upDepths = [...config.depths].reverse();
    upChannels.forEach((out, level) => {
      for (let j = 0; j <= config.layersPerBlock; j++) {
        const skip = skips.pop()!;
        h = g.op('Concat', [h, skip.x], { axis: attr.int(1) });
        h = this.resnet(h, `up_blocks.${level}.resnets.${j}`, channels + skip.c, out);
        channels = out;
        if (upDepths[level]! > 0) {
          h = this.transformer(h, `up_blocks.${level}.attentions.${j}`, out, upDepths[level]!);
        }
      }
      if (level < upChannels.length - 1) {
        h = n.conv(n.upsampleNearest2x(h), `up_blocks.${level}.upsamplers.0.conv`, out, out, 3);
      }
    });

    h = n.silu(n.groupNorm(h, 'conv_norm_out', c0, 1e-5));
    const out = n.conv(h, 'conv_out', c0, 4, 3);
    g.op('Identity', [out], {}, 'out_sample');
    g.output('out_sample', f, [batch, 4, 'height', 'width']);
    return g;
  }
}

function names(prefix: string) {
  return {
    q: `${prefix}.to_q`,
    k: `${prefix}.to_k`,
    v: `${prefix}.to_v`,
    out: `${prefix}.to_out.0`,
  };
}

export function buildSdxlUnet(scale: number, precision: Precision): GraphBuilder {
  return new UnetBuilder(unetConfig(scale), precision).build();
}
