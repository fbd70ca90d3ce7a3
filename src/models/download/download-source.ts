import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../../diffusion/model/json-file.js';
import { formatBytes } from '../../imaging/encode-within-limit.js';
import { SOURCE_FILE } from './model-download.js';

const downloadSourceSchema = z.looseObject({
  id: z.string().optional(),
  variant: z.string().optional(),
  repository: z.string().optional(),
  revision: z.string().optional(),
  files: z.array(z.looseObject({ path: z.string(), size: z.number().optional() })).optional(),
});

/** What `imagine models download` noted about the files it placed in a model folder. */
export type DownloadSource = z.infer<typeof downloadSourceSchema>;

/**
 * What is wrong with the files a download record lists, compared by size (a cheap check for a truncated or missing
 * copy): one phrase per file, none when all are as downloaded.
 */
export async function filesUnlikeDownload(dir: string, record: DownloadSource | undefined): Promise<string[]> {
  const wrong: string[] = [];
  for (const file of record?.files ?? []) {
    const size = await stat(join(dir, file.path)).then((info) => info.size, () => undefined);
    if (size === undefined) wrong.push(`${file.path} is missing`);
    else if (file.size !== undefined && size !== file.size) wrong.push(`${file.path} is ${formatBytes(size)}, the download was ${formatBytes(file.size)}`);
  }
  return wrong;
}

/** The folder's download record, or undefined for a folder someone put there by hand (or an older download). */
export async function readDownloadSource(dir: string): Promise<DownloadSource | undefined> {
  return downloadSourceSchema.optional().parse(await readJsonFile(join(dir, SOURCE_FILE)));
}
