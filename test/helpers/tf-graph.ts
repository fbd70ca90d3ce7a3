import { TF_DTYPE, type TfAttr, type TfNode } from '../../src/upscale/tensorflow/graph-def.js';

/** Small helpers to write TensorFlow frozen graphs in tests, node by node. */

const text = (value: string) => new TextEncoder().encode(value);

export function placeholder(name: string): TfNode {
  return { name, op: 'Placeholder', input: [], attr: { dtype: { type: TF_DTYPE.float } } };
}

export function floatConst(name: string, dims: readonly number[], values: ArrayLike<number>): TfNode {
  const bytes = new Uint8Array(Float32Array.from(values).buffer);
  return { name, op: 'Const', input: [], attr: { dtype: { type: TF_DTYPE.float }, value: { tensor: { dtype: TF_DTYPE.float, tensor_shape: shape(dims), tensor_content: bytes } } } };
}

export function scalarConst(name: string, value: number): TfNode {
  return { name, op: 'Const', input: [], attr: { dtype: { type: TF_DTYPE.float }, value: { tensor: { dtype: TF_DTYPE.float, tensor_shape: shape([]), float_val: [value] } } } };
}

export function int32Const(name: string, values: readonly number[]): TfNode {
  const bytes = new Uint8Array(Int32Array.from(values).buffer);
  return { name, op: 'Const', input: [], attr: { dtype: { type: TF_DTYPE.int32 }, value: { tensor: { dtype: TF_DTYPE.int32, tensor_shape: shape([values.length]), tensor_content: bytes } } } };
}

/** The three constants and the Dequantize node that TensorFlow's quantize_weights leaves for one weight tensor. */
export function quantizedWeights(name: string, dims: readonly number[], quantized: Uint8Array, min: number, max: number): TfNode[] {
  const quint8: TfAttr = { type: TF_DTYPE.quint8 };
  return [
    { name: `${name}_quantized_const`, op: 'Const', input: [], attr: { dtype: quint8, value: { tensor: { dtype: TF_DTYPE.quint8, tensor_shape: shape(dims), tensor_content: quantized } } } },
    scalarConst(`${name}_quantized_min`, min),
    scalarConst(`${name}_quantized_max`, max),
    { name, op: 'Dequantize', input: [`${name}_quantized_const`, `${name}_quantized_min`, `${name}_quantized_max`], attr: { T: quint8, mode: { s: text('MIN_COMBINED') } } },
  ];
}

export function conv2d(name: string, input: string, filter: string): TfNode {
  return {
    name,
    op: 'Conv2D',
    input: [input, filter],
    attr: {
      T: { type: TF_DTYPE.float },
      padding: { s: text('SAME') },
      strides: { list: { i: [1, 1, 1, 1] } },
      dilations: { list: { i: [1, 1, 1, 1] } },
      data_format: { s: text('NHWC') },
    },
  };
}

export function op(name: string, type: string, inputs: readonly string[], attr: Record<string, TfAttr> = {}): TfNode {
  return { name, op: type, input: inputs, attr: { T: { type: TF_DTYPE.float }, ...attr } };
}

export function depthToSpace(name: string, input: string, blockSize: number): TfNode {
  return op(name, 'DepthToSpace', [input], { block_size: { i: blockSize }, data_format: { s: text('NHWC') } });
}

function shape(dims: readonly number[]) {
  return { dim: dims.map((size) => ({ size })) };
}
