/**
 * The two float32 tensor operations diffusers builds ᾱ with, as PyTorch's CPU kernels compute them, so that the
 * noise schedule is the one the model was sampled with, to the last bit.
 */

const FLOAT32_LANES = 8;

/**
 * `torch.linspace(start, end, steps, dtype=float32)` on the CPU: step = (end − start)/(steps − 1) in float32; the
 * first half counts up from start and the second half down from end. The kernel fills blocks of eight lanes (AVX2):
 * each block's base is one fused multiply-add, and the lanes add k·step to it in float32; the tail that does not
 * fill two blocks is computed element by element. (An AVX-512 build uses blocks of sixteen, which can move a few
 * values by one unit in the last place.)
 */
export function torchLinspaceFloat32(startValue: number, endValue: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 0) return out;
  const start = Math.fround(startValue);
  const end = Math.fround(endValue);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = Math.fround((end - start) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const scalar = (i: number) => (i < halfway ? fmaFloat32(step, i, start) : fmaFloat32(-step, steps - 1 - i, end));
  const vectorised = Math.floor(steps / (2 * FLOAT32_LANES)) * 2 * FLOAT32_LANES;
  for (let block = 0; block < vectorised; block += FLOAT32_LANES) {
    const base = scalar(block);
    for (let lane = 0; lane < FLOAT32_LANES; lane++) out[block + lane] = Math.fround(base + Math.fround(lane * step));
  }
  for (let i = vectorised; i < steps; i++) out[i] = scalar(i);
  return out;
}

/** `torch.cumprod` of a float32 tensor on the CPU: the running product is kept in double, each output rounded. */
export function torchCumprodFloat32(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  let product = 1;
  for (let i = 0; i < values.length; i++) {
    product *= values[i];
    out[i] = product;
  }
  return out;
}

/** a·b + c rounded once to float32, for float32 a, b, c (a·b is exact in double; only a tie needs the sum's error). */
export function fmaFloat32(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  const rounded = Math.fround(sum);
  const virtualC = sum - product;
  const error = product - (sum - virtualC) + (c - virtualC);
  if (error === 0 || rounded === sum) return rounded;
  const [below, above] = rounded < sum ? [rounded, nextFloat32(rounded, 1)] : [nextFloat32(rounded, -1), rounded];
  if (sum !== (below + above) / 2) return rounded;
  return error > 0 ? above : below;
}

const bits = new Float32Array(1);
const integers = new Int32Array(bits.buffer);

function nextFloat32(value: number, direction: 1 | -1): number {
  if (value === 0) return direction * 2 ** -149;
  bits[0] = value;
  integers[0] += value > 0 === (direction > 0) ? 1 : -1;
  return bits[0];
}
