import { constants } from 'node:fs';
import { access, mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import { fileNameExtension, formatFromFileName, type ImageFormat } from '../imaging/image-format.js';

/**
 * Checks `--out` before any work, the same way for every command that writes a picture: not a folder, an extension
 * that names the format (`.png`, `.jpg` or `.jpeg`, `.webp`) and agrees with `--format`, and a place where a file can
 * be written — the first part of the path that exists is a folder this process may write in. Returns the format asked
 * for, if any. Every refusal is a UserError naming the path.
 */
export async function checkOutputFile(out: string | undefined, format: ImageFormat | undefined): Promise<ImageFormat | undefined> {
  if (out === undefined) return format;
  if ((await stat(out).catch(() => undefined))?.isDirectory() === true) throw new UserError(`--out ${out} is a folder; give a file name such as ${join(out, 'picture.png')}`);
  const extension = fileNameExtension(out);
  const fromName = formatFromFileName(out);
  if (extension !== undefined && fromName === undefined) throw new UserError(`--out ${out}: .${extension} is not an image format the bot writes; use .png, .jpg or .webp`);
  if (format !== undefined && fromName !== undefined && fromName !== format) throw new UserError(`--format ${format} does not match the extension of ${out}`);
  await checkWritableFolder(out);
  return format ?? fromName;
}

async function checkWritableFolder(out: string): Promise<void> {
  let folder = dirname(resolve(out));
  let firstMissing: string | undefined;
  for (;;) {
    const found = await stat(folder).catch(() => undefined);
    if (found !== undefined) {
      if (!found.isDirectory()) throw new UserError(`--out ${out}: ${folder} is a file, not a folder`);
      if (!(await access(folder, constants.W_OK).then(() => true, () => false))) throw new UserError(`--out ${out}: this user may not write in ${folder}`);
      break;
    }
    firstMissing = folder;
    const parent = dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  // Some file systems refuse new folders whatever the permissions say (/proc): find out now, not after the render.
  if (firstMissing !== undefined) {
    await createFolder(out, firstMissing);
    await rmdir(firstMissing).catch(() => undefined);
  }
}

async function createFolder(out: string, folder: string): Promise<void> {
  try {
    await mkdir(folder);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EEXIST') return;
    throw new UserError(`--out ${out}: cannot create the folder ${folder} (${typeof code === 'string' ? code : 'refused'})`);
  }
}

/**
 * Creates the folders `--out` needs, one level at a time: Node's recursive mkdir can loop forever where a file system
 * refuses a folder in an unusual way (`/proc`), and a refusal here is the user's path, not an internal error.
 */
export async function createOutputFolders(out: string): Promise<void> {
  const missing: string[] = [];
  for (let folder = dirname(resolve(out)); (await stat(folder).catch(() => undefined)) === undefined; folder = dirname(folder)) {
    missing.unshift(folder);
    if (dirname(folder) === folder) break;
  }
  for (const folder of missing) await createFolder(out, folder);
}
