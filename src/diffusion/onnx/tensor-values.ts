import { Tensor } from './onnx-runtime.js';
import { float32ArrayToHalfBits, halfBitsToFloat32Array } from './float16.js';
import type { TensorSpec } from './tensor-spec.js';

/**
 * Builds a feed for a float input in whatever float type the session declared, so the engine computes in float32
 * and never cares whether the export is fp16 or fp32.
 */
export function floatFeed(spec: TensorSpec, values: Float32Array, dims: readonly number[]): Tensor {
  switch (spec.type) {
    case 'float32':
      return new Tensor('float32', values, dims);
    case 'float16':
      return new Tensor('float16', float32ArrayToHalfBits(values), dims);
    case 'int32':
      return new Tensor('int32', Int32Array.from(values, Math.round), dims);
    case 'int64':
      return new Tensor('int64', BigInt64Array.from(values, (v) => BigInt(Math.round(v))), dims);
    case 'bool':
      throw new Error(`input '${spec.name}' is boolean; expected a number type`);
  }
}

/** Builds a feed for an integer-valued input (token ids, integer timesteps) in the declared type. */
export function integerFeed(spec: TensorSpec, values: ArrayLike<number>, dims: readonly number[]): Tensor {
  switch (spec.type) {
    case 'int32':
      return new Tensor('int32', Int32Array.from(values), dims);
    case 'int64':
      return new Tensor('int64', BigInt64Array.from(Array.from(values), (v) => BigInt(v)), dims);
    case 'float32':
    case 'float16':
    case 'bool':
      return floatFeed(spec, Float32Array.from(values), dims);
  }
}

/** Reads any float output as float32 values. */
export function readFloats(tensor: Tensor, name: string): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') return halfBitsToFloat32Array(tensor.data as Uint16Array);
  throw new Error(`output '${name}' has element type ${tensor.type}; expected float32 or float16`);
}
