import { OPTIMUM_FP32, type ExportLayout } from './export-layout.js';
import { Layers } from './layers.js';
import { RealGraph } from './real-graph.js';

/** AutoencoderKL's decoder (SD 1.x, SD 2.x and SDXL share it): 512/512/256/128, three resnets an up block. */
export const VAE_DECODER_CHANNELS = [512, 512, 256, 128] as const;
const RESNETS_PER_BLOCK = 3;
const EPSILON = 1e-6;

/**
 * The decoder as Optimum exports it (post_quant_conv included): latent_sample → sample, eight times larger.
 * `upChannels` other than the real ones give the same graph at a size a test can run.
 */
export function vaeDecoderGraph(upChannels: readonly number[] = VAE_DECODER_CHANNELS, layout: ExportLayout = OPTIMUM_FP32): RealGraph {
  const width = upChannels[0];
  const graph = new RealGraph(layout.precision);
  const layers = new Layers(graph);
  const latent = graph.input('latent_sample', graph.precision, ['batch', 4, 'latent_height', 'latent_width']);

  const resnet = (x: string, inChannels: number, outChannels: number, name: string): string => {
    let h = layers.conv(layers.silu(layers.groupNorm(x, inChannels, `${name}.norm1`, EPSILON)), inChannels, outChannels, 3, `${name}.conv1`);
    h = layers.conv(layers.silu(layers.groupNorm(h, outChannels, `${name}.norm2`, EPSILON)), outChannels, outChannels, 3, `${name}.conv2`);
    return graph.node('Add', [inChannels === outChannels ? x : layers.conv(x, inChannels, outChannels, 1, `${name}.conv_shortcut`), h]);
  };

  let h = layers.conv(layers.conv(latent, 4, 4, 1, 'post_quant_conv'), 4, width, 3, 'decoder.conv_in');
  h = resnet(h, width, width, 'decoder.mid_block.resnets.0');
  // One-head self-attention over every latent pixel.
  const tokens = layers.toTokens(layers.groupNorm(h, width, 'decoder.mid_block.attentions.0.group_norm', EPSILON), width);
  const attended = layers.attention(
    layers.linear(tokens, width, width, 'decoder.mid_block.attentions.0.to_q'),
    layers.linear(tokens, width, width, 'decoder.mid_block.attentions.0.to_k'),
    layers.linear(tokens, width, width, 'decoder.mid_block.attentions.0.to_v'),
    1,
    width,
  );
  h = graph.node('Add', [h, layers.fromTokens(layers.linear(attended, width, width, 'decoder.mid_block.attentions.0.to_out.0'), h)]);
  h = resnet(h, width, width, 'decoder.mid_block.resnets.1');

  let channels = width;
  upChannels.forEach((out, i) => {
    for (let j = 0; j < RESNETS_PER_BLOCK; j++) {
      h = resnet(h, channels, out, `decoder.up_blocks.${i}.resnets.${j}`);
      channels = out;
    }
    if (i < upChannels.length - 1) {
      const doubled = graph.node('Resize', [h, '', graph.floats32([1, 1, 2, 2], [4])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      h = layers.conv(doubled, channels, channels, 3, `decoder.up_blocks.${i}.upsamplers.0.conv`);
    }
  });
  const out = layers.conv(layers.silu(layers.groupNorm(h, channels, 'decoder.conv_norm_out', EPSILON)), channels, 3, 3, 'decoder.conv_out');
  graph.output(out, 'sample', graph.precision, ['batch', 3, 'height', 'width']);
  return graph;
}
