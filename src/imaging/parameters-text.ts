export interface ParametersSummary {
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly steps: number;
  readonly scheduler: string;
  readonly guidance: number;
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  readonly model: string;
  readonly upscaler: string;
  /** Image-to-image only. */
  readonly strength?: number;
  /** A grid of this many pictures (seeds seed, seed + 1, …). */
  readonly count?: number;
}

/**
 * The generation parameters in AUTOMATIC1111's "parameters" text layout (prompt line, optional "Negative prompt:"
 * line, then comma-separated key: value pairs), the layout image sites and viewers parse.
 */
export function formatParametersText(p: ParametersSummary): string {
  const lines = [p.prompt];
  if (p.negativePrompt !== '') lines.push(`Negative prompt: ${p.negativePrompt}`);
  lines.push(
    [
      `Steps: ${p.steps}`,
      `Sampler: ${p.scheduler}`,
      `CFG scale: ${p.guidance}`,
      `Seed: ${p.seed}`,
      `Size: ${p.width}x${p.height}`,
      ...(p.strength === undefined ? [] : [`Denoising strength: ${p.strength}`]),
      ...(p.count === undefined || p.count === 1 ? [] : [`Batch size: ${p.count}`]),
      `Model: ${p.model}`,
      `Upscaler: ${p.upscaler}`,
    ].join(', '),
  );
  return lines.join('\n');
}
