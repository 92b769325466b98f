import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMrc, readTlt } from './mrc/mrc.ts';
import { readImageStack } from './imagestack.ts';
import { writeTiffStack } from './tiff/tiff.ts';
import { FormatError, channelName, detectFormat, parseChannelFiles, readChannelFiles, readTiltStack } from './index.ts';
import { assertFormatError } from './testing/assert-format-error.ts';
import { readMat5 } from './matlab/mat5.ts';
import { readFileSync } from 'node:fs';

// Fixtures made by the reference writers (testing/make-fixtures.py: mrcfile, scipy.io.savemat, h5py, hyperspy, tifffile).
const FX = fileURLToPath(new URL('./testing/fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nanodose-formats-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const ref = { Au: readMrc(join(FX, 'tilt_Au.mrc')).data, HAADF: readMrc(join(FX, 'tilt_HAADF.mrc')).data };
const angles = readTlt(join(FX, 'tilt.tlt'));
const same = (a: Float32Array, b: Float32Array, what: string) => {
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.unreachable(`${what}: value ${i} is ${a[i]}, the MRC has ${b[i]}`);
};

test('every format gives the MRC fixture values, shape [9, 12, 16], angles and pixel size', async () => {
  const cases: [string, string, string[]][] = [
    ['tilt_v5.mat', 'mat-v5', ['HAADF', 'Au']],
    ['tilt_v73.mat', 'mat-v7.3', ['HAADF', 'Au']],
    ['tilt_velox.emd', 'emd-velox', ['HAADF', 'Au']],
    ['tilt_Au.hspy', 'hspy', ['Au']],
    ['tilt_channels.h5', 'hdf5', ['HAADF', 'Au']],
  ];
  for (const [file, fmt, chans] of cases) {
    const s = await readTiltStack(join(FX, file));
    assert.is(s.format, fmt, file);
    assert.equal(s.shape, [9, 12, 16], `${file} shape`);
    assert.equal(s.channels.map((c) => c.name).sort(), [...chans].sort(), `${file} channels`);
    for (const c of s.channels) same(c.data, ref[c.name as 'Au'], `${file} ${c.name}`);
    assert.ok(s.angles, `${file}: angles`);
    for (let k = 0; k < 9; k++) assert.ok(Math.abs(s.angles![k] - angles[k]) < 1e-6, `${file} angle ${k}: ${s.angles![k]} vs ${angles[k]}`);
    if (fmt !== 'hdf5') assert.ok(Math.abs((s.pixelSizeNm ?? 0) - 0.25) < 1e-6, `${file} pixel size ${s.pixelSizeNm}`);
  }
  const plain = await readTiltStack(join(FX, 'tilt_v5_plain.mat')); // uncompressed, single, angles as a column
  same(plain.channels[0].data, ref.Au, 'plain v5');
  assert.is(plain.angles!.length, 9);
  const ij = await readTiltStack(join(FX, 'tilt_Au_imagej.tif'));
  same(ij.channels[0].data, ref.Au, 'ImageJ TIFF');
  assert.ok(Math.abs(ij.pixelSizeNm! - 0.25) < 1e-6, `ImageJ TIFF pixel size ${ij.pixelSizeNm}`);
  const be = await readTiltStack(join(FX, 'tilt_Au_deflate_be.tif')); // big-endian uint16, Deflate + predictor, 5-row strips
  same(be.channels[0].data, ref.Au, 'Deflate big-endian TIFF');
  const af = await readTiltStack(join(FX, 'tilt_v5_anglefirst.mat')); // X(angle, row, col)
  assert.equal(af.shape, [9, 12, 16]);
  same(af.channels[0].data, ref.Au, 'v5 angle axis first');
});

test('channels are picked and ordered; a missing one is named with what the file has', async () => {
  const s = await readTiltStack(join(FX, 'tilt_v73.mat'), { channels: ['Au', 'HAADF'] });
  assert.equal(s.channels.map((c) => c.name), ['Au', 'HAADF']);
  for (const f of ['tilt_v5.mat', 'tilt_velox.emd', 'tilt_channels.h5', 'tilt_Au.hspy']) {
    try {
      await readTiltStack(join(FX, f), { channels: ['HAADF', 'Ag'] });
      assert.unreachable(f);
    } catch (e) {
      assert.instance(e, FormatError, f);
      assert.match((e as Error).message, /Ag/);
      assert.not.match((e as Error).message, /\n/);
    }
  }
  const pf = await readChannelFiles(`HAADF=${join(FX, 'tilt_HAADF.mrc')},Au=${join(FX, 'tilt_Au.hspy')}`);
  assert.equal(pf.channels.map((c) => c.name), ['HAADF', 'Au']);
  same(pf.channels[0].data, ref.HAADF, 'per-file HAADF');
  same(pf.channels[1].data, ref.Au, 'per-file Au');
  assert.throws(() => parseChannelFiles('HAADF=a.mrc,Au'), /NAME=FILE/);
  assert.equal(['Au_L', 'Au-La', 'haadf', 'Fe K', 'stack'].map(channelName), ['Au', 'Au', 'HAADF', 'Fe', 'stack']);
});

test('bad files: one line naming the file and the format, never HDF5 diagnostics', async () => {
  const junk = join(dir, 'junk.mat');
  writeFileSync(junk, Buffer.from('this is not a MAT-file at all, just text '.repeat(10)));
  await assertFormatError(() => detectFormat(junk), /junk\.mat: input: unknown format/);
  // A v5 file cut short: the element's claimed size exceeds the file
  const cut = join(dir, 'cut.mat');
  writeFileSync(cut, readFileSync(join(FX, 'tilt_v5_plain.mat')).subarray(0, 400));
  await assertFormatError(() => readTiltStack(cut), /cut\.mat: mat-v5: .*claims \d+ bytes/);
  // An HDF5 file with no channel arrays
  const h5 = join(dir, 'other.h5');
  copyFileSync(join(FX, 'tilt_Au.hspy'), join(dir, 'x.hspy'));
  await assertFormatError(() => readTiltStack(join(dir, 'x.hspy'), { dataset: '/nope' }), /x\.hspy: hdf5: --dataset: no array \/nope/);
  writeFileSync(h5, '');
  await assertFormatError(() => readTiltStack(h5), /other\.h5: input: unknown format \(an empty file\)/);
});

test('MAT v5 parser: small-element tags and storage narrower than the class', async () => {
  // Hand-assembled: 'x' = int8-stored double 2x1 [3, -4] (MATLAB's own compaction), with a small name element.
  const el: number[] = [];
  const u32 = (x: number) => el.push(x & 255, (x >> 8) & 255, (x >> 16) & 255, (x >>> 24) & 255);
  const sub = [
    ...[6, 0, 0, 0, 8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0], // flags: miUINT32, 8 bytes, class double
    ...[5, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0], // dims int32 [2, 1]
    ...[1, 0, 1, 0, 0x78, 0, 0, 0], // small element: miINT8, 1 byte, 'x'
    ...[1, 0, 2, 0, 3, 0xfc, 0, 0], // small element: miINT8, 2 bytes, [3, -4]
  ];
  u32(14); u32(sub.length);
  const headText = 'MATLAB 5.0 MAT-file, hand made'.padEnd(116, ' ');
  const head = [...headText].map((c) => c.charCodeAt(0)).concat(new Array(8).fill(0), [0, 1, 0x49, 0x4d]);
  const v = await readMat5(Uint8Array.from([...head, ...el, ...sub]), 'hand.mat');
  assert.is(v.length, 1);
  assert.is(v[0].name, 'x');
  assert.is(v[0].class, 'double');
  assert.equal(v[0].dims, [2, 1]);
  assert.equal([...v[0].data!], [3, -4]);
});

test('TIFF calibration: written ImageJ metadata reads back, and tifffile\'s reads the same way', async () => {
  const p = join(dir, 'cal.tif');
  const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 0.5);
  writeTiffStack(p, data, [2, 3, 4], { pixelSizeNm: 0.37, kind: 'volume' });
  const back = await readImageStack(p);
  assert.equal([...back.data], [...data]);
  assert.ok(Math.abs(back.pixelSizeNm! - 0.37) < 1e-6, `pixel size ${back.pixelSizeNm}`);
  const text = readFileSync(p).toString('latin1');
  assert.match(text, /ImageJ=1\.11a\nimages=2\nslices=2\nunit=nm\nspacing=0\.37\n/);
  writeTiffStack(p, data, [2, 3, 4]);
  assert.is((await readImageStack(p)).pixelSizeNm, undefined);
});

test.run();
