/**
 * Running the `nanodose` CLI from a test, one way for every test file.
 *
 * By default a test runs `scripts/cli.ts` behind `datasets/testing/preload.mjs` (h5wasm loaded before
 * tsx registers: under tsx's transform its 4 MB module takes seconds to load, in every child). A test
 * of the installed entry itself passes `{ entry: true }` and runs `scripts/nanodose.mjs`, as a user does.
 * The child's environment is the test's with FORCE_COLOR=0 (no colour codes in what the test reads),
 * plus `env` (a variable set to undefined is removed).
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The preload that loads h5wasm before tsx and runs the module given as its first argument. */
export const PRELOAD = fileURLToPath(new URL('../../datasets/testing/preload.mjs', import.meta.url));
/** The CLI's TypeScript entry. */
export const CLI_TS = fileURLToPath(new URL('../cli.ts', import.meta.url));
/** The installed command (`bin` in package.json): registers tsx itself, then imports cli.ts. */
export const CLI_ENTRY = fileURLToPath(new URL('../nanodose.mjs', import.meta.url));

export interface CliOptions {
  /** Variables added to (or, set to undefined, removed from) the test's environment and FORCE_COLOR=0. */
  env?: Record<string, string | undefined>;
  /** Working directory of the child (default: the test's). */
  cwd?: string;
  /** Run the installed entry scripts/nanodose.mjs instead of preload + cli.ts. */
  entry?: boolean;
}

export interface CliResult {
  /** The exit code; null when a signal ended the child. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The child's environment: the test's, FORCE_COLOR=0, then `extra` (undefined removes a variable). */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** node's arguments for `nanodose args...`. */
export function cliArgv(args: readonly string[], entry = false): string[] {
  return entry ? [CLI_ENTRY, ...args] : [PRELOAD, CLI_TS, ...args];
}

/** Runs `nanodose args...` to its end; a child that could not start throws (it is the test's failure, not a result). */
export function runCli(args: readonly string[], opts: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, cliArgv(args, opts.entry), { encoding: 'utf8', env: cliEnv(opts.env), cwd: opts.cwd, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `nanodose args...` without blocking the test (several at a time); resolves when it ends. */
export function runCliAsync(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, opts);
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Starts `nanodose args...` with stdout and stderr piped (for a test that acts while it runs, e.g. kills it on an event). */
export function startCli(args: readonly string[], opts: CliOptions = {}): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, cliArgv(args, opts.entry), { env: cliEnv(opts.env), cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}
