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

/** Start of the banner TensorFlow.js's cpu backend prints on its first tensor in Node. */
export const TFJS_BANNER = 'Hi, looks like you are running TensorFlow.js in Node.js';

/**
 * Keeps TensorFlow.js's "install tfjs-node" banner out of the terminal (unless --debug): nanodose
 * already says which backend runs and why (models/backend.ts), and the banner appears even with
 * --quiet. Other warnings pass through unchanged.
 */
export function hideLibraryBanners(con: Pick<Console, 'warn'> = console): void {
  const warn = con.warn.bind(con);
  con.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes(TFJS_BANNER)) return;
    warn(...args);
  };
}
