/** Argument handling of the CLI (scripts/cli.ts) that tests import without running the CLI. */

/** Help width: the terminal's, else $COLUMNS (e.g. when piped), else 80; never wider than 100. */
export function helpWidth(): number {
  const cols = process.stdout.columns || Number(process.env.COLUMNS) || 80;
  return Math.min(100, cols);
}

/**
 * `--doses -5,10` reaches yargs as the short-flag cluster "-5,10" ("Unknown argument: 5"); a value
 * that looks like a negative number or number list is glued to its option (`--doses=-5,10`) so
 * the option's own check names it.
 */
export function glueNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (const t of argv) {
    const prev = out[out.length - 1];
    if (/^-\d[\d.,:eE+-]*$/.test(t) && prev !== undefined && /^--[a-zA-Z][\w-]*$/.test(prev) && !/^--no-/.test(prev)) out[out.length - 1] = `${prev}=${t}`;
    else out.push(t);
  }
  return out;
}
