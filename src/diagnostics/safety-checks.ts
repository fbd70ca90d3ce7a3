import { dirname } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { filesUnlikeDownload, readDownloadSource } from '../models/download/download-source.js';
import { listServedModels, modelDisplayName } from '../models/installed-models.js';
import { readClipImageSettings } from '../safety/clip-image-processor.js';
import { findSafetyChecker, NO_SAFETY_CHECKER, SAFETY_CHECKER_ID } from '../safety/safety-checker-files.js';
import type { CheckResult } from './check-result.js';

/**
 * The checker the default model's pictures go through (its own `safety_checker/`, or the catalog's), its settings
 * read as the renderer reads them and its files' sizes compared with the download; `SAFETY=off` says what it means.
 */
export async function safetyCheckerCheck(modelsDir: string, model: string, safety: string): Promise<CheckResult> {
  const subject = `safety check (SAFETY=${safety})`;
  if (safety === 'off') return { status: 'off', subject, detail: 'no picture is checked: whatever the model draws is posted' };
  const modelDir = (await listServedModels(modelsDir, model)).get(modelDisplayName(model));
  const files = await findSafetyChecker(modelsDir, modelDir);
  if (files === undefined) return { status: 'fail', subject, detail: `${NO_SAFETY_CHECKER} (npm start downloads it with the first model)` };
  try {
    const settings = await readClipImageSettings(files.preprocessor);
    const crop = settings.crop === undefined ? 'no crop' : `${settings.crop.width}×${settings.crop.height}`;
    const checkerDir = dirname(dirname(files.model));
    const record = files.label === SAFETY_CHECKER_ID ? await readDownloadSource(checkerDir) : undefined;
    const wrong = await filesUnlikeDownload(checkerDir, record);
    if (wrong.length > 0) return { status: 'fail', subject, detail: `${wrong.join('; ')}: run \`npx imagine models remove ${SAFETY_CHECKER_ID}\` and download it again` };
    const origin = record?.repository === undefined ? (files.label === SAFETY_CHECKER_ID ? 'installed by hand' : 'the model folder’s own') : `from ${record.repository}@${record.revision ?? '?'}`;
    return { status: 'ok', subject, detail: `${files.label} (${origin}); pictures are judged at ${crop} (\`imagine models verify ${SAFETY_CHECKER_ID}\` opens the session)` };
  } catch (error) {
    return { status: 'fail', subject, detail: `${files.label}: ${errorMessage(error)}` };
  }
}
