/**
 * training/user-data.ts: the count scale recovered from scaled Poisson counts (and refused for
 * interpolated data), held-out views spread and disjoint from the training views, frames found
 * from repeated angles, and every bad input refused with one line naming the file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stream } from '../core/random.ts';
import { writeMrc, writeTlt } from '../datasets/formats/mrc/mrc.ts';
import { readTiltStack } from '../datasets/formats/index.ts';
import { heldOutViews, userTrainingData } from './user-data.ts';
import { estimateCountScale } from '../datasets/user-counts.ts';
import type { MapSource, MultiMapSource } from './sources.ts';

const FX = fileURLToPath(new URL('../datasets/formats/testing/fixtures/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'nanodose-userdata-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** Poisson counts of mean `mean` per pixel, [n]. */
function counts(n: number, mean: number, seed: string): Float32Array {
  const r = stream(seed);
  return Float32Array.from({ length: n }, () => r.poisson(mean));
}

const throwsLike = async (f: () => Promise<unknown>, re: RegExp) => {
  try {
    await f();
  } catch (e) {
    const m = (e as Error).message;
    assert.ok(re.test(m), `message ${JSON.stringify(m)} does not match ${re}`);
    assert.not.ok(m.includes('\n'), 'one line');
    return;
  }
  assert.unreachable(`no error (expected ${re})`);
};

test('estimateCountScale: recovers the scale of scaled counts, refuses interpolated values', () => {
  const c = counts(4000, 0.8, 'cs');
  for (const S of [69.44, 1, 0.5, 1000 / 3]) {
    const v = Float32Array.from(c, (x) => x / S);
    const est = estimateCountScale(v)!;
    assert.ok(est !== undefined && Math.abs(est / S - 1) < 1e-5, `scale ${S}: estimated ${est}`);
  }
  // No pixel with exactly one count (all even counts, 2..): the quantum is still found (as 2 counts
  // differing by 2, the divisors are tried) and every value is a multiple of it.
  const even = Float32Array.from(c, (x) => (2 * x) / 7);
  const e2 = estimateCountScale(even)!;
  assert.ok(e2 !== undefined && Number.isInteger(Math.round(even[1] * e2)), `even counts: ${e2}`);
  for (let i = 0; i < even.length; i++) assert.ok(Math.abs(even[i] * e2 - Math.round(even[i] * e2)) < 1e-3);
  // Interpolated (a sub-pixel shift mixes neighbours): no scale exists.
  const wt = Math.SQRT1_2 - 0.4; // an interpolation weight that is no short decimal
  const mixed = Float32Array.from({ length: c.length - 1 }, (_, i) => (wt * c[i] + (1 - wt) * c[i + 1]) / 69.44);
  assert.is(estimateCountScale(mixed), undefined);
  // Random floats: float32 rounding is not a counting quantum.
  const r = stream('floats');
  assert.is(estimateCountScale(Float32Array.from({ length: 3000 }, () => 0.5 + 0.5 * r.uniform())), undefined);
});

test('heldOutViews: spread over the series, distinct', () => {
  assert.equal(heldOutViews(9, 2), [2, 6]);
  assert.equal(heldOutViews(13, 2), [3, 9]);
  assert.equal(heldOutViews(15, 3), [2, 7, 12]);
  for (const [n, k] of [[3, 1], [7, 3], [61, 10]]) {
    const v = heldOutViews(n, k);
    assert.is(new Set(v).size, k);
    assert.ok(v.every((x) => x >= 0 && x < n));
  }
});

test('a .mat file: the held-out views are whole views of the file, never among the training maps', async () => {
  const st = await readTiltStack(join(FX, 'tilt_v5.mat'), { channels: ['Au'] });
  const u = await userTrainingData({ data: join(FX, 'tilt_v5.mat'), scheme: 'n2n-thinning', channels: ['Au'] });
  const src = u.source as MapSource;
  assert.is(src.kind, 'maps');
  assert.is(src.channel, 'Au');
  assert.equal(u.summary.valViews, [2, 6]);
  assert.equal(u.summary.trainViews, [0, 1, 3, 4, 5, 7, 8]);
  assert.is(src.train.length, 7);
  assert.is(src.val.length, 2);
  const plane = 12 * 16;
  const view = (v: number) => Array.from(st.channels[0].data.subarray(v * plane, (v + 1) * plane));
  assert.equal(Array.from(src.val[0].noisy!), view(2));
  assert.equal(Array.from(src.val[1].noisy!), view(6));
  src.train.forEach((it, k) => assert.equal(Array.from(it.noisy!), view(u.summary.trainViews[k])));
  assert.equal(u.summary.angles![2], -30);
  assert.ok(u.summary.integerCounts);
  assert.match(u.line, /7 views to train on, 2 held out for validation \(-30, 30 deg\)/);
  // HAADF-guided: both channels of every view, in the order asked.
  const g = await userTrainingData({ data: join(FX, 'tilt_velox.emd'), scheme: 'blind-spot', inputs: ['HAADF', 'Au'], valViews: 3 });
  const gs = g.source as MultiMapSource;
  assert.equal(gs.channels, ['HAADF', 'Au']);
  assert.is(gs.val.length, 3);
  assert.is(gs.train[0].length, 2);
});

test('per-frame stacks: frames found from repeated angles; count scale applied and checked', async () => {
  const A = 6, K = 2, h = 8, w = 10, plane = h * w;
  const frames = counts(A * K * plane, 1.5, 'frames');
  const p = join(root, 'frames.mrc');
  writeMrc(p, frames, [A * K, h, w], { voxelSizeAngstrom: 3, kind: 'stack' });
  writeTlt(join(root, 'frames.tlt'), Array.from({ length: A * K }, (_, i) => -50 + 20 * Math.floor(i / K)));
  const u = await userTrainingData({ data: p, scheme: 'n2n-frames', channels: ['Au'] });
  assert.is(u.summary.framesPerView, 2);
  assert.is(u.summary.views, 6);
  const src = u.source as MapSource;
  const it = src.val[0];
  const v = u.summary.valViews[0];
  assert.is(it.frames!.length, 2);
  for (let i = 0; i < plane; i++) assert.is(it.noisy![i], frames[(v * K) * plane + i] + frames[(v * K + 1) * plane + i]);
  // The scaled copy (counts / 69.44) is refused for thinning, with the scale suggested ...
  const S = 69.44;
  const q = join(root, 'scaled.mrc');
  writeMrc(q, Float32Array.from(frames, (x) => x / S), [A * K, h, w], { voxelSizeAngstrom: 3, kind: 'stack' });
  await throwsLike(() => userTrainingData({ data: q, scheme: 'n2n-thinning', frames: 1 }), /scaled\.mrc \(image\): n2n-thinning needs integer counts, got [\d.]+ at \[image \d+, row \d+, col \d+\]; the values look like counts x 0\.0144\d* \(smallest step\): give --count-scale 69\.4/);
  // ... and with it, the counts are the original integers.
  const s = await userTrainingData({ data: q, scheme: 'n2n-thinning', frames: 1, countScale: S });
  const t0 = (s.source as MapSource).train[0].noisy!;
  for (let i = 0; i < plane; i++) assert.is(t0[i], frames[i]);
  await throwsLike(() => userTrainingData({ data: q, scheme: 'n2n-thinning', frames: 1, countScale: 50 }), /count-scale: .*scaled\.mrc \(image\): value .* x 50 = .* is not an integer count; the values look like counts x 0\.0144/);
});

test('bad input: one line naming the file or field', async () => {
  const bad = (name: string, data: Float32Array, shape: [number, number, number]) => {
    const p = join(root, name);
    writeMrc(p, data, shape, { voxelSizeAngstrom: 3, kind: 'stack' });
    return p;
  };
  const c = counts(5 * 36, 2, 'bad');
  const nan = Float32Array.from(c);
  nan[40] = NaN;
  await throwsLike(() => userTrainingData({ data: bad('nan.mrc', nan, [5, 6, 6]), scheme: 'blind-spot' }), /nan\.mrc \(image\) holds 1 non-finite value\(s\) \(first NaN at \[image 1, row 0, col 4\]\)/);
  const neg = Float32Array.from(c);
  neg[7] = -1;
  await throwsLike(() => userTrainingData({ data: bad('neg.mrc', neg, [5, 6, 6]), scheme: 'blind-spot' }), /neg\.mrc \(image\) has a negative value -1 at \[image 0, row 1, col 1\]/);
  const three = bad('three.mrc', c.slice(0, 3 * 36), [3, 6, 6]);
  await throwsLike(() => userTrainingData({ data: three, scheme: 'blind-spot', valViews: 2 }), /val-views: .*three\.mrc has 3 view\(s\); training holds out 2 whole view\(s\) .* at least 2 others/);
  await throwsLike(() => userTrainingData({ data: three, scheme: 'n2n-frames' }), /n2n-frames needs several frames per view; .*three\.mrc has 3 images/);
  await throwsLike(() => userTrainingData({ data: join(FX, 'tilt_Au.hspy'), scheme: 'blind-spot', inputs: ['HAADF', 'Au'] }), /tilt_Au\.hspy: hspy: .*HAADF/);
  // The file's only element channel is the default; with two, one must be named.
  assert.is(((await userTrainingData({ data: join(FX, 'tilt_v5.mat'), scheme: 'blind-spot' })).source as MapSource).channel, 'Au');
  const two = `HAADF=${join(FX, 'tilt_HAADF.mrc')},Au=${join(FX, 'tilt_Au.mrc')},Ag=${join(FX, 'tilt_Au.mrc')}`;
  await throwsLike(() => userTrainingData({ data: two, scheme: 'blind-spot' }), /channels: .*has channels HAADF, Au, Ag: name the one to train on \(--channels Au\), or train a multi-channel network/);
  await throwsLike(() => userTrainingData({ data: two, scheme: 'blind-spot', inputs: ['HAADF', 'Pt'] }), /inputs: .*channel Pt missing \(the files give HAADF, Au, Ag\)/);
  await throwsLike(() => userTrainingData({ data: join(FX, 'tilt_v5.mat'), scheme: 'supervised' as 'blind-spot' }), /scheme: .*no clean signal/);
  await throwsLike(() => userTrainingData({ data: join(root, 'none.mrc'), scheme: 'blind-spot' }), /data: .*none\.mrc: no such file/);
});

test.run();
