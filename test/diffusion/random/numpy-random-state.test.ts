import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NumpyRandomState } from '../../../src/diffusion/random/numpy-random-state.js';

// np.random.RandomState(seed).randn(5), printed with repr() by NumPy 2.4.
const NUMPY_RANDN: Record<number, number[]> = {
  0: [1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675],
  1: [1.6243453636632417, -0.6117564136500754, -0.5281717522634557, -1.0729686221561705, 0.8654076293246785],
  42: [0.4967141530112327, -0.13826430117118466, 0.6476885381006925, 1.5230298564080254, -0.23415337472333597],
  4294967295: [0.6484086742306527, 0.6693235306338161, -1.0805437227474493, 0.2845010447986309, 0.11388773652167104],
};

test('the same normals as NumPy’s legacy RandomState, bit for bit', () => {
  for (const [seed, expected] of Object.entries(NUMPY_RANDN)) {
    const random = new NumpyRandomState(Number(seed));
    assert.deepEqual(Array.from({ length: 5 }, () => random.nextGaussian()), expected, `seed ${seed}`);
  }
});

test('the stream stays in step past the first MT19937 block (r = RandomState(7); r.randn(16383); r.randn())', () => {
  const random = new NumpyRandomState(7);
  random.standardNormal(16383);
  assert.equal(random.nextGaussian(), -0.3287768662965094);
});

test('standardNormal is randn(n).astype(float32) times the scale', () => {
  const scaled = new NumpyRandomState(1).standardNormal(3, 2);
  assert.deepEqual([...scaled], [1.6243453636632417, -0.6117564136500754, -0.5281717522634557].map((v) => Math.fround(Math.fround(v) * 2)));
});

test('seeds outside 0 … 2³²−1 are refused', () => {
  assert.throws(() => new NumpyRandomState(-1), RangeError);
  assert.throws(() => new NumpyRandomState(2 ** 32), RangeError);
  assert.throws(() => new NumpyRandomState(1.5), RangeError);
});
