import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float32ArrayToHalfBits, float32ToHalfBits, halfBitsToFloat32, halfBitsToFloat32Array } from '../../../src/diffusion/onnx/float16.js';

// numpy: np.array([v], np.float32).astype(np.float16).view(np.uint16)
const NUMPY_KNOWN_ANSWERS: readonly [number, number][] = [
  [0, 0x0000],
  [-0, 0x8000],
  [1, 0x3c00],
  [-2.5, 0xc100],
  [65504, 0x7bff],
  [65519.98828125, 0x7bff],
  [65520, 0x7c00],
  [1e-8, 0x0000],
  [2 ** -24, 0x0001],
  [2 ** -25, 0x0000],
  [3 * 2 ** -26, 0x0001],
  [2.980232594040899e-8, 0x0001],
  [0.1, 0x2e66],
  [1 / 3, 0x3555],
  [2049, 0x6800],
  [2050, 0x6801],
  [2051, 0x6802],
  [6.097555160522461e-5, 0x03ff],
  [1e6, 0x7c00],
  [-1e6, 0xfc00],
];

test('float32 → half matches numpy, ties to even, subnormals and overflow included', () => {
  for (const [value, bits] of NUMPY_KNOWN_ANSWERS) {
    assert.equal(float32ToHalfBits(value), bits, `${value} should be 0x${bits.toString(16)}`);
  }
});

test('every half value survives half → float32 → half unchanged (NaN stays NaN)', () => {
  const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
  const floats = halfBitsToFloat32Array(all);
  const back = float32ArrayToHalfBits(floats);
  for (let bits = 0; bits < 0x10000; bits++) {
    const isNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
    if (isNaN) assert.ok(Number.isNaN(floats[bits]) && Number.isNaN(halfBitsToFloat32(back[bits])), `0x${bits.toString(16)}`);
    else assert.equal(back[bits], bits, `0x${bits.toString(16)}`);
  }
});

test('half → float32 decodes the landmarks', () => {
  assert.equal(halfBitsToFloat32(0x3c00), 1);
  assert.equal(halfBitsToFloat32(0x7bff), 65504);
  assert.equal(halfBitsToFloat32(0x0001), 2 ** -24);
  assert.equal(halfBitsToFloat32(0x7c00), Infinity);
  assert.equal(halfBitsToFloat32(0xfc00), -Infinity);
  assert.ok(Object.is(halfBitsToFloat32(0x8000), -0));
});

test('array conversion agrees with the scalar one on random values', () => {
  const values = Float32Array.from({ length: 10_000 }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 14) - 7));
  const bits = float32ArrayToHalfBits(values);
  values.forEach((value, i) => { assert.equal(bits[i], float32ToHalfBits(value)); });
});

test('a view into a larger buffer converts only its own elements', () => {
  const buffer = new Float32Array([7, 1, 2, 7]);
  assert.deepEqual([...float32ArrayToHalfBits(buffer.subarray(1, 3))], [0x3c00, 0x4000]);
});
