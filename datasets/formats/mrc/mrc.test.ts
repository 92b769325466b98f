import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImageStack } from '../imagestack.ts';
import { writeTiffStack } from '../tiff/tiff.ts';
import { readMrc, readTlt, writeMrc, writeTlt } from './mrc.ts';

const dir = mkdtempSync(join(tmpdir(), 'nanodose-mrc-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const nz = 3, ny = 4, nx = 5;
const data = Float32Array.from({ length: nz * ny * nx }, (_, i) => Math.cos(i * 0.7) * 3 + (i % 7));

test('MRC 2014 header fields as science.md section 8 says (volume)', () => {
  const p = join(dir, 'v.mrc');
  writeMrc(p, data, [nz, ny, nx], { voxelSizeAngstrom: 2.5, kind: 'volume', labels: ['hello'] });
  const b = readFileSync(p);
  assert.is(b.length, 1024 + 4 * data.length);
  const v = new DataView(b.buffer, b.byteOffset, 1024);
  const i = (w: number) => v.getInt32(4 * (w - 1), true);
  const f = (w: number) => v.getFloat32(4 * (w - 1), true);
  assert.equal([i(1), i(2), i(3)], [nx, ny, nz]);
  assert.is(i(4), 2, 'mode 2 = float32');
  assert.equal([i(8), i(9), i(10)], [nx, ny, nz], 'mx my mz');
  assert.equal([f(11), f(12), f(13)], [nx * 2.5, ny * 2.5, nz * 2.5], 'cella in angstrom');
  assert.equal([f(14), f(15), f(16)], [90, 90, 90]);
  assert.equal([i(17), i(18), i(19)], [1, 2, 3], 'mapc mapr maps');
  assert.is(i(23), 1, 'ispg 1 for a volume');
  assert.is(i(24), 0, 'no extended header');
  assert.is(v.getInt32(108, true), 20141, 'nversion');
  assert.is(b.subarray(208, 212).toString('latin1'), 'MAP ');
  assert.equal([...b.subarray(212, 216)], [0x44, 0x44, 0, 0], 'machst');
  // statistics against a float64 computation here
  const xs = Array.from(data);
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
  assert.is(f(20), Math.fround(Math.min(...xs)));
  assert.is(f(21), Math.fround(Math.max(...xs)));
  assert.ok(Math.abs(f(22) - mean) < 1e-5, 'dmean');
  assert.ok(Math.abs(v.getFloat32(216, true) - sd) < 1e-5, 'rms = standard deviation');
  assert.is(v.getInt32(220, true), 1, 'nlabl');
  assert.is(b.subarray(224, 229).toString('latin1'), 'hello');
  // data in x-fastest order, as the array was
  const back = readMrc(p);
  assert.equal(back.shape, [nz, ny, nx]);
  assert.equal(Array.from(back.data), Array.from(data));
  assert.is(back.voxelSizeAngstrom, 2.5);
});

test('MRC image stack: ispg 0, mz 1, cella z = one voxel; .tlt round trip; readImageStack finds the .tlt', async () => {
  const p = join(dir, 'tilt.mrc');
  writeMrc(p, data, [nz, ny, nx], { voxelSizeAngstrom: 3, kind: 'stack' });
  const h = readMrc(p).header;
  assert.is(h.ispg, 0);
  assert.is(h.mz, 1);
  assert.is(h.nz, nz);
  assert.is(h.cella[2], 3);
  const angles = [-60, 0.5, 62.25];
  writeTlt(join(dir, 'tilt.tlt'), angles);
  assert.equal(Array.from(readTlt(join(dir, 'tilt.tlt'))), angles);
  const s = await readImageStack(p);
  assert.equal(s.shape, [nz, ny, nx]);
  assert.equal(Array.from(s.angles!), angles);
  assert.equal(Array.from(s.data), Array.from(data));
});

test('MRC sections: k = 0, 1, 2, nz read only the header and the first k planes, equal to the whole read', () => {
  const p = join(dir, 'sections.mrc');
  writeMrc(p, data, [nz, ny, nx], { voxelSizeAngstrom: 2, kind: 'stack' });
  const whole = readMrc(p);
  for (const k of [0, 1, 2, nz, nz + 5]) {
    const part = readMrc(p, { sections: k });
    assert.equal(part.shape, [nz, ny, nx], `k ${k}: shape is the file's`);
    assert.equal(part.header, whole.header, `k ${k}: header`);
    assert.equal(Array.from(part.data), Array.from(whole.data.subarray(0, Math.min(k, nz) * ny * nx)), `k ${k}: planes`);
  }
  // A file shorter than its header promises stays an error, also when only one plane is asked for.
  const bytes = readFileSync(p);
  const short = join(dir, 'short.mrc');
  writeFileSync(short, bytes.subarray(0, bytes.length - 4));
  assert.throws(() => readMrc(short, { sections: 1 }), /truncated MRC/);
});

test('MRC writer refuses a shape that does not match the data', () => {
  assert.throws(() => writeMrc(join(dir, 'x.mrc'), data, [2, 2, 2], { voxelSizeAngstrom: 1, kind: 'volume' }), /needs 8/);
  assert.throws(() => writeMrc(join(dir, 'x.mrc'), data, [nz, ny, nx], { voxelSizeAngstrom: 0, kind: 'volume' }), /voxelSizeAngstrom/);
});

test('float32 TIFF stack written here reads back through utif2', async () => {
  const p = join(dir, 's.tif');
  writeTiffStack(p, data, [nz, ny, nx]);
  const s = await readImageStack(p);
  assert.equal(s.shape, [nz, ny, nx]);
  assert.equal(Array.from(s.data), Array.from(data));
  await readImageStack(join(dir, 's.xyz')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /no such file/));
});

test.run();
