/**
 * `nanodose denoise` on users' files through datasets/formats: classical filters (--method) with the
 * parameter given or chosen by thinning cross-validation, on .mat/.mrc, calibrated outputs (MRC voxel
 * size, ImageJ TIFF, .tlt from the file's angles); a HAADF-guided model reads the HAADF from a file
 * with named channels or from one file per channel, and a missing HAADF is named.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readImageStack, readMrc, readTlt } from '../../datasets/index.ts';
import { gaussianFilter, tuneBaselineByThinning } from '../../eval/baselines/index.ts';
import { buildModel, initBackend, saveModel, validateModelSpec } from '../../models/index.ts';
import { defaultNormalisation } from '../../models/normalise.ts';
import { runCli } from '../testing/cli.ts';

const FX = fileURLToPath(new URL('../../datasets/formats/testing/fixtures/', import.meta.url));
const run = (...args: string[]) => runCli(['denoise', ...args]);
const root = mkdtempSync(join(tmpdir(), 'nanodose-denoise-formats-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const au = readMrc(join(FX, 'tilt_Au.mrc'));
const [A, R, C] = au.shape, plane = R * C;
const proj = (k: number) => au.data.subarray(k * plane, (k + 1) * plane);

test('--method gaussian on a .mat: sigma by thinning cross-validation (printed), Au only, calibrated MRC + .tlt', () => {
  const out = join(root, 'g.mrc');
  const r = run(join(FX, 'tilt_v5.mat'), '--method', 'gaussian', '--out', out);
  assert.is(r.status, 0, r.stderr);
  const t = tuneBaselineByThinning('gaussian', Array.from({ length: A }, (_, k) => proj(k).slice()), R, C, { seed: 0 });
  assert.match(r.stdout, new RegExp(`gaussian Au: parameter ${t.param} by binomial-thinning cross-validation`));
  const m = readMrc(out);
  assert.equal(m.shape, [A, R, C]);
  assert.ok(Math.abs(m.voxelSizeAngstrom - 2.5) < 1e-4, `voxel size ${m.voxelSizeAngstrom}`);
  for (let k = 0; k < A; k++) {
    const ref = gaussianFilter(proj(k), R, C, t.param);
    for (let i = 0; i < plane; i++) if (Math.abs(m.data[k * plane + i] - ref[i]) > 1e-5) assert.unreachable(`projection ${k} pixel ${i}`);
  }
  const tlt = readTlt(join(root, 'g.tlt'));
  assert.equal([...tlt].map((x) => Math.round(x)), [-60, -45, -30, -15, 0, 15, 30, 45, 60]);
});

test('--method gaussian:1.5 on an MRC and to an ImageJ TIFF: exactly the filter, pixel size carried', async () => {
  const out = join(root, 'g15.tif');
  const r = run(join(FX, 'tilt_Au.mrc'), '--method', 'gaussian:1.5', '--out', out, '--quiet');
  assert.is(r.status, 0, r.stderr);
  const t = await readImageStack(out);
  assert.ok(Math.abs(t.pixelSizeNm! - 0.25) < 1e-6, `TIFF pixel size ${t.pixelSizeNm}`);
  const ref = gaussianFilter(proj(4), R, C, 1.5);
  for (let i = 0; i < plane; i++) assert.ok(Math.abs(t.data[4 * plane + i] - ref[i]) < 1e-6);
  const bad = run(join(FX, 'tilt_Au.mrc'), '--method', 'wiener', '--out', join(root, 'bad', 'x.mrc'));
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /method: 'wiener' is not one of gaussian\[:param\]/);
  const both = run(join(FX, 'tilt_Au.mrc'), '--out', join(root, 'bad', 'x.mrc'));
  assert.is(both.status, 2);
  assert.match(both.stderr, /give either --model DIR or --method/);
  assert.not.ok(existsSync(join(root, 'bad')) && readdirSync(join(root, 'bad')).length > 0);
});

test('a HAADF-guided model reads the HAADF from a Velox .emd or one file per channel, and names a missing one', async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const dir = join(root, 'guided');
  const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 4, inChannels: 2, outChannels: 1 });
  await saveModel(buildModel(spec), dir, { spec, normalisation: defaultNormalisation(), scheme: 'supervised', channels: ['HAADF', 'Au'], outputChannels: ['Au'], nanodoseVersion: '' } as Parameters<typeof saveModel>[2]);
  const common = ['--model', dir, '--backend', 'wasm', '--quiet'];
  const a = run(join(FX, 'tilt_velox.emd'), ...common, '--out', join(root, 'gv.mrc'));
  assert.is(a.status, 0, a.stderr);
  const b = run('--channels', `HAADF=${join(FX, 'tilt_HAADF.mrc')},Au=${join(FX, 'tilt_Au.mrc')}`, ...common, '--out', join(root, 'gp.mrc'));
  assert.is(b.status, 0, b.stderr);
  const va = readMrc(join(root, 'gv.mrc')), vb = readMrc(join(root, 'gp.mrc'));
  assert.equal(va.shape, [A, R, C]);
  let worst = 0;
  for (let i = 0; i < va.data.length; i++) worst = Math.max(worst, Math.abs(va.data[i] - vb.data[i]));
  assert.ok(worst < 1e-6, `same maps from .emd and per-channel files (max difference ${worst})`);
  const miss = run(join(FX, 'tilt_Au.hspy'), ...common, '--out', join(root, 'gm.mrc'));
  assert.is(miss.status, 2);
  assert.match(miss.stderr, /the model takes channels HAADF, Au; .*tilt_Au\.hspy has Au \(missing HAADF\): .*--channels HAADF=FILE,Au=FILE/);
  assert.not.ok(existsSync(join(root, 'gm.mrc')));
});

test.run();
