import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { numpyArange, numpyInterp, numpyLinspace, roundHalfToEven } from '../../../src/diffusion/schedulers/numpy-arithmetic.js';
import { fmaFloat32, torchCumprodFloat32, torchLinspaceFloat32 } from '../../../src/diffusion/schedulers/torch-arithmetic.js';

/** The float32 value of an IEEE bit pattern, for values printed by torch as bits. */
function float32Bits(bits: number): number {
  return new Float32Array(Uint32Array.of(bits).buffer)[0];
}

// Every expected value below was printed by NumPy 2.4 or PyTorch 1.13 (CPU, AVX2), not computed by this project.
describe('NumPy arithmetic', () => {
  test('arange recomputes its step from the first two values: 1000 − 3·(1000 − 979.1666…) = 937.4999999999999', () => {
    const values = numpyArange(1000, 0, -1000 / 48);
    assert.equal(values.length, 48);
    assert.equal(values[1], 979.1666666666666);
    assert.equal(values[3], 937.4999999999999);
  });

  test('arange yields N + 1 values for 61, 103, 121 and 122 steps of 1000, the last a rounding error away from 0', () => {
    assert.deepEqual(
      [61, 103, 121, 122].map((n) => {
        const values = numpyArange(1000, 0, -1000 / n);
        return [values.length, values.at(-1)];
      }),
      [[62, -5.684341886080801e-13], [104, 2.2737367544323206e-12], [122, -5.9117155615240335e-12], [123, 6.366462912410498e-12]],
    );
    assert.deepEqual(numpyArange(0, 3, 1), [0, 1, 2]);
    assert.deepEqual(numpyArange(0, 0, 1), []);
    assert.throws(() => numpyArange(0, 1, 0), RangeError);
  });

  test('linspace multiplies the index by the step and adds the start: 13·(999/26) = 499.49999999999994, not 499.5', () => {
    assert.equal(numpyLinspace(0, 999, 27)[13], 499.49999999999994);
    assert.deepEqual(numpyLinspace(0, 999, 26).slice(0, 3), [0, 39.96, 79.92]);
    assert.equal(numpyLinspace(0, 999, 26).at(-1), 999, 'the endpoint is set exactly');
    assert.deepEqual(numpyLinspace(0, 50, 7, false), [0, 7.142857142857143, 14.285714285714286, 21.42857142857143, 28.571428571428573, 35.714285714285715, 42.85714285714286]);
    assert.deepEqual(numpyLinspace(5, 9, 1), [5]);
    assert.deepEqual(numpyLinspace(5, 9, 0), []);
  });

  test('round goes half to even; interp is exact on the grid and linear between', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 812.5, 937.5, 937.4999999999999, 2.4, 2.6, -1.5, -2.5].map(roundHalfToEven), [0, 2, 2, 812, 938, 937, 2, 3, -2, -2]);
    const table = Float32Array.of(1, 2, 4, 8);
    assert.deepEqual([-1, 0, 1, 2.5, 3, 7].map((x) => numpyInterp(table, x)), [1, 1, 2, 6, 8, 8]);
  });
});

describe('PyTorch float32 arithmetic', () => {
  test('linspace(√0.00085, √0.012, 1000) bit for bit, across block edges, the halfway switch and the tail', () => {
    const values = torchLinspaceFloat32(Math.sqrt(0.00085), Math.sqrt(0.012), 1000);
    const expected: [number, number][] = [[0, 0x3ceed5f6], [1, 0x3cef7eb8], [7, 0x3cf37345], [8, 0x3cf41c07], [9, 0x3cf4c4c9], [500, 0x3d8e1c47], [501, 0x3d8e4678], [991, 0x3ddf075b], [992, 0x3ddf318b], [999, 0x3de058df]];
    for (const [index, bits] of expected) assert.equal(values[index], float32Bits(bits), `value ${index}`);
  });

  test('cumprod keeps the running product in double and rounds each output', () => {
    // torch.cumprod(torch.full((3,), 0.99)) gives 0.9702990055084229; a float32 running product gives 0.9702990651….
    assert.equal(torchCumprodFloat32(Float32Array.of(0.99, 0.99, 0.99))[2], Math.fround(0.9702990055084229));
  });

  test('a fused multiply-add rounds once, even where rounding the double sum would tie', () => {
    // (8 + 2⁻²⁰)(8 − 2⁻²⁰) + 2³⁰ + 128 = 2³⁰ + 192 − 2⁻⁴⁰: the double sum drops the 2⁻⁴⁰ and ties, and the tie
    // would go to the even 2³⁰ + 256; the exact value is below the midpoint, so it rounds to 2³⁰ + 128.
    const [a, b, c] = [8 + 2 ** -20, 8 - 2 ** -20, 2 ** 30 + 128];
    assert.equal(Math.fround(a * b + c), 2 ** 30 + 256);
    assert.equal(fmaFloat32(a, b, c), 2 ** 30 + 128);
    assert.equal(fmaFloat32(3, 5, 1), 16);
  });
});
