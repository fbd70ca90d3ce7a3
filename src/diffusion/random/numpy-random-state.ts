/**
 * The normal-noise generator of NumPy's legacy `np.random.RandomState(seed)`: MT19937 seeded with `init_genrand`,
 * 53-bit doubles, and the polar Box–Muller method that caches its second value. The diffusers ONNX pipelines draw
 * their initial latents with `generator.randn(...)` on such a RandomState, so the same seed gives the same starting
 * noise here as there. Seeds are unsigned 32-bit integers.
 */
export class NumpyRandomState {
  readonly #state = new Uint32Array(624);
  #index = 624;
  #cachedGauss: number | undefined;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer from 0 to 4294967295, got ${seed}`);
    }
    const mt = this.#state;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const previous = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, previous) + i) >>> 0;
    }
  }

  nextUint32(): number {
    if (this.#index >= 624) this.#twist();
    let y = this.#state[this.#index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 53 random bits (NumPy's `random_sample`). */
  nextDouble(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** One standard normal value (NumPy's legacy `gauss`). */
  nextGaussian(): number {
    if (this.#cachedGauss !== undefined) {
      const cached = this.#cachedGauss;
      this.#cachedGauss = undefined;
      return cached;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.nextDouble() - 1;
      x2 = 2 * this.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const factor = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.#cachedGauss = factor * x1;
    return factor * x2;
  }

  /** `randn(count).astype(float32)`, optionally scaled. */
  standardNormal(count: number, scale = 1): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = Math.fround(this.nextGaussian()) * scale;
    return out;
  }

  #twist(): void {
    const mt = this.#state;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
      mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.#index = 0;
  }
}
