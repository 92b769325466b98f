import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardReader, ShardWriter, type ShardLayout, type SampleRecord } from './emd.ts';
import { readImageStack } from '../imagestack.ts';

const dir = mkdtempSync(join(tmpdir(), 'nanodose-emd-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const N = 8, U = 12;
const layout: ShardLayout = {
  elements: [{ symbol: 'Au', Z: 79 }, { symbol: 'Ag', Z: 47 }],
  channels: ['HAADF', 'Au', 'Ag'],
  angles: Float64Array.from([-60, -30, 0, 30, 60]),
  size: N, nCols: U, nFrames: 2, pixelSizeNm: 0.25,
  store: { phantom: true, clean: true, noisy: true, frames: true },
  compression: { phantom: 1, clean: 1, counts: 'scaleoffset' },
};
const C = 3, A = 5;
function record(index: number): SampleRecord {
  const phantom = [0, 1].map((e) => Float32Array.from({ length: N ** 3 }, (_, k) => ((k * 7 + e * 13 + index) % 17) / 17));
  const clean = Float32Array.from({ length: C * A * N * U }, (_, k) => Math.sin(k + index) * 100 + 100);
  const noisy = Uint32Array.from({ length: C * A * N * U }, (_, k) => (k * 2654435761 + index) >>> 0);
  const frames = Uint32Array.from({ length: C * A * 2 * N * U }, (_, k) => (k * 31 + index) % 9);
  return { index, split: index % 2 ? 'val' : 'train', params: { shapeClass: 'octahedron', composition: 'alloy', radius: 3.5 + index }, dose: 10 * (index + 1), doseTotal: 50 * (index + 1), phantom, clean, noisy, frames };
}

test('shard round trip: every array, attribute and table field', async () => {
  const path = join(dir, 'a.h5');
  const info = { seed: 42, config: { hello: [1, 2] }, generatorVersion: '0.1.0', shardIndex: 3, shardCount: 7, firstSample: 10, sampleCount: 2, microscope: { dose_per_projection_range: [1, 100], solid_angle_sr: 0.7, pixel_size_nm: 0.25, frames: 2 } };
  const w = await ShardWriter.create(path, layout, info);
  const recs = [record(10), record(11)];
  for (const r of recs) w.append(r);
  w.close();
  const rd = await ShardReader.open(path);
  assert.is(rd.attrs.version_major, 0);
  assert.is(rd.attrs.version_minor, 2);
  assert.is(rd.attrs.generator, 'nanodose');
  assert.is(rd.attrs.generator_version, '0.1.0');
  assert.is(rd.attrs.seed, 42);
  assert.equal(JSON.parse(String(rd.attrs.config)), { hello: [1, 2] });
  assert.is(rd.attrs.shard_index, 3);
  assert.is(rd.attrs.shard_count, 7);
  assert.is(rd.attrs.first_sample, 10);
  assert.equal(rd.elements, layout.elements);
  assert.equal(rd.channels, layout.channels);
  assert.equal(Array.from(rd.angles), Array.from(layout.angles));
  assert.is(rd.nCols, U);
  assert.is(rd.nFrames, 2);
  assert.ok(Math.abs(rd.pixelSizeNm - 0.25) < 1e-12);
  assert.equal(rd.shape('noisy'), [2, C, A, N, U]);
  assert.equal(rd.shape('frames'), [2, C, A, 2, N, U]);
  assert.is(rd.filters('clean')[0].name, 'deflate');
  assert.is(rd.filters('noisy')[0].name, 'scaleoffset');
  recs.forEach((r, k) => {
    const m = rd.samples[k];
    assert.is(m.index, r.index);
    assert.is(m.split, r.split);
    assert.is(m.dose, r.dose);
    assert.is(m.doseTotal, r.doseTotal);
    assert.is(m.shapeClass, 'octahedron');
    assert.equal(m.params, r.params);
    const ph = rd.read(k, 'phantom');
    assert.ok(ph instanceof Float32Array);
    assert.equal(Array.from(ph.subarray(0, N ** 3)), Array.from((r.phantom as Float32Array[])[0]));
    assert.equal(Array.from(ph.subarray(N ** 3)), Array.from((r.phantom as Float32Array[])[1]));
    assert.equal(Array.from(rd.read(k, 'clean')), Array.from(r.clean!));
    const nz = rd.read(k, 'noisy');
    assert.ok(nz instanceof Uint32Array);
    assert.equal(Array.from(nz), Array.from(r.noisy!));
    assert.equal(Array.from(rd.read(k, 'frames')), Array.from(r.frames!));
    // one projection by hyperslab: channel 2, angle 3
    const p = rd.readProjection(k, 'clean', 2, 3);
    const off = (2 * A + 3) * N * U;
    assert.equal(Array.from(p), Array.from(r.clean!.subarray(off, off + N * U)));
    const sub = rd.readProjection(k, 'noisy', 1, 4, [2, 5], [3, 9]);
    const want: number[] = [];
    for (let y = 2; y < 5; y++) for (let x = 3; x < 9; x++) want.push(r.noisy![(1 * A + 4) * N * U + y * U + x]);
    assert.equal(Array.from(sub), want);
  });
  rd.close();
  // the user-file reader reads any named dataset of an HDF5 file, with the angles of its [deg] dim
  const st = await readImageStack(path, { dataset: 'data/tilt_clean/data' });
  assert.equal(st.shape, [2, C, A, N, U]);
  assert.equal(Array.from(st.angles!), Array.from(layout.angles));
  assert.equal(Array.from(st.data.subarray(C * A * N * U)), Array.from(recs[1].clean!));
  const dflt = await readImageStack(path);
  assert.equal(dflt.shape, [2, C, A, N, U], 'default: the noisy tilt series');
  assert.equal(Array.from(dflt.data.subarray(0, 50)), Array.from(recs[0].noisy!.subarray(0, 50), (x) => Math.fround(x)));
  await readImageStack(path, { dataset: 'data/nothing' }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /no dataset data\/nothing/));
});

test('writer refuses wrong sizes, wrong order and short shards', async () => {
  const w = await ShardWriter.create(join(dir, 'b.h5'), layout, { seed: 's', config: {}, generatorVersion: '0', shardIndex: 0, shardCount: 1, firstSample: 0, sampleCount: 2, microscope: {} });
  assert.throws(() => w.append(record(1)), /expected sample 0/);
  const bad = record(0);
  bad.clean = new Float32Array(5);
  assert.throws(() => w.append(bad), /has 5 values/);
  assert.throws(() => w.close(), /0 of 2 samples/);
  await ShardReader.open(join(dir, 'b.h5')).then(
    () => assert.unreachable('an unfinished shard must not open'),
    (e: Error) => assert.match(e.message, /missing samples/),
  );
});

test.run();
