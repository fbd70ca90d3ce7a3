import { basename, join } from 'node:path';
import { pathExists } from '../core/path-exists.js';

/** The catalog id of the safety checker, and its folder under MODELS_DIR. */
export const SAFETY_CHECKER_ID = 'safety-checker';

/** A safety checker on disk: the graph and the image processor's settings that make its input. */
export interface SafetyCheckerFiles {
  readonly model: string;
  readonly preprocessor: string;
  /** How the job record names the checker that judged: `safety-checker`, or `<model folder>/safety_checker`. */
  readonly label: string;
}

/** The two files of a checker in the diffusers layout under `dir`, when both are there. */
export async function safetyCheckerIn(dir: string, label: string): Promise<SafetyCheckerFiles | undefined> {
  const files = { model: join(dir, 'safety_checker', 'model.onnx'), preprocessor: join(dir, 'feature_extractor', 'preprocessor_config.json'), label };
  return (await pathExists(files.model)) && (await pathExists(files.preprocessor)) ? files : undefined;
}

/**
 * The checker that judges a model's pictures: the model folder's own `safety_checker/` (SD 1.x exports carry one),
 * else the catalog's `safety-checker` under MODELS_DIR (SDXL-Turbo and SD 2.x ship none); undefined when neither is
 * installed.
 */
export async function findSafetyChecker(modelsDir: string, modelDir?: string): Promise<SafetyCheckerFiles | undefined> {
  const own = modelDir === undefined ? undefined : await safetyCheckerIn(modelDir, `${basename(modelDir)}/safety_checker`);
  return own ?? (await safetyCheckerIn(join(modelsDir, SAFETY_CHECKER_ID), SAFETY_CHECKER_ID));
}

/** What a person who runs the bot is told when pictures must be checked and no checker is installed. */
export const NO_SAFETY_CHECKER =
  `the safety checker is not installed, so no picture can be checked: run \`npx imagine models download ${SAFETY_CHECKER_ID}\` on the machine that renders, or set SAFETY=off to post pictures unchecked`;
