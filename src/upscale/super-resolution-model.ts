import { Tensor } from '../diffusion/onnx/onnx-runtime.js';
import { UserError } from '../core/errors.js';
import type { OnnxComponent } from '../diffusion/onnx/onnx-component.js';
import { floatFeed, readFloats } from '../diffusion/onnx/tensor-values.js';
import type { TensorSpec } from '../diffusion/onnx/tensor-spec.js';
import { describeShape, isFloatType } from '../diffusion/onnx/tensor-spec.js';
import type { Planes } from '../imaging/planes.js';
import type { UpscalerDescriptor } from './upscaler-descriptor.js';


/** An NCHW super-resolution session: planes in, planes `scale` times larger out. */
export class SuperResolutionModel {
  readonly #component: OnnxComponent;
  readonly #input: TensorSpec;
  readonly #output: string;
  readonly scale: number;
  readonly channels: number;

  constructor(component: OnnxComponent, descriptor: UpscalerDescriptor) {
    this.#component = component;
    this.scale = descriptor.scale;
    this.channels = descriptor.colour === 'y' ? 1 : 3;
    this.#input = descriptor.input === undefined ? onlyOne(component, 'input') : component.input(descriptor.input, 4);
    this.#output = descriptor.output === undefined ? onlyOne(component, 'output').name : component.output(descriptor.output, 4).name;
    if (this.#input.shape.length !== 4 || !isFloatType(this.#input.type)) {
      throw new UserError(`${component.label}: input '${this.#input.name}' should be a float NCHW image, the file declares ${this.#input.type} ${describeShape(this.#input.shape)}`);
    }
    const declared = this.#input.shape[1];
    if (typeof declared === 'number' && declared > 0 && declared !== this.channels) {
      throw new UserError(`${component.label}: takes ${declared} channels, but the ${descriptor.name} preset feeds ${this.channels}`);
    }
  }

  async run(planes: Planes): Promise<Planes> {
    const feed: Tensor = floatFeed(this.#input, planes.data, [1, planes.channels, planes.height, planes.width]);
    const result = await this.#component.run({ [this.#input.name]: feed }, [this.#output]);
    const tensor = result[this.#output];
    const [, channels, height, width] = tensor.dims;
    if (height !== planes.height * this.scale || width !== planes.width * this.scale) {
      throw new UserError(
        `${this.#component.label}: ${planes.width}x${planes.height} came out ${width}x${height}, not ×${this.scale}; is this the right preset for the model?`,
      );
    }
    return { data: readFloats(tensor, this.#output), channels: channels, width: width, height: height };
  }

  async release(): Promise<void> {
    await this.#component.release();
  }
}

function onlyOne(component: OnnxComponent, kind: 'input' | 'output'): TensorSpec {
  const specs = kind === 'input' ? component.inputs : component.outputs;
  if (specs.size !== 1) throw new UserError(`${component.label}: expected one ${kind}, found ${[...specs.keys()].join(', ')}; name it in upscaler.json`);
  return [...specs.values()][0];
}
