/**
 * Nothing half-written: files are written under a temporary name beside the target and renamed
 * into place when complete (rename is atomic on one filesystem).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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
