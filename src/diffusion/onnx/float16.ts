/**
 * IEEE 754 half precision carried as raw bits in a Uint16Array, which is how onnxruntime-node takes and returns
 * float16 tensors on Node 20 (no Float16Array yet).
 */

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The half-precision bits nearest to a float32 value, rounding ties to even, as numpy's astype(float16) does. */
export function float32ToHalfBits(value: number): number {
  scratch[0] = value;
  return halfBitsFromFloat32Bits(scratchBits[0]);
}

function halfBitsFromFloat32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    // Keep NaN a (quiet) NaN: an all-zero half mantissa would turn it into infinity.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (remainder > halfway || (remainder === halfway && (half & 1) === 1) ? half + 1 : half);
  }
  const half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent, up to infinity.
  return sign | (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1) ? half + 1 : half);
}

export function float32ArrayToHalfBits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBitsFromFloat32Bits(bits[i]);
  return out;
}

let decodeTable: Float32Array | undefined;

/** Every half value decoded once (256 KiB), so converting a whole tensor is one table look-up per element. */
function halfDecodeTable(): Float32Array {
  if (decodeTable !== undefined) return decodeTable;
  const table = new Float32Array(0x10000);
  for (let bits = 0; bits < 0x10000; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) table[bits] = mantissa === 0 ? sign * Infinity : NaN;
    else table[bits] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  decodeTable = table;
  return table;
}

export function halfBitsToFloat32(bits: number): number {
  return halfDecodeTable()[bits & 0xffff];
}

export function halfBitsToFloat32Array(bits: Uint16Array): Float32Array {
  const table = halfDecodeTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]]!;
  return out;
}
