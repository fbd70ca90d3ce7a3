import { Layers } from './layers.js';
import { OPTIMUM_FP32, type ExportLayout } from './export-layout.js';
import { RealGraph } from './real-graph.js';

type BlockKind = 'attention' | 'plain';

/** UNet2DConditionModel's configuration, as far as the graph depends on it. */
export interface UnetArchitecture {
  readonly blockChannels: readonly number[];
  readonly downBlocks: readonly BlockKind[];
  /** BasicTransformerBlocks per transformer, per down block (mirrored on the way up). */
  readonly transformerDepth: readonly number[];
  readonly midDepth: number;
  readonly headsOf: (channels: number) => number;
  readonly crossAttentionDim: number;
  /** SDXL projects into and out of the transformer with linear layers, SD 1.x with 1×1 convolutions. */
  readonly linearProjection: boolean;
  /** SDXL's `text_time` added embedding: pooled text embedding plus sinusoids of the six time ids. */
  readonly textTimeEmbedding: boolean;
}

/** SDXL (and SDXL-Turbo): 320/640/1280, transformer depths 1·0, 2, 10, heads of 64, cross-attention 2048. */
export const SDXL_UNET: UnetArchitecture = {
  blockChannels: [320, 640, 1280],
  downBlocks: ['plain', 'attention', 'attention'],
  transformerDepth: [0, 2, 10],
  midDepth: 10,
  headsOf: (channels) => channels / 64,
  crossAttentionDim: 2048,
  linearProjection: true,
  textTimeEmbedding: true,
};

/** Stable Diffusion 1.x: 320/640/1280/1280, one transformer layer, 8 heads, cross-attention 768. */
export const SD15_UNET: UnetArchitecture = {
  blockChannels: [320, 640, 1280, 1280],
  downBlocks: ['attention', 'attention', 'attention', 'plain'],
  transformerDepth: [1, 1, 1, 0],
  midDepth: 1,
  headsOf: () => 8,
  crossAttentionDim: 768,
  linearProjection: false,
  textTimeEmbedding: false,
};

const LAYERS_PER_BLOCK = 2;
const TIME_DIM = 1280;

/** The UNet as exported: sample, timestep (a scalar, or [1] from Olive), encoder_hidden_states[, text_embeds, time_ids] → out_sample. */
export function unetGraph(architecture: UnetArchitecture, layout: ExportLayout = OPTIMUM_FP32): RealGraph {
  const graph = new RealGraph(layout.precision);
  const float = layout.precision;
  const layers = new Layers(graph);
  const base = architecture.blockChannels[0];
  const sample = graph.input('sample', float, ['batch', 4, 'height', 'width']);
  const timestep = graph.input('timestep', float, layout.timestepShape);
  const context = graph.input('encoder_hidden_states', float, ['batch', 'sequence', architecture.crossAttentionDim]);

  const timeProjection = layers.sinusoids(graph.node('Reshape', [timestep, graph.ints([-1, 1])]), base);
  let embedding = layers.linear(layers.silu(layers.linear(timeProjection, base, TIME_DIM, 'time_embedding.linear_1')), TIME_DIM, TIME_DIM, 'time_embedding.linear_2');
  if (architecture.textTimeEmbedding) {
    const textEmbeds = graph.input('text_embeds', float, ['batch', 1280]);
    const timeIds = graph.input('time_ids', float, ['batch', 6]);
    const idSinusoids = graph.node('Reshape', [layers.sinusoids(graph.node('Reshape', [timeIds, graph.ints([-1, 1])]), 256), graph.ints([-1, 6 * 256])]);
    const added = graph.node('Concat', [textEmbeds, idSinusoids], { axis: 1 });
    const width = 1280 + 6 * 256;
    embedding = graph.node('Add', [embedding, layers.linear(layers.silu(layers.linear(added, width, TIME_DIM, 'add_embedding.linear_1')), TIME_DIM, TIME_DIM, 'add_embedding.linear_2')]);
  }
  const activeEmbedding = layers.silu(embedding);

  const resnet = (x: string, inChannels: number, outChannels: number, name: string): string => {
    let h = layers.conv(layers.silu(layers.groupNorm(x, inChannels, `${name}.norm1`, 1e-5)), inChannels, outChannels, 3, `${name}.conv1`);
    const time = graph.node('Unsqueeze', [layers.linear(activeEmbedding, TIME_DIM, outChannels, `${name}.time_emb_proj`), graph.ints([2, 3])]);
    h = graph.node('Add', [h, time]);
    h = layers.conv(layers.silu(layers.groupNorm(h, outChannels, `${name}.norm2`, 1e-5)), outChannels, outChannels, 3, `${name}.conv2`);
    const shortcut = inChannels === outChannels ? x : layers.conv(x, inChannels, outChannels, 1, `${name}.conv_shortcut`);
    return graph.node('Add', [shortcut, h]);
  };

  const transformer = (x: string, channels: number, depth: number, name: string): string => {
    const heads = architecture.headsOf(channels);
    const headDim = channels / heads;
    const normed = layers.groupNorm(x, channels, `${name}.norm`, 1e-6);
    let h = architecture.linearProjection
      ? layers.linear(layers.toTokens(normed, channels), channels, channels, `${name}.proj_in`)
      : layers.toTokens(layers.conv(normed, channels, channels, 1, `${name}.proj_in`), channels);
    for (let block = 0; block < depth; block++) {
      const prefix = `${name}.transformer_blocks.${block}`;
      let n = layers.layerNorm(h, channels, `${prefix}.norm1`);
      const self = layers.attention(
        layers.linear(n, channels, channels, `${prefix}.attn1.to_q`, false),
        layers.linear(n, channels, channels, `${prefix}.attn1.to_k`, false),
        layers.linear(n, channels, channels, `${prefix}.attn1.to_v`, false),
        heads,
        headDim,
      );
      h = graph.node('Add', [h, layers.linear(self, channels, channels, `${prefix}.attn1.to_out.0`)]);
      n = layers.layerNorm(h, channels, `${prefix}.norm2`);
      const cross = layers.attention(
        layers.linear(n, channels, channels, `${prefix}.attn2.to_q`, false),
        layers.linear(context, architecture.crossAttentionDim, channels, `${prefix}.attn2.to_k`, false),
        layers.linear(context, architecture.crossAttentionDim, channels, `${prefix}.attn2.to_v`, false),
        heads,
        headDim,
      );
      h = graph.node('Add', [h, layers.linear(cross, channels, channels, `${prefix}.attn2.to_out.0`)]);
      n = layers.layerNorm(h, channels, `${prefix}.norm3`);
      // GEGLU: one projection to 2 × 4C, the first half gated by the GELU of the second.
      const projected = layers.linear(n, channels, 8 * channels, `${prefix}.ff.net.0.proj`);
      const half = (from: number, to: number) => graph.node('Slice', [projected, graph.ints([from]), graph.ints([to]), graph.ints([-1])]);
      const gated = graph.node('Mul', [half(0, 4 * channels), layers.gelu(half(4 * channels, 8 * channels))]);
      h = graph.node('Add', [h, layers.linear(gated, 4 * channels, channels, `${prefix}.ff.net.2`)]);
    }
    const out = architecture.linearProjection
      ? layers.fromTokens(layers.linear(h, channels, channels, `${name}.proj_out`), x)
      : layers.conv(layers.fromTokens(h, x), channels, channels, 1, `${name}.proj_out`);
    return graph.node('Add', [out, x]);
  };

  let h = layers.conv(sample, 4, base, 3, 'conv_in');
  let channels = base;
  const skips: [string, number][] = [[h, channels]];
  const last = architecture.blockChannels.length - 1;
  architecture.downBlocks.forEach((kind, i) => {
    const out = architecture.blockChannels[i];
    for (let j = 0; j < LAYERS_PER_BLOCK; j++) {
      h = resnet(h, channels, out, `down_blocks.${i}.resnets.${j}`);
      channels = out;
      if (kind === 'attention') h = transformer(h, channels, architecture.transformerDepth[i], `down_blocks.${i}.attentions.${j}`);
      skips.push([h, channels]);
    }
    if (i < last) {
      h = layers.conv(h, channels, channels, 3, `down_blocks.${i}.downsamplers.0.conv`, 2);
      skips.push([h, channels]);
    }
  });

  h = resnet(h, channels, channels, 'mid_block.resnets.0');
  h = transformer(h, channels, architecture.midDepth, 'mid_block.attentions.0');
  h = resnet(h, channels, channels, 'mid_block.resnets.1');

  const upKinds = [...architecture.downBlocks].reverse();
  const upChannels = [...architecture.blockChannels].reverse();
  const upDepths = [...architecture.transformerDepth].reverse();
  upKinds.forEach((kind, i) => {
    const out = upChannels[i];
    for (let j = 0; j <= LAYERS_PER_BLOCK; j++) {
      const [skip, skipChannels] = skips.pop()!;
      h = resnet(graph.node('Concat', [h, skip], { axis: 1 }), channels + skipChannels, out, `up_blocks.${i}.resnets.${j}`);
      channels = out;
      if (kind === 'attention') h = transformer(h, channels, upDepths[i], `up_blocks.${i}.attentions.${j}`);
    }
    if (i < last) {
      const doubled = graph.node('Resize', [h, '', graph.floats32([1, 1, 2, 2], [4])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      h = layers.conv(doubled, channels, channels, 3, `up_blocks.${i}.upsamplers.0.conv`);
    }
  });

  const out = layers.conv(layers.silu(layers.groupNorm(h, channels, 'conv_norm_out', 1e-5)), channels, 4, 3, 'conv_out');
  graph.output(out, 'out_sample', float, ['batch', 4, 'height', 'width']);
  return graph;
}
