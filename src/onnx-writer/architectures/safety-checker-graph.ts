import { Layers } from './layers.js';
import { RealGraph } from './real-graph.js';

/** transformers' CLIPVisionConfig as far as the graph depends on it, and the checker's projection and concepts. */
export interface SafetyCheckerArchitecture {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly patch: number;
  readonly imageSize: number;
  readonly projection: number;
  readonly concepts: number;
  readonly specialConcepts: number;
}

/** CompVis/stable-diffusion-safety-checker: CLIP ViT-L/14's vision tower at 224 px, projected to 768; 17 + 3 concepts. */
export const SD_SAFETY_CHECKER: SafetyCheckerArchitecture = { width: 1024, layers: 24, heads: 16, intermediate: 4096, patch: 14, imageSize: 224, projection: 768, concepts: 17, specialConcepts: 3 };

/**
 * StableDiffusionSafetyChecker as diffusers' converter exports it (`forward_onnx`): `clip_input` → patch embedding,
 * class token and positions, pre-LayerNorm, 24 pre-norm transformer layers with quick-GELU, the class token through
 * the post-LayerNorm and the visual projection; cosine similarities to the concept and special-care embeddings minus
 * their thresholds; `has_nsfw_concepts`, and `images` blacked out where flagged (`out_images`). With generated
 * weights the verdict means nothing; the work is the real one.
 */
export function safetyCheckerGraph(architecture: SafetyCheckerArchitecture = SD_SAFETY_CHECKER): RealGraph {
  const graph = new RealGraph('float32');
  const layers = new Layers(graph);
  const { width, patch } = architecture;
  const positions = (architecture.imageSize / patch) ** 2 + 1;
  const clip = graph.input('clip_input', 'float32', ['batch', 'channels', 'height', 'width']);
  const images = graph.input('images', 'float32', ['batch', 'height', 'width', 'channels']);
  const patchWeight = graph.weight('vision_model.embeddings.patch_embedding.weight', [width, 3, patch, patch], { std: 1 / Math.sqrt(3 * patch * patch) });
  const patches = layers.toTokens(graph.node('Conv', [clip, patchWeight], { kernel_shape: [patch, patch], strides: [patch, patch] }), width);
  const batch = graph.node('Gather', [graph.node('Shape', [clip]), graph.ints([0])]);
  const classToken = graph.node('Expand', [
    graph.node('Reshape', [graph.weight('vision_model.embeddings.class_embedding', [width], { std: 0.02 }), graph.ints([1, 1, width])]),
    graph.node('Concat', [batch, graph.ints([1, width])], { axis: 0 }),
  ]);
  const embedded = graph.node('Add', [graph.node('Concat', [classToken, patches], { axis: 1 }), graph.weight('vision_model.embeddings.position_embedding.weight', [positions, width], { std: 0.02 })]);
  let h = layers.layerNorm(embedded, width, 'vision_model.pre_layrnorm');
  for (let layer = 0; layer < architecture.layers; layer++) h = layers.clipEncoderLayer(h, `vision_model.encoder.layers.${layer}`, { ...architecture, activation: 'quick_gelu' });
  const pooled = layers.layerNorm(graph.node('Gather', [h, graph.ints([0], [])], { axis: 1 }), width, 'vision_model.post_layernorm');
  const embeds = layers.linear(pooled, width, architecture.projection, 'visual_projection', false);
  const unit = (x: string) => graph.node('Div', [x, graph.node('Sqrt', [graph.node('ReduceSum', [graph.node('Mul', [x, x]), graph.ints([-1])], { keepdims: 1 })])]);
  const similarity = (name: string, count: number) => graph.node('MatMul', [unit(embeds), graph.node('Transpose', [unit(graph.weight(name, [count, architecture.projection], { std: 1 }))], { perm: [1, 0] })]);
  // Thresholds above any cosine: generated concepts must not flag (nor cost anything) by chance.
  const special = graph.node('Sub', [similarity('special_care_embeds', architecture.specialConcepts), graph.weight('special_care_embeds_weights', [architecture.specialConcepts], { value: 2 })]);
  const specialCare = graph.node('Cast', [graph.node('Greater', [graph.node('ReduceMax', [special], { axes: [1], keepdims: 1 }), graph.floats([0], [])])], { to: 1 });
  const scores = graph.node('Add', [
    graph.node('Sub', [similarity('concept_embeds', architecture.concepts), graph.weight('concept_embeds_weights', [architecture.concepts], { value: 2 })]),
    graph.node('Mul', [specialCare, graph.floats([0.01], [])]),
  ]);
  const flagged = graph.node('Greater', [graph.node('ReduceMax', [scores], { axes: [1], keepdims: 0 }), graph.floats([0], [])]);
  graph.output(graph.node('Where', [graph.node('Unsqueeze', [flagged, graph.ints([1, 2, 3])]), graph.floats([0], []), images]), 'out_images', 'float32', ['batch', 'height', 'width', 'channels']);
  graph.output(flagged, 'has_nsfw_concepts', 'bool', ['batch']);
  return graph;
}
