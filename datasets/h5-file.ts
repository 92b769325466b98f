/**
 * Opening HDF5 files with a clear error: h5wasm's throwing error handler turns a failed H5Fopen
 * into an exception whose message is HDF5's whole diagnostic stack (20-40 lines of "HDF5-DIAG ...
 * #006: H5Fsuper.c line 577 ..."). A user given that for a truncated shard or a text file named
 * `.h5` cannot tell what is wrong. Here a file is checked before HDF5 sees it (the HDF5 signature
 * at 0, 512, 1024, 2048, ... bytes: File Format Specification 3.0, section II.A "Format Signature
 * and Version Information") and a failure to open becomes one line naming the file and the cause
 * HDF5 found (truncated: its size and the size the superblock records). HDF5's own stack is shown
 * with --debug (NANODOSE_DEBUG).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

type H5 = typeof import('h5wasm/node').default;
type H5File = InstanceType<H5['File']>;

/** A damaged, truncated or non-HDF5 file given as input (a user's problem: exit code 2). */
export class Hdf5FileError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'Hdf5FileError';
  }
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Where the HDF5 signature is (0, 512, 1024, ...), or -1 when the file has none. */
export function hdf5SignatureOffset(path: string): number {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      if (readSync(fd, b, 0, 8, at) === 8 && SIGNATURE.every((x, i) => b[i] === x)) return at;
    }
    return -1;
  } finally {
    closeSync(fd);
  }
}

/**
 * The cause in an HDF5 diagnostic stack, in plain words: the deepest frame's description (HDF5 prints
 * the outermost call first), e.g. "truncated file: eof = 20000, ..., stored_eof = 483469".
 */
export function hdf5Cause(message: string): string {
  const frames = [...message.matchAll(/#\d+: .*? in [\w.]+\(\): (.*)/g)].map((m) => m[1].trim());
  const minors = [...message.matchAll(/minor: (.*)/g)].map((m) => m[1].trim());
  const deepest = frames.at(-1) ?? minors.at(-1) ?? message.split('\n')[0].trim();
  const t = /truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(deepest);
  if (t) return `truncated: ${t[1]} bytes of the ${t[2]} its superblock records`;
  return deepest;
}

/** Whether an error carries HDF5's diagnostic stack (h5wasm's throwing error handler). */
export const isHdf5Diagnostic = (e: unknown): boolean => /HDF5-DIAG/.test(String((e as Error)?.message ?? e));

type Mode = 'r' | 'a' | 'w' | 'x' | 'Sa' | 'Sr';

/** Before HDF5 sees an input: it must exist (Node's ENOENT/EISDIR otherwise) and carry the HDF5 signature. */
function checkBeforeOpen(path: string, mode: Mode): void {
  if (mode === 'w' || mode === 'x') return;
  const size = statSync(path).size;
  if (hdf5SignatureOffset(path) < 0) throw new Hdf5FileError(path, `not an HDF5 file (no HDF5 signature in its ${size} bytes)`);
}

/** HDF5's refusal to open or create `path`, as one line (its stack on stderr with --debug). */
function openFailure(path: string, mode: Mode, e: unknown): unknown {
  if (!isHdf5Diagnostic(e)) return e;
  const msg = String((e as Error).message);
  const debug = !!process.env.NANODOSE_DEBUG;
  if (debug) console.error(msg);
  const what = mode === 'w' || mode === 'x' ? 'cannot be created as an HDF5 file' : 'damaged HDF5 file, HDF5 cannot open it';
  return new Hdf5FileError(path, `${what} (${hdf5Cause(msg)})${debug ? '' : "; --debug shows HDF5's diagnostics"}`);
}

/**
 * The h5wasm module with `File` opening through the checks above: every reader and writer that gets
 * HDF5 from `h5ready()` (datasets/emd.ts) reports an unopenable file in one line naming it.
 */
export function withCheckedOpen(h5: H5): H5 {
  const Base = h5.File;
  class File extends Base {
    constructor(path: string, mode: Mode = 'r', options?: ConstructorParameters<typeof Base>[2]) {
      checkBeforeOpen(path, mode);
      try {
        super(path, mode, options as boolean);
      } catch (e) {
        throw openFailure(path, mode, e);
      }
    }
  }
  return Object.assign(Object.create(h5) as H5, { File });
}

/**
 * An HDF5 failure while reading an opened file (a damaged object header or chunk: checksum or
 * decompression errors) as one Hdf5FileError line naming the file; any other error unchanged.
 */
export function damagedHdf5(path: string, e: unknown): unknown {
  if (!isHdf5Diagnostic(e)) return e;
  const msg = String((e as Error).message);
  const debug = !!process.env.NANODOSE_DEBUG;
  if (debug) console.error(msg);
  return new Hdf5FileError(path, `damaged HDF5 file, reading it failed (${hdf5Cause(msg)})${debug ? '' : "; --debug shows HDF5's diagnostics"}`);
}

/** Runs `read` on the HDF5 file at `path`; HDF5's failures become one line naming the file (damagedHdf5). */
export function readingHdf5<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw damagedHdf5(path, e);
  }
}

/** readingHdf5 for an async step (opening a shard). */
export async function readingHdf5Async<T>(path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    throw damagedHdf5(path, e);
  }
}
