import type { NoiseSource, SchedulerStep } from './scheduler.js';
import type { SchedulerConfig } from './scheduler-config.js';
import { SigmaScheduler } from './sigma-scheduler.js';

/** diffusers' EulerAncestralDiscreteScheduler: an Euler step down to σ_down, then fresh noise up to σ_{i+1}. */
export class EulerAncestralScheduler extends SigmaScheduler {
  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise: NoiseSource): SchedulerStep {
    const sigma = this.sigmas[index];
    const sigmaNext = this.sigmas[index + 1];
    const predOriginalSample = predictOriginal(this.prediction, modelOutput, sample, sigma);
    const sigmaUp = Math.sqrt((sigmaNext ** 2 * (sigma ** 2 - sigmaNext ** 2)) / sigma ** 2);
    const sigmaDown = Math.sqrt(sigmaNext ** 2 - sigmaUp ** 2);
    const dt = sigmaDown - sigma;
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const derivative = (sample[i] - predOriginalSample[i]) / sigma;
      prevSample[i] = sample[i] + derivative * dt;
    }
    if (sigmaUp > 0) {
      const fresh = noise(sample.length);
      for (let i = 0; i < sample.length; i++) prevSample[i] = prevSample[i] + fresh[i] * sigmaUp;
    }
    return { prevSample, predOriginalSample };
  }
}

/** x0 from the model output in σ (variance-exploding) space, for ε- and v-prediction. */
export function predictOriginal(
  prediction: SchedulerConfig['prediction_type'],
  modelOutput: Float32Array,
  sample: Float32Array,
  sigma: number,
): Float32Array {
  const out = new Float32Array(sample.length);
  switch (prediction) {
    case 'epsilon':
      for (let i = 0; i < out.length; i++) out[i] = sample[i] - sigma * modelOutput[i];
      break;
    case 'v_prediction': {
      const outputScale = -sigma / Math.sqrt(sigma ** 2 + 1);
      const sampleScale = 1 / (sigma ** 2 + 1);
      for (let i = 0; i < out.length; i++) out[i] = modelOutput[i] * outputScale + sample[i] * sampleScale;
      break;
    }
    case 'sample':
      out.set(modelOutput);
      break;
  }
  return out;
}
