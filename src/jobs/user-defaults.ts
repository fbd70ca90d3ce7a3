/** A person's own defaults for /imagine, filled in before the model's (`/settings`). */
export interface UserDefaults {
  /** An aspect ratio as `/imagine` takes it (`16:9`). */
  readonly aspect?: string;
  readonly steps?: number;
  /** Pictures per /imagine (a grid from 2 on). */
  readonly count?: number;
  readonly model?: string;
  readonly private?: boolean;
}

export const USER_DEFAULT_NAMES = ['aspect', 'count', 'steps', 'model', 'private'] as const satisfies readonly (keyof UserDefaults)[];

/** Only the known fields of the right types: a row written by another version never reaches a command half-valid. */
export function readUserDefaults(value: unknown): UserDefaults {
  if (typeof value !== 'object' || value === null) return {};
  const row = value as Record<string, unknown>;
  return {
    ...(typeof row.aspect === 'string' ? { aspect: row.aspect } : {}),
    ...(typeof row.steps === 'number' && Number.isInteger(row.steps) ? { steps: row.steps } : {}),
    ...(typeof row.count === 'number' && Number.isInteger(row.count) && row.count >= 1 && row.count <= 4 ? { count: row.count } : {}),
    ...(typeof row.model === 'string' ? { model: row.model } : {}),
    ...(typeof row.private === 'boolean' ? { private: row.private } : {}),
  };
}
