/**
 * How the CLI ends on an error: a user's mistake (bad option, config field, missing or damaged
 * input, unwritable output, a full disk) is one line and exit code 2; an internal failure (a
 * programming error inside nanodose or a library: TypeError, RangeError, ReferenceError, an
 * assertion) is a short message asking for a report and exit code 1. The stack only with --debug.
 *
 * The convention of the code base (core/validate.ts): a user's mistake throws ConfigError (its
 * message names the field or file, what was found and what is allowed); a broken invariant throws
 * InternalError; built-in error subclasses are never thrown on purpose, so they mark bugs too.
 * A plain Error (folders not yet converted, libraries) is read as the user's: one line, exit 2.
 */

import { readFileSync } from 'node:fs';
import { hdf5Cause } from '../datasets/h5-file.ts';
import { isInternalError } from '../core/validate.ts';

/** Where to report bugs: package.json's bugs.url or repository, else the project's issue tracker by name. */
export const ISSUES_URL = issuesUrl();

function issuesUrl(): string {
  try {
    const p = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { bugs?: string | { url?: string }; repository?: string | { url?: string } };
    const bugs = typeof p.bugs === 'string' ? p.bugs : p.bugs?.url;
    if (bugs) return bugs;
    const repo = typeof p.repository === 'string' ? p.repository : p.repository?.url;
    if (repo) return `${repo.replace(/^git\+/, '').replace(/\.git$/, '')}/issues`;
  } catch {
    // fall through
  }
  return 'the nanodose issue tracker';
}

/** Node system error codes caused by the user's files or machine, with a plain reading. */
const SYSTEM_CODES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  EMFILE: 'too many open files',
};


export interface ErrorReport {
  /** 2 for the user's mistakes, 1 for internal failures. */
  exitCode: 1 | 2;
  /** What to print (one line for exit code 2; two short lines for 1). */
  message: string;
}

/** Classifies an error thrown by a command handler or by yargs' own validation. */
export function classifyError(err: unknown): ErrorReport {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as NodeJS.ErrnoException).code;
  const firstLine = (s: string) => s.split('\n')[0].trim();
  if (code && SYSTEM_CODES[code]) {
    const path = (e as NodeJS.ErrnoException).path;
    return { exitCode: 2, message: path ? `${path}: ${SYSTEM_CODES[code]} (${code})` : firstLine(e.message) };
  }
  // HDF5's diagnostic stack that no reader turned into a sentence (datasets/h5-file.ts does for
  // opening and for dataset shards): one line with its cause, never the 20-40 lines of HDF5-DIAG.
  if (/HDF5-DIAG/.test(e.message)) {
    return { exitCode: 2, message: `HDF5 error: ${hdf5Cause(e.message)} (a damaged or unreadable HDF5 file; --debug shows HDF5's diagnostics)` };
  }
  const name = e.name || e.constructor?.name;
  if (isInternalError(e)) {
    return { exitCode: 1, message: `internal error: ${name}: ${firstLine(e.message)}\nThis is a bug in nanodose; please report it at ${ISSUES_URL} with the command line (rerun with --debug for the stack).` };
  }
  return { exitCode: 2, message: e.message.trim() || name };
}
