import { UserError } from '../../core/errors.js';
import { TF_DTYPE, type TfShape, type TfTensor } from './graph-def.js';

/** A constant's values, widened to numbers: float weights, integer permutations, quantised bytes. */
export interface TfConstant {
  readonly dims: readonly number[];
  readonly dtype: number;
  readonly values: Float32Array | Int32Array | Uint8Array | Float64Array;
}

export function shapeDims(shape: TfShape | undefined): number[] {
  return (shape?.dim ?? []).map((d) => Number(d.size ?? 0));
}

/** Decodes a TensorProto: raw `tensor_content`, or typed value lists where one value may fill the whole tensor. */
export function decodeTensor(tensor: TfTensor, where: string): TfConstant {
  const dims = shapeDims(tensor.tensor_shape);
  const count = dims.reduce((a, b) => a * b, 1);
  const dtype = tensor.dtype ?? 0;
  const raw = tensor.tensor_content;
  const fromList = <T extends Float32Array | Int32Array | Uint8Array | Float64Array>(make: (n: number) => T, list: readonly (number | string)[] | undefined): T => {
    const out = make(count);
    const values = (list ?? []).map(Number);
    if (values.length === 1) out.fill(values[0]);
    else values.forEach((value, i) => (out[i] = value));
    return out;
  };
  const bytes = (size: number) => {
    if (raw!.length !== count * size) throw new UserError(`${where}: constant holds ${raw!.length} bytes, its shape [${dims.join(', ')}] needs ${count * size}`);
    return raw!.buffer.slice(raw!.byteOffset, raw!.byteOffset + raw!.byteLength);
  };
  const hasRaw = raw !== undefined && raw.length > 0;
  switch (dtype) {
    case TF_DTYPE.float:
      return { dims, dtype, values: hasRaw ? new Float32Array(bytes(4)) : fromList((n) => new Float32Array(n), tensor.float_val) };
    case TF_DTYPE.int32:
      return { dims, dtype, values: hasRaw ? new Int32Array(bytes(4)) : fromList((n) => new Int32Array(n), tensor.int_val) };
    case TF_DTYPE.int64: {
      const values = hasRaw ? Int32Array.from(new BigInt64Array(bytes(8)), (v) => Number(v)) : fromList((n) => new Int32Array(n), tensor.int64_val);
      return { dims, dtype, values };
    }
    case TF_DTYPE.quint8:
    case TF_DTYPE.uint8:
      return { dims, dtype, values: hasRaw ? new Uint8Array(bytes(1)) : fromList((n) => new Uint8Array(n), tensor.int_val) };
    default:
      throw new UserError(`${where}: constants of TensorFlow type ${dtype} are not supported`);
  }
}

/**
 * TensorFlow's Dequantize in MIN_COMBINED mode for quint8, as `quantize_weights` leaves it in EDSR_x4.pb:
 * value = min + q · (max − min) / 255, in float32.
 */
export function dequantizeMinCombined(quantized: TfConstant, min: number, max: number): TfConstant {
  const scale = Math.fround((max - min) / 255);
  const values = new Float32Array(quantized.values.length);
  for (let i = 0; i < values.length; i++) values[i] = Math.fround(min + Math.fround(quantized.values[i] * scale));
  return { dims: quantized.dims, dtype: TF_DTYPE.float, values };
}
