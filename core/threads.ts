/**
 * How many threads a parallel stage uses: one rule for the projector, dataset generation, SIRT and
 * data-parallel training, so a user sets it once.
 *
 *   explicit per-stage option (e.g. --workers) > global --threads (setThreads) > NANODOSE_THREADS > os.availableParallelism()
 *
 * Every value must be an integer >= 1; a bad one is a ConfigError naming where it came from
 * (the CLI exits 2 with that line). Results never depend on the count (each stage splits its work
 * so that every output value is computed by the same sequential code), so oversubscribing
 * (more threads than cores) only costs time.
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from './validate.ts';

/** Upper bound on any thread count (a typo like 1000 would start a thousand workers). */
export const MAX_THREADS = 256;

export type ThreadSource = 'option' | '--threads' | 'NANODOSE_THREADS' | 'cores';

let globalThreads: number | undefined;

/** Parses a thread count given as text or number; `field` names it in the error. */
export function parseThreads(field: string, value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new ConfigError(field, `must be an integer in [1, ${MAX_THREADS}] threads, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  }
  return n;
}

/** Sets (or with undefined clears) the process-wide count from the global `--threads` option. */
export function setThreads(n: number | undefined): void {
  globalThreads = n === undefined ? undefined : parseThreads('--threads', n);
}

/** The count a stage uses without its own option, and where it came from. */
export function defaultThreads(): { threads: number; source: ThreadSource } {
  if (globalThreads !== undefined) return { threads: globalThreads, source: '--threads' };
  const env = process.env.NANODOSE_THREADS;
  if (env !== undefined && env !== '') return { threads: parseThreads('NANODOSE_THREADS', env), source: 'NANODOSE_THREADS' };
  return { threads: Math.max(1, availableParallelism()), source: 'cores' };
}

/**
 * The thread count for one stage: `explicit` (validated, named `field` in errors) when given,
 * else the default rule above.
 */
export function resolveThreads(explicit?: number, field = 'workers'): number {
  if (explicit !== undefined) {
    const n = parseThreads(field, explicit);
    announceOnce(`using ${n} thread${n === 1 ? '' : 's'} (${field})`);
    return n;
  }
  const n = defaultThreads().threads;
  announceOnce(describeThreads());
  return n;
}

let announcer: ((line: string) => void) | undefined;

/**
 * Prints the thread count once, when the first parallel stage starts (not before: a command that
 * stops at a bad input prints only its one error line). The CLI sets this; the library stays silent.
 */
export function announceThreads(print: ((line: string) => void) | undefined): void { announcer = print; }

function announceOnce(line: string): void {
  const p = announcer;
  announcer = undefined;
  p?.(line);
}

/** "using 4 threads (the machine's 4 cores)": the line the CLI prints once. */
export function describeThreads(): string {
  const { threads, source } = defaultThreads();
  const why = source === 'cores' ? `os.availableParallelism() = ${threads}` : source;
  return `using ${threads} thread${threads === 1 ? '' : 's'} (${why})`;
}
