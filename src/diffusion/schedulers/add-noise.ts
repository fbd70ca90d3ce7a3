/**
 * diffusers' `add_noise`, the forward process that image-to-image starts from: clean latents moved to the noise
 * level of one timestep. Each scheduler family has its own parameterisation; all compute in float32 as torch does.
 */

/** Variance-exploding (the Euler family): x0 + σ·z. */
export function noiseToSigma(original: Float32Array, noise: Float32Array, sigma: number): Float32Array {
  const scale = Math.fround(sigma);
  return original.map((value, i) => Math.fround(value + Math.fround(noise[i] * scale)));
}

/** Variance-preserving in ᾱ (DDPM, DDIM, PNDM, LCM): √ᾱ·x0 + √(1 − ᾱ)·z. */
export function noiseToAlpha(original: Float32Array, noise: Float32Array, alphaBar: number): Float32Array {
  return scaledSum(original, noise, Math.fround(Math.sqrt(alphaBar)), Math.fround(Math.sqrt(Math.fround(1 - alphaBar))));
}

/** Variance-preserving written as σ (DPM-Solver, UniPC): α_t·x0 + σ_t·z with α_t = 1/√(σ² + 1), σ_t = σ·α_t. */
export function noiseToVpSigma(original: Float32Array, noise: Float32Array, sigma: number): Float32Array {
  const alpha = Math.fround(1 / Math.sqrt(sigma * sigma + 1));
  return scaledSum(original, noise, alpha, Math.fround(sigma * alpha));
}

function scaledSum(original: Float32Array, noise: Float32Array, originalScale: number, noiseScale: number): Float32Array {
  return original.map((value, i) => Math.fround(Math.fround(value * originalScale) + Math.fround(noise[i] * noiseScale)));
}
