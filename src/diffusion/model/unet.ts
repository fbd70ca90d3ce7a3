import type { Tensor } from 'onnxruntime-node';
import { UserError } from '../../core/errors.js';
import type { Conditioning, ConditioningTensor } from '../conditioning/conditioning.js';
import type { OnnxComponent } from '../onnx/onnx-component.js';
import { describeShape, dimensionAccepts, isFloatType, type TensorSpec } from '../onnx/tensor-spec.js';
import { floatFeed, readFloats } from '../onnx/tensor-values.js';

export const LATENT_CHANNELS = 4;

/**
 * The denoising UNet. It feeds every input in the dtype and rank the export declares (timestep int64 [1], float32
 * scalar, float16 …), runs the whole batch — every picture of a grid, [uncond…, cond…] under guidance, as diffusers
 * orders it — as one call when the export's batch axis is dynamic, and in calls of the size it fixes otherwise, and
 * returns the guided noise prediction.
 */
export class Unet {
  readonly #component: OnnxComponent;
  readonly #sample: TensorSpec;
  readonly #timestep: TensorSpec;
  readonly #output: string;
  readonly #conditioningNames: readonly string[];
  /** Width of `timestep_cond`, the guidance embedding of LCM-distilled UNets; undefined for other UNets. */
  readonly guidanceEmbeddingSize: number | undefined;
  /**
   * The feeds that stay the same for every step of a render (the prompt's conditioning rows and the guidance
   * embedding, converted to the declared dtype), built on the first step instead of on each one.
   */
  readonly #constantFeeds = new WeakMap<Conditioning, { embedding: Float32Array | undefined; byRows: Map<string, Record<string, Tensor>> }>();

  constructor(component: OnnxComponent, conditioningNames: readonly string[]) {
    this.#component = component;
    this.#sample = component.input('sample', 4);
    if (!isFloatType(this.#sample.type)) throw new UserError(`${component.label}: input 'sample' should be a float tensor, the file declares ${this.#sample.type}`);
    this.#timestep = component.input('timestep', [0, 1]);
    component.input('encoder_hidden_states', 3);
    this.#conditioningNames = conditioningNames;
    for (const name of conditioningNames) component.input(name);
    this.#output = component.outputs.has('out_sample') ? 'out_sample' : soleOutput(component);
    const cond = component.inputs.get('timestep_cond');
    const width = cond?.shape.at(-1);
    if (cond !== undefined && typeof width !== 'number') throw new UserError(`${component.label}: input 'timestep_cond' should have a fixed width, the file declares ${describeShape(cond.shape)}`);
    this.guidanceEmbeddingSize = width as number | undefined;
  }

  /** Checks the conditioning against the declared widths once, before the first step, with a readable message. */
  checkConditioning(conditioning: Conditioning): void {
    for (const name of this.#conditioningNames) {
      const tensor = conditioning.inputs.get(name);
      const spec = this.#component.input(name);
      if (tensor === undefined) throw new Error(`the prompt encoder produced no '${name}'`);
      const shape = spec.shape;
      const fits = shape.length === tensor.dims.length && tensor.dims.every((size, axis) => axis === 0 || dimensionAccepts(shape[axis], size));
      if (!fits) {
        throw new UserError(
          `${this.#component.label}: input '${name}' is declared ${describeShape(shape)}, but the text encoders give [${tensor.dims.join(', ')}]; the encoders and the UNet are from different models`,
        );
      }
    }
  }

  /** Whether the export takes `encoder_hidden_states` this long (a long prompt's chunks; some fix it at 77). */
  acceptsSequence(length: number): boolean {
    return dimensionAccepts(this.#component.input('encoder_hidden_states').shape[1], length);
  }

  /** Checks a latent size against a UNet exported with a fixed size. */
  acceptsLatentSize(height: number, width: number): boolean {
    return dimensionAccepts(this.#sample.shape[2], height) && dimensionAccepts(this.#sample.shape[3], width);
  }

  /** Whether the export runs this many pictures (with their guidance rows) in one call. */
  acceptsBatch(pictures: number, guided: boolean): boolean {
    return dimensionAccepts(this.#sample.shape[0], guided ? 2 * pictures : pictures);
  }

  /**
   * The guided noise prediction for `dims[0]` pictures; `embedding` is the guidance embedding for UNets that take
   * `timestep_cond`; `maxRowsPerCall` bounds the batch of one call (and so its activations).
   */
  async predictNoise(
    sample: Float32Array,
    dims: readonly number[],
    timestep: number,
    conditioning: Conditioning,
    guidance: number,
    embedding?: Float32Array,
    maxRowsPerCall = Number.POSITIVE_INFINITY,
  ): Promise<Float32Array> {
    const pictures = dims[0];
    const guided = conditioning.batch === 2;
    // The conditioning row of each batch row: all pictures unconditioned, then all conditioned (diffusers' order).
    const rows = guided ? [...Array<number>(pictures).fill(0), ...Array<number>(pictures).fill(1)] : Array<number>(pictures).fill(0);
    const size = sample.length / pictures;
    const perCall = this.#callSize(rows.length, maxRowsPerCall);
    const callDims = [perCall, ...dims.slice(1)];
    const run = (input: Float32Array, first: number) => this.#run(input, callDims, timestep, conditioning, rows.slice(first, first + perCall), embedding);
    let output: Float32Array;
    if (perCall === rows.length) {
      // The usual case, a dynamic batch axis: one call, its output used as it is.
      output = await run(guided ? concat(sample, sample) : sample, 0);
    } else {
      // An export with a fixed batch: each call reads its rows from `sample` (row r is picture r mod pictures),
      // copying only when a call wraps from the last picture to the first.
      output = new Float32Array(rows.length * size);
      for (let first = 0; first < rows.length; first += perCall) {
        const start = (first % pictures) * size;
        const input = start + perCall * size <= sample.length ? sample.subarray(start, start + perCall * size) : concat(sample.subarray(start), sample.subarray(0, start + perCall * size - sample.length));
        output.set(await run(input, first), first * size);
      }
    }
    if (!guided) return output;
    const [uncond, cond] = [output.subarray(0, sample.length), output.subarray(sample.length)];
    const prediction = new Float32Array(sample.length);
    for (let i = 0; i < prediction.length; i++) prediction[i] = uncond[i] + guidance * (cond[i] - uncond[i]);
    return prediction;
  }

  /**
   * The batch rows of one call: the most that divide the rows evenly, that the export's batch axis takes and that the
   * memory limit allows — all of them for a dynamic export, its fixed size otherwise, one row if nothing else fits.
   */
  #callSize(rows: number, maxRows: number): number {
    for (let size = Math.min(rows, maxRows); size > 1; size--) {
      if (rows % size === 0 && dimensionAccepts(this.#sample.shape[0], size)) return size;
    }
    return 1;
  }

  async #run(
    sample: Float32Array,
    dims: readonly number[],
    timestep: number,
    conditioning: Conditioning,
    rows: readonly number[],
    embedding: Float32Array | undefined,
  ): Promise<Float32Array> {
    const feeds: Record<string, Tensor> = {
      ...this.#constantFeedsFor(conditioning, rows, embedding),
      sample: floatFeed(this.#sample, sample, dims),
      timestep: this.#timestepFeed(timestep),
    };
    let result;
    try {
      result = await this.#component.run(feeds, [this.#output]);
    } catch (error) {
      throw sizeRefusal(error, dims) ?? error;
    }
    return readFloats(result[this.#output], this.#output);
  }

  #constantFeedsFor(conditioning: Conditioning, rows: readonly number[], embedding: Float32Array | undefined): Record<string, Tensor> {
    let cached = this.#constantFeeds.get(conditioning);
    if (cached === undefined || cached.embedding !== embedding) {
      cached = { embedding, byRows: new Map() };
      this.#constantFeeds.set(conditioning, cached);
    }
    const key = rows.join(',');
    const existing = cached.byRows.get(key);
    if (existing !== undefined) return existing;
    const feeds: Record<string, Tensor> = {};
    if (this.guidanceEmbeddingSize !== undefined) {
      if (embedding === undefined) throw new Error('an LCM UNet needs the guidance embedding');
      const repeated = new Float32Array(embedding.length * rows.length);
      for (let row = 0; row < rows.length; row++) repeated.set(embedding, row * embedding.length);
      feeds.timestep_cond = floatFeed(this.#component.input('timestep_cond'), repeated, [rows.length, embedding.length]);
    }
    for (const name of this.#conditioningNames) {
      const tensor = conditioning.inputs.get(name)!;
      const picked = pickRows(tensor, rows);
      feeds[name] = floatFeed(this.#component.input(name), picked.data, picked.dims);
    }
    cached.byRows.set(key, feeds);
    return feeds;
  }

  #timestepFeed(timestep: number): Tensor {
    const spec = this.#timestep;
    if (spec.shape.length === 0) return floatFeed(spec, Float32Array.of(timestep), []);
    const declared = spec.shape[0];
    const count = typeof declared === 'number' && declared > 0 ? declared : 1;
    return floatFeed(spec, new Float32Array(count).fill(timestep), [count]);
  }
}

/**
 * A UNet whose export cannot take this latent size fails inside onnxruntime (a broadcast between mismatched axes, a
 * reshape to a fixed size, a declared dimension): that is the request's size, not a bug, so it becomes a UserError.
 */
function sizeRefusal(error: unknown, dims: readonly number[]): UserError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const reason =
    /Attempting to broadcast an axis by a dimension other than 1[^\n]*/.exec(message)?.[0] ??
    /Got invalid dimensions for input: [^\n]*?(?= for the following indices|$)/m.exec(message)?.[0] ??
    /The input tensor cannot be reshaped to the requested shape[^\n]*/.exec(message)?.[0];
  if (reason === undefined) return undefined;
  const [height, width] = [dims[2] * 8, dims[3] * 8];
  return new UserError(`this model cannot render ${width}x${height}: its UNet refused that size (${reason.trim()}); leave the size (or aspect ratio) out to use the model's own`);
}

function soleOutput(component: OnnxComponent): string {
  const names = [...component.outputs.keys()];
  if (names.length !== 1) throw new UserError(`${component.label}: expected an output named 'out_sample', found ${names.join(', ')}`);
  return names[0];
}

/** The conditioning's rows in the order given (a row repeated once per picture). */
function pickRows(tensor: ConditioningTensor, rows: readonly number[]): ConditioningTensor {
  const batch = tensor.dims[0];
  if (rows.length === batch && rows.every((row, i) => row === i)) return tensor;
  const rowSize = tensor.data.length / batch;
  const data = new Float32Array(rows.length * rowSize);
  rows.forEach((row, i) => { data.set(tensor.data.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize); });
  return { data, dims: [rows.length, ...tensor.dims.slice(1)] };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

