/** The generate / inspect / export commands end to end (synthetic source, so no simulation cost). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode } from 'fast-png';
import { runCli } from '../scripts/testing/cli.ts';

const SRC = fileURLToPath(new URL('./testing/synthetic-source.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'nanodose-cli-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
// Most calls go through scripts/cli.ts behind testing/preload.mjs (h5wasm loaded before tsx: saves
// seconds per call); the first goes through the real `nanodose` entry.
const run = (...args: string[]) => runCli(args);
const runEntry = (...args: string[]) => runCli(args, { entry: true });

const out = join(root, 'ds');
const cfgPath = join(root, 'cfg.json');
writeFileSync(cfgPath, JSON.stringify({ samplesPerShard: 2, simulation: { size: 6, nAngles: 3 } }));

test('generate writes a dataset, then refuses the existing directory (exit 2, says how to go on)', () => {
  const r = runEntry('generate', '--config', cfgPath, '--count', '4', '--out', out, '--seed', '11', '--source', SRC, '--workers', '1');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /2\/2 shards finished, 4 samples/);
  assert.ok(existsSync(join(out, 'manifest.json')));
  const again = run('generate', '--config', cfgPath, '--count', '4', '--out', out, '--source', SRC);
  assert.is(again.status, 2);
  assert.match(again.stderr, /out: .*already exists.*--resume.*--overwrite/);
});

test('generate: a bad config names the field and writes nothing', () => {
  const bad = join(root, 'bad.json');
  writeFileSync(bad, JSON.stringify({ split: { train: 0.9, val: 0.2, test: 0 } }));
  const o = join(root, 'never');
  const r = run('generate', '--config', bad, '--count', '4', '--out', o, '--source', SRC);
  assert.is(r.status, 2);
  assert.match(r.stderr, /split: train \+ val \+ test must be 1/);
  assert.not.ok(existsSync(o));
  const typo = join(root, 'typo.json');
  writeFileSync(typo, JSON.stringify({ samplesPerShards: 3 }));
  const t = run('generate', '--config', typo, '--count', '4', '--out', o, '--source', SRC);
  assert.is(t.status, 2);
  assert.match(t.stderr, /samplesPerShards: unknown field/);
});

test('inspect describes a dataset, a shard and an MRC file', () => {
  const d = run('inspect', out);
  assert.is(d.status, 0, d.stderr);
  assert.match(d.stdout, /samples\s+4 in 2 shards of 2; finished 2\/2/);
  assert.match(d.stdout, /channels\s+HAADF, Au, Pd/);
  const s = run('inspect', join(out, 'shard-00001.h5'));
  assert.is(s.status, 0, s.stderr);
  assert.match(s.stdout, /EMD 0\.2, nanodose .* shard 1 of 2, samples 2\.\.3/);
  assert.match(s.stdout, /tilt_noisy\/data  2 x 3 x 3 x 6 x 8  filters scaleoffset/);
  assert.match(s.stdout, /phantom\/data  2 x 2 x 6 x 6 x 6  filters gzip 1/);
});

test('inspect describes what denoise writes (EMD /data/tilt_denoised with model attributes) and other EMD/HDF5 files', async () => {
  const { buildModel, initBackend, saveModel, validateModelSpec } = await import('../models/index.ts');
  const { defaultNormalisation } = await import('../models/normalise.ts');
  await initBackend({ backend: 'wasm', quiet: true });
  const modelDir = join(root, 'model');
  const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 4 });
  await saveModel(buildModel(spec), modelDir, { spec, normalisation: defaultNormalisation(), scheme: 'n2n-binomial', channels: ['Au'], nanodoseVersion: '' });
  const den = join(root, 'den.h5');
  const d = run('denoise', join(out, 'shard-00001.h5'), '--model', modelDir, '--out', den, '--sample', '3', '--backend', 'wasm', '--quiet');
  assert.is(d.status, 0, d.stderr);
  const i = run('inspect', den);
  assert.is(i.status, 0, i.stderr);
  assert.not.match(i.stdout + i.stderr, /not a nanodose shard/);
  assert.match(i.stdout, /EMD 0\.2 file .*written by nanodose denoise/);
  assert.match(i.stdout, /\/data\/tilt_denoised\/data  1 x 2 x 3 x 6 x 8  float32  chunks 1 x 1 x 1 x 6 x 8/);
  assert.match(i.stdout, /dim3 tilt angle \[deg\], 3 values: -60 \.\. 60/);
  assert.match(i.stdout, /channels  Au, Pd/);
  assert.match(i.stdout, /tilts     3, -60\.00 \.\. 60\.00 deg/);
  assert.match(i.stdout, new RegExp(`model     ${modelDir.replace(/[.]/g, '\\.')}: scheme n2n-binomial; trained on Au; U-Net depth 2, 4 filters, 1 -> 1 channels`));
  assert.match(i.stdout, /tiling    tile 256, overlap 34, tta off/);
  assert.match(i.stdout, /input     .*shard-00001\.h5 \(field noisy, samples \[3\]\)/);
  const j = JSON.parse(run('inspect', den, '--json').stdout) as { kind: string; arrays: { path: string; shape: number[] }[]; channels: string[]; angles: number[]; model: { scheme: string; spec: { depth: number } } };
  assert.is(j.kind, 'emd');
  assert.equal(j.arrays.map((x) => [x.path, x.shape]), [['/data/tilt_denoised/data', [1, 2, 3, 6, 8]]]);
  assert.equal([j.channels, j.angles, j.model.scheme, j.model.spec.depth], [['Au', 'Pd'], [-60, 0, 60], 'n2n-binomial', 2]);
  // An EMD file from another writer, and a plain HDF5 file: listed, not refused.
  const { h5ready } = await import('./formats/hdf5/emd.ts');
  const h5 = await h5ready();
  const emd = join(root, 'other.emd');
  const f = new h5.File(emd, 'w');
  f.create_attribute('version_major', 0, null, '<i4');
  f.create_attribute('version_minor', 2, null, '<i4');
  const g = f.create_group('data').create_group('haadf_series');
  g.create_attribute('emd_group_type', 1, null, '<i4');
  g.create_dataset({ name: 'data', data: new Uint16Array(2 * 4 * 5), shape: [2, 4, 5], dtype: '<H' });
  const ang = g.create_dataset({ name: 'dim1', data: new Float64Array([-30, 30]), shape: [2] });
  ang.create_attribute('name', 'tilt angle');
  ang.create_attribute('units', '[deg]');
  f.create_group('plain').create_dataset({ name: 'x', data: new Float32Array(3), shape: [3] });
  f.close();
  const o = run('inspect', emd);
  assert.is(o.status, 0, o.stderr);
  assert.match(o.stdout, /EMD 0\.2 file /);
  assert.match(o.stdout, /\/data\/haadf_series\/data  2 x 4 x 5  uint16/);
  assert.match(o.stdout, /tilts     2, -30\.00 \.\. 30\.00 deg/);
  assert.not.match(o.stdout, /model /);
  const plain = join(root, 'plain.h5');
  const p = new h5.File(plain, 'w');
  p.create_group('my').create_dataset({ name: 'stack', data: new Float32Array(2 * 3 * 4), shape: [2, 3, 4], dtype: '<f' });
  p.close();
  const q = run('inspect', plain);
  assert.is(q.status, 0, q.stderr);
  assert.match(q.stdout, /no EMD \/data\/NAME\/data arrays; 1 dataset/);
  assert.match(q.stdout, /\/my\/stack  2 x 3 x 4  float32/);
});

test('export: MRC + .tlt files and PNG previews of one sample', () => {
  const e = run('export', out, '--sample', '3', '--format', 'mrc', '--what', 'phantom,noisy', '--out', join(root, 'mrc'));
  assert.is(e.status, 0, e.stderr);
  const files = readdirSync(join(root, 'mrc')).sort();
  assert.equal(files, ['sample-00003_noisy_Au.mrc', 'sample-00003_noisy_Au.tlt', 'sample-00003_noisy_HAADF.mrc', 'sample-00003_noisy_HAADF.tlt', 'sample-00003_noisy_Pd.mrc', 'sample-00003_noisy_Pd.tlt', 'sample-00003_phantom_Au.mrc', 'sample-00003_phantom_Pd.mrc']);
  assert.equal(readFileSync(join(root, 'mrc', 'sample-00003_noisy_Au.tlt'), 'utf8').trim().split('\n').map(Number), [-60, 0, 60]);
  const i = run('inspect', join(root, 'mrc', 'sample-00003_phantom_Au.mrc'));
  assert.match(i.stdout, /6 x 6 x 6 \(nx ny nz\), mode 2, volume \(ispg 1\)/);
  assert.match(i.stdout, /voxel 3\.000 A/);
  const p = run('export', out, '--sample', '0', '--format', 'png', '--what', 'phantom,clean', '--out', join(root, 'png'));
  assert.is(p.status, 0, p.stderr);
  const png = decode(readFileSync(join(root, 'png', 'sample-00000_clean_HAADF_0deg.png')));
  assert.equal([png.width, png.height, png.channels], [8, 6, 1]);
  let mx = 0, mn = 255;
  for (const v of png.data) { mx = Math.max(mx, v); mn = Math.min(mn, v); }
  assert.equal([mn, mx], [0, 255], 'scaled to the full 8-bit range');
  assert.is(readdirSync(join(root, 'png')).filter((f) => f.includes('phantom')).length, 6);
  const bad = run('export', out, '--sample', '9', '--format', 'mrc', '--out', join(root, 'x'));
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /sample: must be one of the 4 readable samples/);
});

test.run();
