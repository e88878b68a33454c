/**
 * Analytic cost of the two latent decoders (multiply-adds x2 of their convolutions, matrix
 * products and attention; element-wise ops left out), for the live benchmark's FLOP ratio.
 *
 * SDXL's VAE decoder (diffusers AutoencoderKL, SDXL config: block_out_channels 128/256/512/512,
 * layers_per_block 2, one mid-block attention of 512 channels at the latent size):
 * post_quant_conv 1x1 4->4, conv_in 4->512, mid (resnet, attention, resnet), four up blocks of
 * three resnets (512, 512, 256, 128 channels; a 3x3 conv after each x2 upsample), conv_out.
 */
import { taesdDecoderFlops } from '../src/pipeline/taesd/taesd-graph.ts';

function conv(cin: number, cout: number, k: number, pixels: number): number {
  return 2 * cin * cout * k * k * pixels;
}

function resnet(cin: number, cout: number, pixels: number): number {
  return (
    conv(cin, cout, 3, pixels) +
    conv(cout, cout, 3, pixels) +
    (cin !== cout ? conv(cin, cout, 1, pixels) : 0)
  );
}

export function sdxlVaeDecoderFlops(width: number, height: number): number {
  const n0 = (width / 8) * (height / 8);
  const [n1, n2, n3] = [n0 * 4, n0 * 16, n0 * 64];
  let flops = conv(4, 4, 1, n0) + conv(4, 512, 3, n0);
  // Mid block: two resnets and single-head attention over the n0 latent pixels (q, k, v, out
  // projections; scores and the weighted sum).
  flops += 2 * resnet(512, 512, n0) + 4 * 2 * 512 * 512 * n0 + 2 * (2 * n0 * n0 * 512);
  flops += 3 * resnet(512, 512, n0) + conv(512, 512, 3, n1);
  flops += 3 * resnet(512, 512, n1) + conv(512, 512, 3, n2);
  flops += resnet(512, 256, n2) + 2 * resnet(256, 256, n2) + conv(256, 256, 3, n3);
  flops += resnet(256, 128, n3) + 2 * resnet(128, 128, n3) + conv(128, 3, 3, n3);
  return flops;
}

export function decoderFlopRatio(width: number, height: number) {
  const vae = sdxlVaeDecoderFlops(width, height);
  const taesd = taesdDecoderFlops(width, height);
  return { vae, taesd, ratio: vae / taesd };
}
