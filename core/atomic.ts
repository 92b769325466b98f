/**
 * Nothing half-written: files are written under a temporary name beside the target and renamed
 * into place when complete (rename is atomic on one filesystem). `checkWritable` tries the output
 * location before any work, so a read-only or misplaced output fails in one line at once instead
 * of after the computation (or as Node's misleading ENOENT from a recursive mkdir on EROFS).
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from './validate.ts';

const WHY: Record<string, string> = {
  EROFS: 'is on a read-only file system (EROFS)',
  EACCES: 'is not writable by this user (EACCES)',
  EPERM: 'is not writable by this user (EPERM)',
  ENOSPC: 'is on a full disk (ENOSPC)',
  EDQUOT: 'is over its disk quota (EDQUOT)',
};

/**
 * Checks, before any work, that `path` (a file or folder to be written, existing or not) can be
 * written: its nearest existing ancestor must be a folder in which a file can be created (a probe
 * file is created and removed at once). Throws ConfigError(field) naming the path and the reason.
 */
export function checkWritable(path: string, field = 'out'): void {
  const full = resolve(path);
  let p = full;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  const st = statSync(p);
  if (!st.isDirectory() && p !== full) throw new ConfigError(field, `${path} cannot be written: ${p} is a file, not a folder`);
  const folder = st.isDirectory() ? p : dirname(p);
  const probe = join(folder, `.tmp-${process.pid}-write-test`);
  try {
    writeFileSync(probe, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new ConfigError(field, `${path} cannot be written: ${folder} ${WHY[code] ?? `refuses a new file (${code || (e as Error).message})`}`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/** The temporary name used while `path` is being written: `.tmp-<pid>-<name>` beside it. */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.tmp-${process.pid}-${basename(path)}`);
}

/** Writes data to a temporary file, then renames it to `path`. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = temporaryPath(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Runs `write(tmp)` to produce a file (or folder) at a temporary path, then renames it to `path`. */
export async function withAtomicPath<T>(path: string, write: (tmp: string) => Promise<T> | T): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = temporaryPath(path);
  rmSync(tmp, { recursive: true, force: true });
  try {
    const r = await write(tmp);
    rmSync(path, { recursive: true, force: true });
    renameSync(tmp, path);
    return r;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
