/**
 * Every HDF5 file nanodose writes goes through one writer path (datasets/formats/hdf5/emd.ts
 * createHdf5/closeHdf5/writeHdf5File), which clears HDF5's object times: `denoise` and `reconstruct`
 * run twice on the same input write byte-identical .h5 files, and their object headers hold no
 * times (clearing again finds headers and nothing to rewrite; HDF5 stamps times by the second, so
 * without the clearing every header would be rewritten whenever the runs are a second apart or not).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearObjectTimes } from '../../datasets/h5-reproducible.ts';
import { runCli } from '../testing/cli.ts';

const FX = fileURLToPath(new URL('../../datasets/formats/testing/fixtures/', import.meta.url));
const run = (...args: string[]) => runCli(args);
const root = mkdtempSync(join(tmpdir(), 'nanodose-h5-outputs-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('denoise and reconstruct: the same input twice gives byte-identical .h5 files without object times', () => {
  const input = join(FX, 'tilt_Au.mrc'); // angles from tilt_Au.tlt beside it
  const outputs: Record<string, Buffer[]> = { denoise: [], reconstruct: [] };
  for (const k of [0, 1]) {
    const d = run('denoise', input, '--method', 'gaussian:1', '--out', join(root, `den${k}.h5`), '--quiet');
    assert.is(d.status, 0, d.stderr);
    const r = run('reconstruct', input, '--method', 'sirt:3', '--out', join(root, `rec${k}`), '--quiet');
    assert.is(r.status, 0, r.stderr);
    outputs.denoise.push(readFileSync(join(root, `den${k}.h5`)));
    outputs.reconstruct.push(readFileSync(join(root, `rec${k}.h5`)));
  }
  for (const [what, [a, b]] of Object.entries(outputs)) assert.ok(a.equals(b), `${what}: the two .h5 files differ`);
  for (const p of [join(root, 'den0.h5'), join(root, 'rec0.h5')]) {
    const c = clearObjectTimes(p);
    assert.ok(c.headers >= 5, `${p}: ${c.headers} object headers found`);
    assert.is(c.rewritten, 0, `${p}: object headers with times`);
  }
});

test.run();
