/**
 * The reader layer from the CLI: `nanodose reconstruct` on a MATLAB v5 and v7.3 .mat, a Velox .emd,
 * a HyperSpy .hspy and one file per channel gives the same volume as on the equivalent MRC + .tlt
 * (fixtures from testing/make-fixtures.py); bad files exit 2 with one line, no HDF5 diagnostics.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMrc } from './mrc/mrc.ts';
import { runCli } from '../../scripts/testing/cli.ts';

const FX = fileURLToPath(new URL('./testing/fixtures/', import.meta.url));
const run = (...args: string[]) => runCli(args);
const root = mkdtempSync(join(tmpdir(), 'nanodose-formats-cli-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const recon = (input: string, name: string, ...extra: string[]) => {
  const r = run('reconstruct', input, '--out', join(root, name), '--method', 'sirt:10', '--channels', 'Au', '--workers', '1', '--quiet', ...extra);
  assert.is(r.status, 0, `${name}: ${r.stderr}`);
  return readMrc(join(root, `${name}_Au.mrc`));
};

test('reconstruct: .mat (v5, v7.3), Velox .emd, .hspy and per-channel files give the MRC volume', () => {
  const ref = recon(join(FX, 'tilt_Au.mrc'), 'mrc');
  assert.equal(ref.shape, [12, 16, 16]);
  let peak = 0;
  for (const v of ref.data) peak = Math.max(peak, Math.abs(v));
  assert.ok(peak > 0, 'the reference volume is not empty');
  for (const [input, name] of [
    [join(FX, 'tilt_v5.mat'), 'v5'],
    [join(FX, 'tilt_v73.mat'), 'v73'],
    [join(FX, 'tilt_velox.emd'), 'velox'],
    [join(FX, 'tilt_Au.hspy'), 'hspy'],
    [`HAADF=${join(FX, 'tilt_HAADF.mrc')},Au=${join(FX, 'tilt_Au.mrc')}`, 'perfile'],
  ]) {
    const v = recon(input, name);
    assert.equal(v.shape, ref.shape, name);
    let worst = 0;
    for (let i = 0; i < v.data.length; i++) worst = Math.max(worst, Math.abs(v.data[i] - ref.data[i]));
    // Velox records the tilt in radians: the angles differ from the .tlt's by rounding only.
    assert.ok(worst <= 1e-5 * peak, `${name}: max |difference| to the MRC volume ${worst} (peak ${peak})`);
    assert.ok(Math.abs(v.voxelSizeAngstrom - 2.5) < 1e-4, `${name}: voxel size ${v.voxelSizeAngstrom} A (file: 0.25 nm)`);
  }
});

test('reconstruct: bad and incomplete files exit 2 with one line naming the file', () => {
  const junk = join(root, 'junk.mat');
  writeFileSync(junk, 'not a MAT-file '.repeat(20));
  const cases: [string[], RegExp][] = [
    [[junk], /junk\.mat: input: unknown format/],
    [[join(FX, 'tilt_velox.emd'), '--channels', 'Ag'], /tilt_velox\.emd: emd-velox: no image channel named Ag/],
    [[join(FX, 'tilt_v5.mat'), '--channels', 'Ag'], /tilt_v5\.mat: mat-v5: no variable named Ag \(variables: HAADF/],
    [[join(FX, 'tilt_channels.h5'), '--dataset', '/tilt/Pt'], /tilt_channels\.h5: hdf5: --dataset: no array \/tilt\/Pt/],
  ];
  for (const [args, re] of cases) {
    const out = join(root, 'bad');
    const r = runCli(['reconstruct', ...args, '--out', out, '--quiet']);
    assert.is(r.status, 2, `${args.join(' ')}: status ${r.status}, ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.not.match(r.stderr, /HDF5-DIAG/);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.not.ok(existsSync(`${out}.h5`), 'nothing written');
  }
});

test.run();
