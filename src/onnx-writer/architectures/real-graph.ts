import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';
import { float32ArrayToHalfBits } from '../../diffusion/onnx/float16.js';
import { attribute, ONNX_TYPES, valueInfo, type AttributeValue, type Dimension, type FixtureType } from '../onnx-graph-builder.js';

const { onnx } = onnxProto;

/**
 * How a weight is filled: pseudo-random of a standard deviation, one value everywhere (norm scales, biases), or the
 * values a source gives in the graph's layout (a checkpoint's tensor, read when it is written).
 */
export type WeightFill = { readonly std: number } | { readonly value: number } | { readonly values: () => Promise<Float32Array> };

export interface Weight {
  readonly name: string;
  readonly dims: readonly number[];
  readonly fill: WeightFill;
}

const CHUNK = 1 << 22;

/**
 * An ONNX graph of a real architecture whose weights are described, not held: each weight is a name, a shape and a
 * fill rule, so the parameter count is known without a byte of data, and `write` streams the weights to the external
 * data file one chunk at a time (float32 or float16), never holding them in memory.
 */
export class RealGraph {
  readonly weights: Weight[] = [];
  /** The element type of weights, activations and float I/O. */
  readonly precision: 'float32' | 'float16';
  readonly #nodes: onnxProto.onnx.INodeProto[] = [];
  readonly #constants: onnxProto.onnx.ITensorProto[] = [];
  readonly #inputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #names = new Map<string, number>();

  constructor(precision: 'float32' | 'float16' = 'float32') {
    this.precision = precision;
  }

  input(name: string, type: FixtureType, shape: readonly Dimension[]): string {
    this.#inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(value: string, name: string, type: FixtureType, shape: readonly Dimension[]): void {
    this.node('Identity', [value], {}, name);
    this.#outputs.push(valueInfo(name, type, shape));
  }

  /** A learned parameter, counted and written to the external data file. */
  weight(name: string, dims: readonly number[], fill: WeightFill): string {
    const unique = this.#unique(name);
    this.weights.push({ name: unique, dims, fill });
    return unique;
  }

  /** A small inline constant in the graph's precision that is not a parameter (a mask, a scale). */
  floats(values: ArrayLike<number>, dims: readonly number[]): string {
    if (this.precision === 'float32') return this.floats32(values, dims);
    const name = this.#unique('const');
    const data = float32ArrayToHalfBits(Float32Array.from(values));
    this.#constants.push({ name, dataType: ONNX_TYPES.float16, dims: [...dims], rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** A small inline float32 constant whatever the precision (Resize scales, tables computed in float32). */
  floats32(values: ArrayLike<number>, dims: readonly number[]): string {
    const name = this.#unique('const');
    const data = Float32Array.from(values);
    this.#constants.push({ name, dataType: ONNX_TYPES.float32, dims: [...dims], rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** `x` in float32 (a Cast in a float16 graph), for the parts exporters keep in float32. */
  toFloat32(x: string): string {
    return this.precision === 'float32' ? x : this.node('Cast', [x], { to: ONNX_TYPES.float32 });
  }

  /** A float32 value back in the graph's precision. */
  fromFloat32(x: string): string {
    return this.precision === 'float32' ? x : this.node('Cast', [x], { to: ONNX_TYPES.float16 });
  }

  ints(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.#unique('const');
    this.#constants.push({ name, dataType: ONNX_TYPES.int64, dims: [...dims], int64Data: [...values] });
    return name;
  }

  node(op: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, output?: string): string {
    const out = output ?? this.#unique(op.toLowerCase());
    this.#nodes.push({ opType: op, input: [...inputs], output: [out], name: this.#unique(`${op}_node`), attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)) });
    return out;
  }

  get parameterCount(): number {
    return this.weights.reduce((sum, weight) => sum + weight.dims.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Writes model.onnx (graph and small constants) and streams every weight into `dataFile` as the exporters do
   * (`location`/`offset`/`length` per initializer), in the graph's precision.
   */
  async write(modelFile: string, dataFile: string, seed: number): Promise<number> {
    const type = this.precision;
    const bytesPer = type === 'float32' ? 4 : 2;
    const initializers: onnxProto.onnx.ITensorProto[] = [];
    const handle = await open(dataFile, 'w');
    let offset = 0;
    try {
      for (const [index, weight] of this.weights.entries()) {
        const count = weight.dims.reduce((a, b) => a * b, 1);
        const random = mulberry32(seed * 1_000_003 + index);
        const given = 'values' in weight.fill ? await weight.fill.values() : undefined;
        if (given !== undefined && given.length !== count) throw new Error(`weight ${weight.name} is given ${given.length} values for [${weight.dims.join(', ')}]`);
        for (let done = 0; done < count; done += CHUNK) {
          const values = given?.subarray(done, done + CHUNK) ?? new Float32Array(Math.min(CHUNK, count - done));
          if (given === undefined) fill(values, weight.fill, random);
          const bytes = type === 'float32' ? new Uint8Array(values.buffer, values.byteOffset, values.byteLength) : new Uint8Array(float32ArrayToHalfBits(values).buffer);
          await handle.write(bytes, 0, bytes.length, offset + done * bytesPer);
        }
        initializers.push({
          name: weight.name,
          dataType: ONNX_TYPES[type],
          dims: [...weight.dims],
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: basename(dataFile) },
            { key: 'offset', value: String(offset) },
            { key: 'length', value: String(count * bytesPer) },
          ],
        });
        offset += count * bytesPer;
      }
    } finally {
      await handle.close();
    }
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'imagine-bot real-scale generator',
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name: 'graph', node: this.#nodes, initializer: [...this.#constants, ...initializers], input: this.#inputs, output: this.#outputs },
    });
    const output = await open(modelFile, 'w');
    try {
      await output.write(onnx.ModelProto.encode(model).finish());
    } finally {
      await output.close();
    }
    return offset;
  }

  #unique(name: string): string {
    const seen = this.#names.get(name) ?? 0;
    this.#names.set(name, seen + 1);
    return seen === 0 ? name : `${name}_${seen}`;
  }
}

function fill(values: Float32Array, rule: WeightFill, random: () => number): void {
  if ('values' in rule) return;
  if ('value' in rule) {
    values.fill(rule.value);
    return;
  }
  // Uniform on ±√3·std has the asked standard deviation and no tails to overflow fp16.
  const scale = rule.std * 2 * Math.sqrt(3);
  for (let i = 0; i < values.length; i++) values[i] = (random() - 0.5) * scale;
}

/** A small, fast deterministic generator: the same seed gives the same model on every machine. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
