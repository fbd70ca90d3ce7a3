import type { RealGraph } from './real-graph.js';

const GROUPS = 32;

/**
 * The building blocks of diffusers' and transformers' modules as ONNX nodes, the way torch.onnx exports them
 * (group norm through InstanceNormalization, GELU through Erf), with weights named after the module paths and
 * scaled so that activations keep unit size: linear and conv weights of standard deviation 1/√fan-in, norms at 1
 * and 0, biases at 0.
 */
export class Layers {
  readonly #normConstants = new Map<number, [string, string]>();

  constructor(readonly graph: RealGraph) {}

  linear(x: string, inFeatures: number, outFeatures: number, name: string, bias = true): string {
    const weight = this.graph.weight(`${name}.weight`, [inFeatures, outFeatures], { std: 1 / Math.sqrt(inFeatures) });
    const product = this.graph.node('MatMul', [x, weight]);
    return bias ? this.graph.node('Add', [product, this.graph.weight(`${name}.bias`, [outFeatures], { value: 0 })]) : product;
  }

  conv(x: string, inChannels: number, outChannels: number, kernel: number, name: string, stride = 1): string {
    const weight = this.graph.weight(`${name}.weight`, [outChannels, inChannels, kernel, kernel], { std: 1 / Math.sqrt(inChannels * kernel * kernel) });
    const bias = this.graph.weight(`${name}.bias`, [outChannels], { value: 0 });
    const pad = Math.floor(kernel / 2);
    return this.graph.node('Conv', [x, weight, bias], { kernel_shape: [kernel, kernel], pads: [pad, pad, pad, pad], strides: [stride, stride] });
  }

  /** GroupNorm(32) as torch.onnx writes it: reshape to groups, InstanceNormalization, reshape back, affine per channel. */
  groupNorm(x: string, channels: number, name: string, epsilon: number): string {
    const [ones, zeros] = this.#instanceNormConstants();
    const grouped = this.graph.node('Reshape', [x, this.graph.ints([0, GROUPS, -1])]);
    const normalised = this.graph.node('InstanceNormalization', [grouped, ones, zeros], { epsilon });
    const restored = this.graph.node('Reshape', [normalised, this.graph.node('Shape', [x])]);
    const scale = this.graph.weight(`${name}.weight`, [channels, 1, 1], { value: 1 });
    const shift = this.graph.weight(`${name}.bias`, [channels, 1, 1], { value: 0 });
    return this.graph.node('Add', [this.graph.node('Mul', [restored, scale]), shift]);
  }

  layerNorm(x: string, channels: number, name: string, epsilon = 1e-5): string {
    const scale = this.graph.weight(`${name}.weight`, [channels], { value: 1 });
    const shift = this.graph.weight(`${name}.bias`, [channels], { value: 0 });
    return this.graph.node('LayerNormalization', [x, scale, shift], { axis: -1, epsilon });
  }

  silu(x: string): string {
    return this.graph.node('Mul', [x, this.graph.node('Sigmoid', [x])]);
  }

  gelu(x: string): string {
    const erf = this.graph.node('Erf', [this.graph.node('Div', [x, this.graph.floats([Math.SQRT2], [])])]);
    return this.graph.node('Mul', [this.graph.node('Mul', [x, this.graph.floats([0.5], [])]), this.graph.node('Add', [erf, this.graph.floats([1], [])])]);
  }

  quickGelu(x: string): string {
    return this.graph.node('Mul', [x, this.graph.node('Sigmoid', [this.graph.node('Mul', [x, this.graph.floats([1.702], [])])])]);
  }

  /** Scaled dot-product attention over [batch, tokens, heads·headDim] inputs, with an optional additive mask. */
  attention(q: string, k: string, v: string, heads: number, headDim: number, mask?: string): string {
    const split = (x: string, perm: number[]) => this.graph.node('Transpose', [this.graph.node('Reshape', [x, this.graph.ints([0, 0, heads, headDim])])], { perm });
    const scores = this.graph.node('Mul', [this.graph.node('MatMul', [split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1])]), this.graph.floats([1 / Math.sqrt(headDim)], [])]);
    const weights = this.graph.node('Softmax', [mask === undefined ? scores : this.graph.node('Add', [scores, mask])], { axis: -1 });
    const mixed = this.graph.node('MatMul', [weights, split(v, [0, 2, 1, 3])]);
    return this.graph.node('Reshape', [this.graph.node('Transpose', [mixed], { perm: [0, 2, 1, 3] }), this.graph.ints([0, 0, heads * headDim])]);
  }

  /**
   * One layer of transformers' CLIPEncoder (text and vision towers alike): pre-norm self-attention and a pre-norm MLP,
   * each added back to the stream; `mask` is the text tower's causal mask.
   */
  clipEncoderLayer(h: string, prefix: string, shape: { readonly width: number; readonly heads: number; readonly intermediate: number; readonly activation: 'quick_gelu' | 'gelu' }, mask?: string): string {
    const { width, heads } = shape;
    const n = this.layerNorm(h, width, `${prefix}.layer_norm1`);
    const attended = this.attention(
      this.linear(n, width, width, `${prefix}.self_attn.q_proj`),
      this.linear(n, width, width, `${prefix}.self_attn.k_proj`),
      this.linear(n, width, width, `${prefix}.self_attn.v_proj`),
      heads,
      width / heads,
      mask,
    );
    const mixed = this.graph.node('Add', [h, this.linear(attended, width, width, `${prefix}.self_attn.out_proj`)]);
    const m = this.linear(this.layerNorm(mixed, width, `${prefix}.layer_norm2`), width, shape.intermediate, `${prefix}.mlp.fc1`);
    const activated = shape.activation === 'quick_gelu' ? this.quickGelu(m) : this.gelu(m);
    return this.graph.node('Add', [mixed, this.linear(activated, shape.intermediate, width, `${prefix}.mlp.fc2`)]);
  }

  /** [batch, C, H, W] → [batch, H·W, C]. */
  toTokens(x: string, channels: number): string {
    return this.graph.node('Transpose', [this.graph.node('Reshape', [x, this.graph.ints([0, channels, -1])])], { perm: [0, 2, 1] });
  }

  /** [batch, H·W, C] → the shape of `like` ([batch, C, H, W]). */
  fromTokens(x: string, like: string): string {
    return this.graph.node('Reshape', [this.graph.node('Transpose', [x], { perm: [0, 2, 1] }), this.graph.node('Shape', [like])]);
  }

  /** diffusers' sinusoidal Timesteps (flip_sin_to_cos, no shift): [n, 1] values → [n, dim] as cos ‖ sin. */
  sinusoids(values: string, dim: number): string {
    const half = dim / 2;
    const frequencies = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
    // diffusers computes the angles in float32 and casts the embedding to the model's dtype afterwards.
    const angles = this.graph.node('Mul', [this.graph.toFloat32(values), this.graph.floats32(frequencies, [1, half])]);
    return this.graph.fromFloat32(this.graph.node('Concat', [this.graph.node('Cos', [angles]), this.graph.node('Sin', [angles])], { axis: 1 }));
  }

  #instanceNormConstants(): [string, string] {
    let pair = this.#normConstants.get(GROUPS);
    if (pair === undefined) {
      pair = [this.graph.floats(new Float32Array(GROUPS).fill(1), [GROUPS]), this.graph.floats(new Float32Array(GROUPS), [GROUPS])];
      this.#normConstants.set(GROUPS, pair);
    }
    return pair;
  }
}
