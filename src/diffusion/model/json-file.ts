import { readFile } from 'node:fs/promises';
import { UserError } from '../../core/errors.js';

/** Reads a JSON file of a model folder; `undefined` when it does not exist, a UserError naming it when broken. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return parsePythonJson(text);
  } catch (error) {
    throw new UserError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

const NON_FINITE: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };
const MARK = '\u0000non-finite:';

/**
 * JSON as Python's `json.dump` writes it: standard JSON plus bare `NaN`, `Infinity` and `-Infinity`, which diffusers
 * saves in some scheduler configs (DPM-Solver's `"lambda_min_clipped": -Infinity`). Outside strings those tokens
 * become marked strings for JSON.parse and are turned back into numbers by its reviver.
 */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not standard JSON: try again with Python's non-finite numbers marked.
  }
  let marked = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      marked += char;
      if (char === '\\') marked += text[++i] ?? '';
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    const token = ['-Infinity', 'Infinity', 'NaN'].find((candidate) => text.startsWith(candidate, i));
    if (token !== undefined) {
      marked += JSON.stringify(MARK + token);
      i += token.length - 1;
      continue;
    }
    marked += char;
  }
  return JSON.parse(marked, (_key, value: unknown) => (typeof value === 'string' && value.startsWith(MARK) ? NON_FINITE[value.slice(MARK.length)] : value)) as unknown;
}
