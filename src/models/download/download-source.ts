import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../../diffusion/model/json-file.js';
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

/** The folder's download record, or undefined for a folder someone put there by hand (or an older download). */
export async function readDownloadSource(dir: string): Promise<DownloadSource | undefined> {
  return downloadSourceSchema.optional().parse(await readJsonFile(join(dir, SOURCE_FILE)));
}
