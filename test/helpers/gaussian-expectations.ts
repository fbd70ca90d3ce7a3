import { FIXTURE } from '../fixtures/sdxl-fixture.js';

/**
 * Closed-form output distributions of the deterministic samplers on the fixtures' exact Gaussian denoiser
 * (x0 ~ N(μ, s²)), written out from the samplers' equations, independently of the engine.
 */

export interface Gaussian {
  readonly mean: number;
  readonly variance: number;
}

const s2 = FIXTURE.dataStd ** 2;

/**
 * Euler in σ: y' = y·(s² + σ·σ_next)/(s² + σ²), from y = x_T − μ with x_T = initialSigma·z, or, for image to image,
 * x_T = the picture's latent + σ·z (`start` its mean and variance).
 */
export function eulerOutput(sigmas: readonly number[], mu: number, initialSigma: number, start: Gaussian = { mean: 0, variance: initialSigma ** 2 }): Gaussian {
  let mean = start.mean - mu;
  let variance = start.variance;
  for (let i = 0; i + 1 < sigmas.length; i++) {
    const k = (s2 + sigmas[i] * sigmas[i + 1]) / (s2 + sigmas[i] ** 2);
    mean *= k;
    variance *= k * k;
  }
  return { mean: mu + mean, variance };
}

/**
 * DDIM in ᾱ: x' = k·x + c with k = (a'·a·s² + b'·b)/D, c = μ·b·(a'·b − b'·a)/D, D = a²s² + b², from x_T ~ N(0, 1)
 * or, for image to image, from `start` (√ᾱ·the picture's latent, 1 − ᾱ).
 */
export function ddimOutput(alphaPairs: readonly [number, number][], mu: number, start: Gaussian = { mean: 0, variance: 1 }): Gaussian {
  let mean = start.mean;
  let variance = start.variance;
  for (const [alpha, alphaPrev] of alphaPairs) {
    const [a, b, a1, b1] = [Math.sqrt(alpha), Math.sqrt(1 - alpha), Math.sqrt(alphaPrev), Math.sqrt(1 - alphaPrev)];
    const d = a * a * s2 + b * b;
    const k = (a1 * a * s2 + b1 * b) / d;
    mean = k * mean + (mu * b * (a1 * b - b1 * a)) / d;
    variance *= k * k;
  }
  return { mean, variance };
}

/** The fixture VAE shows R = z0, G = z1, B = (z2 + z3)/2; pixels are round(255·(z/2 + 0.5)), adding 1/12 of variance. */
export function fixturePixels(perChannel: readonly Gaussian[]): Gaussian[] {
  const latent = [perChannel[0], perChannel[1], { mean: (perChannel[2].mean + perChannel[3].mean) / 2, variance: (perChannel[2].variance + perChannel[3].variance) / 4 }];
  return latent.map((g) => ({ mean: 255 * (g.mean / 2 + 0.5), variance: (255 / 2) ** 2 * g.variance + 1 / 12 }));
}

/** The fixture UNet's ε at a (possibly fractional) timestep: ᾱ interpolated linearly in its table, as its graph does. */
export function fixtureEpsilon(alphas: Float32Array, input: number, timestep: number, mu: number): number {
  const low = Math.floor(timestep);
  const high = Math.ceil(timestep);
  const alpha = alphas[low] + (alphas[high] - alphas[low]) * (timestep - low);
  const [a, b] = [Math.sqrt(alpha), Math.sqrt(1 - alpha)];
  return (b * (input - a * mu)) / (a * a * s2 + b * b);
}

/** The affine map x_T ↦ output of a one-dimensional sampler run, and the distribution it gives x_T = σ_init·z. */
export function affineOutput(run: (start: number) => number, initialSigma: number): Gaussian {
  const c = run(0);
  const k = run(1) - c;
  return { mean: c, variance: (k * initialSigma) ** 2 };
}

/** Heun (Karras Algorithm 1, no churn) in σ for one scalar: Euler to σ_next, then the average of both slopes. */
export function heunOutput(alphas: Float32Array, timesteps: readonly number[], sigmas: readonly number[], mu: number, initialSigma: number): Gaussian {
  return affineOutput((start) => {
    let x = start;
    let [slope, dt, origin] = [0, 0, 0];
    for (let i = 0; i < timesteps.length; i++) {
      const epsilon = fixtureEpsilon(alphas, x / Math.sqrt(sigmas[i] ** 2 + 1), timesteps[i], mu);
      if (i % 2 === 0) {
        [slope, dt, origin] = [epsilon, sigmas[i + 1] - sigmas[i], x];
        x += slope * dt;
      } else {
        x = origin + ((slope + epsilon) / 2) * dt;
      }
    }
    return x;
  }, initialSigma);
}

/** ∫ of the Lagrange basis polynomial for σ_{t−k} over [σ_t, σ_{t+1}], by Simpson's rule (exact for these cubics). */
function lagrangeIntegral(sigmas: readonly number[], t: number, order: number, k: number): number {
  const basis = (tau: number) => {
    let product = 1;
    for (let j = 0; j < order; j++) if (j !== k) product *= (tau - sigmas[t - j]) / (sigmas[t - k] - sigmas[t - j]);
    return product;
  };
  const [a, b] = [sigmas[t], sigmas[t + 1]];
  return ((b - a) / 6) * (basis(a) + 4 * basis((a + b) / 2) + basis(b));
}

/** LMS (fourth order at most) in σ for one scalar: the slope of an ε model is ε itself. */
export function lmsOutput(alphas: Float32Array, timesteps: readonly number[], sigmas: readonly number[], mu: number, initialSigma: number): Gaussian {
  return affineOutput((start) => {
    let x = start;
    const slopes: number[] = [];
    for (let i = 0; i < timesteps.length; i++) {
      slopes.push(fixtureEpsilon(alphas, x / Math.sqrt(sigmas[i] ** 2 + 1), timesteps[i], mu));
      const order = Math.min(i + 1, 4);
      for (let k = 0; k < order; k++) x += lagrangeIntegral(sigmas, i, order, k) * slopes[slopes.length - 1 - k];
    }
    return x;
  }, initialSigma);
}

/**
 * UniPC, bh2, data prediction, order 2 with lower_order_final, for one scalar: predictor x_t = σ_t/σ_s·x − α_t·hφ₁·m0
 * − α_t·B(h)·½·D1 (order 2), corrector with ρ from the 2×2 system (Cramer's rule) or ½ at order 1.
 */
export function unipcOutput(alphas: Float32Array, timesteps: readonly number[], sigmas: readonly number[], mu: number): Gaussian {
  const vp = (sigma: number) => [1 / Math.sqrt(sigma ** 2 + 1), sigma / Math.sqrt(sigma ** 2 + 1)] as const;
  const lambda = (sigma: number) => Math.log(vp(sigma)[0]) - Math.log(vp(sigma)[1]);
  const phis = (h: number) => {
    const hh = -h;
    const hPhi1 = Math.expm1(hh);
    const bH = Math.expm1(hh);
    const phi2 = hPhi1 / hh - 1;
    return { hPhi1, bH, b1: phi2 / bH, b2: ((phi2 / hh - 0.5) * 2) / bH };
  };
  const count = timesteps.length;
  return affineOutput((start) => {
    let x = start;
    const x0s: number[] = [];
    let lastSample = 0;
    let order = 0;
    for (let i = 0; i < count; i++) {
      const [alphaS, sigmaS] = vp(sigmas[i]);
      const x0 = (x - sigmaS * fixtureEpsilon(alphas, x, timesteps[i], mu)) / alphaS;
      if (i > 0) {
        const h = lambda(sigmas[i]) - lambda(sigmas[i - 1]);
        const { hPhi1, bH, b1, b2 } = phis(h);
        const m0 = x0s[i - 1];
        const base = (vp(sigmas[i])[1] / vp(sigmas[i - 1])[1]) * lastSample - vp(sigmas[i])[0] * hPhi1 * m0;
        if (order === 1) {
          x = base - vp(sigmas[i])[0] * bH * 0.5 * (x0 - m0);
        } else {
          const r0 = (lambda(sigmas[i - 2]) - lambda(sigmas[i - 1])) / h;
          // R = [[1, 1], [r0, 1]], b = [b1, b2]: ρ0 = (b1 − b2)/(1 − r0), ρ1 = (b2 − r0·b1)/(1 − r0).
          const [rho0, rho1] = [(b1 - b2) / (1 - r0), (b2 - r0 * b1) / (1 - r0)];
          x = base - vp(sigmas[i])[0] * bH * (rho0 * ((x0s[i - 2] - m0) / r0) + rho1 * (x0 - m0));
        }
      }
      x0s.push(x0);
      order = Math.min(2, count - i, x0s.length);
      lastSample = x;
      const h = lambda(sigmas[i + 1]) - lambda(sigmas[i]);
      const { hPhi1, bH } = phis(h);
      const [alphaT, sigmaT] = vp(sigmas[i + 1]);
      let next = (sigmaT / vp(sigmas[i])[1]) * x - alphaT * hPhi1 * x0;
      if (order === 2) {
        const r0 = (lambda(sigmas[i - 1]) - lambda(sigmas[i])) / h;
        next -= alphaT * bH * 0.5 * ((x0s[i - 1] - x0) / r0);
      }
      x = next;
    }
    return x;
  }, 1);
}
