import { basename, dirname } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { UserError } from '../../core/errors.js';
import { describeShape, tensorSpecFromMetadata, type TensorSpec } from './tensor-spec.js';

/**
 * One loaded model file (text encoder, UNet, VAE decoder, upscaler) with the input and output specs its session
 * declares. Callers ask for the names they need with `input`/`output`, which fail with a message naming the file,
 * what was expected and what the file offers.
 */
export class OnnxComponent {
  readonly file: string;
  readonly inputs: ReadonlyMap<string, TensorSpec>;
  readonly outputs: ReadonlyMap<string, TensorSpec>;
  readonly #session: InferenceSession;

  constructor(file: string, session: InferenceSession) {
    this.file = file;
    this.#session = session;
    this.inputs = new Map(session.inputMetadata.map((m) => [m.name, tensorSpecFromMetadata(m, this.label)]));
    this.outputs = new Map(session.outputMetadata.map((m) => [m.name, tensorSpecFromMetadata(m, this.label)]));
  }

  /** `unet/model.onnx` rather than a full path: short enough for one line, precise enough to find the file. */
  get label(): string {
    return `${basename(dirname(this.file))}/${basename(this.file)}`;
  }

  input(name: string, rank?: number | readonly number[]): TensorSpec {
    return this.#find(this.inputs, 'input', name, rank);
  }

  output(name: string, rank?: number | readonly number[]): TensorSpec {
    return this.#find(this.outputs, 'output', name, rank);
  }

  hasInput(name: string): boolean {
    return this.inputs.has(name);
  }

  #find(
    specs: ReadonlyMap<string, TensorSpec>,
    kind: string,
    name: string,
    rank: number | readonly number[] | undefined,
  ): TensorSpec {
    const spec = specs.get(name);
    if (spec === undefined) {
      throw new UserError(`${this.label}: expected an ${kind} named '${name}', found ${[...specs.keys()].join(', ')}`);
    }
    const ranks = rank === undefined ? [] : typeof rank === 'number' ? [rank] : rank;
    if (ranks.length > 0 && !ranks.includes(spec.shape.length)) {
      throw new UserError(
        `${this.label}: ${kind} '${name}' should have rank ${ranks.join(' or ')}, but the file declares ${describeShape(spec.shape)}`,
      );
    }
    return spec;
  }

  async run(feeds: Record<string, Tensor>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    return outputNames === undefined ? this.#session.run(feeds) : this.#session.run(feeds, outputNames);
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}
