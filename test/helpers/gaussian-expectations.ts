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

/** Euler in σ: y' = y·(s² + σ·σ_next)/(s² + σ²), from y = x_T − μ with x_T = initialSigma·z. */
export function eulerOutput(sigmas: readonly number[], mu: number, initialSigma: number): Gaussian {
  let mean = -mu;
  let variance = initialSigma ** 2;
  for (let i = 0; i + 1 < sigmas.length; i++) {
    const k = (s2 + sigmas[i] * sigmas[i + 1]) / (s2 + sigmas[i] ** 2);
    mean *= k;
    variance *= k * k;
  }
  return { mean: mu + mean, variance };
}

/** DDIM in ᾱ: x' = k·x + c with k = (a'·a·s² + b'·b)/D, c = μ·b·(a'·b − b'·a)/D, D = a²s² + b², from x_T ~ N(0, 1). */
export function ddimOutput(alphaPairs: readonly [number, number][], mu: number): Gaussian {
  let mean = 0;
  let variance = 1;
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
