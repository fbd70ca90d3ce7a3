import { OPTIMUM_FP32, type ExportLayout } from './export-layout.js';
import { Layers } from './layers.js';
import { RealGraph } from './real-graph.js';

/** transformers' CLIPTextConfig, as far as the graph depends on it. */
export interface ClipTextArchitecture {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly activation: 'quick_gelu' | 'gelu';
  /** CLIPTextModelWithProjection: the pooled state projected (no bias) to `text_embeds`. */
  readonly projection?: number;
  /** 49408 for every CLIP; smaller only for a graph a test can run quickly. */
  readonly vocabulary?: number;
}

/** CLIP ViT-L/14's text tower (SD 1.x, SDXL's text_encoder). */
export const CLIP_L: ClipTextArchitecture = { width: 768, layers: 12, heads: 12, intermediate: 3072, activation: 'quick_gelu' };

/** OpenCLIP ViT-bigG/14's text tower with its projection (SDXL's text_encoder_2). */
export const CLIP_BIG_G: ClipTextArchitecture = { width: 1280, layers: 32, heads: 20, intermediate: 5120, activation: 'gelu', projection: 1280 };

const VOCABULARY = 49408;
const POSITIONS = 77;

/**
 * The text encoder as exported with output_hidden_states: input_ids → last_hidden_state, the pooled state
 * (pooler_output, or text_embeds with the projection) and hidden_states.0 … hidden_states.L. Olive gives the first
 * encoder int32 ids and the one with the projection int64 ids.
 */
export function clipTextGraph(architecture: ClipTextArchitecture, layout: ExportLayout = OPTIMUM_FP32): RealGraph {
  const graph = new RealGraph(layout.precision);
  const float = layout.precision;
  const layers = new Layers(graph);
  const { width } = architecture;
  const sequence = ['batch', 'sequence', width];
  const ids = graph.input('input_ids', architecture.projection === undefined ? layout.textEncoderIds : 'int64', ['batch', 'sequence']);
  const tokens = graph.node('Gather', [graph.weight('text_model.embeddings.token_embedding.weight', [architecture.vocabulary ?? VOCABULARY, width], { std: 0.02 }), ids]);
  const positions = graph.weight('text_model.embeddings.position_embedding.weight', [POSITIONS, width], { std: 0.01 });
  let h = graph.node('Add', [tokens, positions]);
  // The most negative finite value of the precision: -1e9 would be -Infinity in float16.
  const masked = float === 'float16' ? -65504 : -1e9;
  const causal = graph.floats(Array.from({ length: POSITIONS * POSITIONS }, (_, i) => (i % POSITIONS > Math.floor(i / POSITIONS) ? masked : 0)), [POSITIONS, POSITIONS]);
  const hidden = [h];
  for (let layer = 0; layer < architecture.layers; layer++) {
    h = layers.clipEncoderLayer(h, `text_model.encoder.layers.${layer}`, architecture, causal);
    hidden.push(h);
  }
  const last = layers.layerNorm(h, width, 'text_model.final_layer_norm');
  // CLIP pools at the end-of-text token, the highest id in the sequence.
  const eos = graph.node('ArgMax', [ids], { axis: 1, keepdims: 0 });
  const rows = graph.node('Range', [graph.ints([0], []), graph.node('Gather', [graph.node('Shape', [ids]), graph.ints([0], [])]), graph.ints([1], [])]);
  const pooled = graph.node('GatherND', [last, graph.node('Concat', [graph.node('Unsqueeze', [rows, graph.ints([1])]), graph.node('Unsqueeze', [eos, graph.ints([1])])], { axis: 1 })]);
  if (architecture.projection !== undefined) {
    const projection = graph.weight('text_projection.weight', [width, architecture.projection], { std: 1 / Math.sqrt(width) });
    graph.output(graph.node('MatMul', [pooled, projection]), 'text_embeds', float, ['batch', architecture.projection]);
  }
  graph.output(last, 'last_hidden_state', float, sequence);
  if (architecture.projection === undefined) graph.output(pooled, 'pooler_output', float, ['batch', width]);
  hidden.forEach((state, index) => {
    graph.output(state, `hidden_states.${index}`, float, sequence);
  });
  return graph;
}
