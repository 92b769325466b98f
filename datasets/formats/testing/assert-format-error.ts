/**
 * Test helper shared by the formats tests: `f` must reject with a FormatError whose message matches `re`, is one
 * line, and carries no HDF5 library diagnostics (the user sees exactly that line).
 */
import * as assert from 'uvu/assert';
import { FormatError } from '../index.ts';

export async function assertFormatError(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await f();
  } catch (e) {
    assert.instance(e, FormatError, String(e));
    assert.match((e as Error).message, re);
    assert.not.match((e as Error).message, /HDF5-DIAG|\n/);
    return;
  }
  assert.unreachable(`no error (expected ${re})`);
}
