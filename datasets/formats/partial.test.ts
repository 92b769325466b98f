/**
 * Partial reads of TIFF (formats/tiff/tiff.ts) and MATLAB v5 (formats/matlab/mat5.ts, formats/matlab/matlab.ts), the
 * reads `inspect` makes: the first pages / rows equal the same values of the whole read on the
 * committed fixtures (made by tifffile and scipy.io.savemat: testing/make-fixtures.py); a compressed
 * MAT array is inflated only as far as the projection needs (a checksum error past it is not met);
 * truncated and damaged files give one line naming the file and the format.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { readTiff, writeTiffStack } from './tiff/tiff.ts';
import { Mat5File } from './matlab/mat5.ts';
import { probeMat5 } from './matlab/matlab.ts';
import { readTiltStack } from './index.ts';
import { assertFormatError } from './testing/assert-format-error.ts';
import { probeTiltStack } from './probe.ts';

const FX = fileURLToPath(new URL('./testing/fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nanodose-partial-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const equalValues = (a: Float32Array, b: Float32Array, what: string) => {
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.unreachable(`${what}: value ${i} is ${a[i]}, the whole read has ${b[i]}`);
};

test('TIFF: k pages and the first rows equal the whole read (ImageJ float32, Deflate big-endian uint16 in 5-row strips)', async () => {
  for (const f of ['tilt_Au_imagej.tif', 'tilt_Au_deflate_be.tif']) {
    const whole = await readTiff(join(FX, f));
    const [P, R, C] = whole.shape;
    assert.equal([P, R, C], [9, 12, 16], f);
    for (const k of [0, 1, 4, 9]) {
      const part = await readTiff(join(FX, f), { pages: k });
      assert.equal(part.shape, [k, R, C], `${f} pages ${k}`);
      assert.is(part.pages, P);
      equalValues(part.data, whole.data.subarray(0, k * R * C), `${f} pages ${k}`);
    }
    // 7 rows (values 7 C .. 8 C - 1): across a strip boundary for the 5-row strips
    for (const rows of [1, 5, 7, 12]) {
      const part = await readTiff(join(FX, f), { pages: 2, values: rows * C + C - 1 });
      assert.equal(part.shape, [2, rows, C], `${f} rows ${rows}`);
      for (let p = 0; p < 2; p++) equalValues(part.data.subarray(p * rows * C, (p + 1) * rows * C), whole.data.subarray(p * R * C, p * R * C + rows * C), `${f} page ${p} rows ${rows}`);
    }
  }
});

test('MAT v5: the probe\'s projection 0 (its first rows) equals the whole read, angle axis last or first', async () => {
  for (const f of ['tilt_v5.mat', 'tilt_v5_plain.mat', 'tilt_v5_anglefirst.mat']) {
    const whole = await readTiltStack(join(FX, f));
    const [, R, C] = whole.shape;
    for (const rows of [1, 5, R]) {
      const { layout, samples } = await probeMat5(join(FX, f), rows * C);
      assert.equal(layout.shape, whole.shape, f);
      whole.channels.forEach((c, k) => equalValues(samples[k], c.data.subarray(0, rows * C), `${f} ${c.name} rows ${rows}`));
    }
  }
});

/** A MAT v5 file (hand-assembled, as MATLAB's format says) holding one double array, its element compressed. */
function mat5(name: string, dims: number[], values: Float64Array): Uint8Array {
  const pad = (n: number) => (8 - (n % 8)) % 8;
  const nameBytes = new TextEncoder().encode(name);
  const parts: number[] = [];
  const u32 = (x: number) => parts.push(x & 255, (x >>> 8) & 255, (x >>> 16) & 255, x >>> 24);
  u32(6); u32(8); u32(6); u32(0); // array flags: miUINT32, class double
  u32(5); u32(4 * dims.length); dims.forEach(u32); for (let i = 0; i < pad(4 * dims.length); i++) parts.push(0);
  u32(1); u32(nameBytes.length); parts.push(...nameBytes); for (let i = 0; i < pad(nameBytes.length); i++) parts.push(0);
  u32(9); u32(8 * values.length);
  const head = Uint8Array.from(parts);
  const body = new Uint8Array(head.length + 8 * values.length);
  body.set(head);
  body.set(new Uint8Array(values.buffer), head.length);
  const el = new Uint8Array(8 + body.length);
  new DataView(el.buffer).setUint32(0, 14, true);
  new DataView(el.buffer).setUint32(4, body.length, true);
  el.set(body, 8);
  const z = deflateSync(el);
  const text = 'MATLAB 5.0 MAT-file, made by partial.test.ts'.padEnd(116, ' ');
  const out = new Uint8Array(128 + 8 + z.length);
  for (let i = 0; i < 116; i++) out[i] = text.charCodeAt(i);
  out.set([0, 1, 0x49, 0x4d], 124);
  new DataView(out.buffer).setUint32(128, 15, true);
  new DataView(out.buffer).setUint32(132, z.length, true);
  out.set(z, 136);
  return out;
}

test('MAT v5: a compressed array is inflated only as far as projection 0 needs', async () => {
  const [R, C, A] = [100, 100, 40];
  const values = Float64Array.from({ length: R * C * A }, (_, i) => (i * 7919) % 1000);
  const bytes = mat5('Au', [R, C, A], values);
  // spoil the zlib stream's adler-32 (its last 4 bytes): only a read to the end meets it
  bytes[bytes.length - 1] ^= 0xff;
  const p = join(dir, 'late-damage.mat');
  writeFileSync(p, bytes);
  const { samples } = await probeMat5(p, R * C);
  const first = new Float32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) first[r * C + c] = values[r + R * c];
  equalValues(samples[0], first, 'projection 0');
  const f = await Mat5File.open(p);
  let seen = 0;
  await f.values(f.vars[0], (s, x) => ((seen = s + x.length), s + x.length < 1000));
  assert.ok(seen < R * C * A / 4, `stopped after ${seen} values`);
  f.close();
  await assertFormatError(() => readTiltStack(p), /late-damage\.mat: mat-v5: compressed element at byte 128 does not inflate \(incorrect data check\)/);
});

test('truncated and damaged TIFF and MAT v5 files: one line naming the file and the format (probe and reader)', async () => {
  const cases: [string, Uint8Array, RegExp][] = [];
  const tif = readFileSync(join(FX, 'tilt_Au_imagej.tif'));
  const tifBe = readFileSync(join(FX, 'tilt_Au_deflate_be.tif'));
  cases.push(['tif-head.tif', tif.subarray(0, 6), /tif-head\.tif: (input|tiff): /]);
  cases.push(['tif-ifd.tif', tif.subarray(0, 400), /tif-ifd\.tif: tiff: .*(runs past the end|truncated)/]);
  cases.push(['tif-last-ifd.tif', tif.subarray(0, tif.length - 30), /tif-last-ifd\.tif: tiff: IFD 8 at byte \d+ \(\d+ bytes\) runs past the end of the file/]);
  // nanodose's writer puts each IFD before its strips: a cut in the last strip leaves every IFD whole
  const ours = join(dir, 'ours.tif');
  writeTiffStack(ours, Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => i), [3, 8, 8]);
  const o = readFileSync(ours);
  cases.push(['tif-last-page.tif', o.subarray(0, o.length - 100), /tif-last-page\.tif: tiff: page 2's strips end at byte \d+, the file ends at \d+: the file is truncated/]);
  cases.push(['tif-be-cut.tif', tifBe.subarray(0, Math.floor(tifBe.length * 0.6)), /tif-be-cut\.tif: tiff: /]);
  const loop = Uint8Array.from(tif);
  const lv = new DataView(loop.buffer), ifd0 = lv.getUint32(4, true);
  lv.setUint32(ifd0 + 2 + 12 * lv.getUint16(ifd0, true), ifd0, true); // IFD 0's next IFD is itself
  cases.push(['tif-loop.tif', loop, /tif-loop\.tif: tiff: IFD 1 at byte \d+ loops back to an earlier IFD: the file is damaged/]);
  const mat = readFileSync(join(FX, 'tilt_v5.mat'));
  cases.push(['mat-cut.mat', mat.subarray(0, mat.length - 50), /mat-cut\.mat: mat-v5: data element at byte \d+ claims \d+ bytes, the file ends at \d+/]);
  const spoiled = Uint8Array.from(mat);
  for (let i = 140; i < 180; i++) spoiled[i] ^= 0x5a; // inside the first compressed element's zlib stream
  cases.push(['mat-spoiled.mat', spoiled, /mat-spoiled\.mat: mat-v5: compressed element at byte 128 does not inflate/]);
  for (const [name, bytes, re] of cases) {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    await assertFormatError(() => probeTiltStack(p), re);
    await assertFormatError(() => readTiltStack(p), re);
  }
});

test.run();
