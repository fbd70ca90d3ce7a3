/**
 * The URL of a module beside the one at `base` (its `import.meta.url`), by its name without extension: `.ts` while the
 * bot runs from its sources through tsx, `.js` once built.
 */
export function siblingModule(base: string, stem: string): URL {
  return new URL(`${stem}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}
