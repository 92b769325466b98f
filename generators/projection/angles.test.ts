import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normaliseTiltAngles, mirrorProjections, Projector, makeGeometry } from './index.ts';
import { sirtFast } from '../../eval/recon/sirt/slices.ts';

test('angles in -180..180, 0..180 and radians map into [-90, 90) with the right mirror flags', () => {
  const n = normaliseTiltAngles([-180, -95, -90, 0, 89.5, 90, 135, 180, 270]);
  assert.equal(Array.from(n.angles), [0, 85, -90, 0, 89.5, -90, -45, 0, -90]);
  assert.equal(Array.from(n.mirror), [1, 1, 0, 0, 0, 1, 1, 1, 0]);
  const r = normaliseTiltAngles([Math.PI / 4, (3 * Math.PI) / 4], { radians: true });
  assert.ok(Math.abs(r.angles[0] - 45) < 1e-9 && Math.abs(r.angles[1] + 45) < 1e-9);
  assert.throws(() => normaliseTiltAngles([Number.NaN]), /angles\[0\]/);
  assert.throws(() => normaliseTiltAngles([1e4]), /radians\? pass --radians/);
});

test('the same tilt series written in the -90..90, 0..180 and radians conventions reconstructs the same volume', async () => {
  const N = 24, nz = 2, nCols = 32;
  const ref = Array.from({ length: 18 }, (_, i) => -90 + i * 10);
  const vol = new Float32Array(nz * N * N);
  for (let z = 0; z < nz; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) vol[(z * N + y) * N + x] = Math.hypot(x - 9, y - 13) < 6 ? 1 + (x > 9 ? 1 : 0) : 0;
  const p = new Projector(makeGeometry({ angles: ref, nz, ny: N, nx: N, nCols }), { workers: 1 });
  const ts = await p.forward(vol);
  // The 0..180 convention: angles below 0 written as theta + 180 with the mirrored projection.
  const conv = ref.map((t) => (t < 0 ? t + 180 : t));
  const mir = Uint8Array.from(ref, (t) => (t < 0 ? 1 : 0));
  const ts180 = mirrorProjections(Float32Array.from(ts), nz, nCols, mir);
  const rec = async (angles: Float64Array, data: Float32Array) => sirtFast(data, { nz, ny: N, nx: N, nCols, angles, iterations: 15, minConstraint: 0, workers: 1 });
  const v0 = await rec(Float64Array.from(ref), ts);
  for (const [angles, radians] of [[conv, false], [conv.map((t) => (t * Math.PI) / 180), true]] as [number[], boolean][]) {
    const n = normaliseTiltAngles(angles, { radians });
    const v = await rec(n.angles, mirrorProjections(Float32Array.from(ts180), nz, nCols, n.mirror));
    let d = 0;
    for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs(v[i] - v0[i]));
    assert.ok(d < 1e-4, `radians=${radians}: volumes differ by ${d}`);
  }
  // Not normalising (reading 0..180 as if it were -90..90 by clamping) would differ: the mirror matters.
  const wrong = await rec(normaliseTiltAngles(conv).angles, ts180);
  let dw = 0;
  for (let i = 0; i < wrong.length; i++) dw = Math.max(dw, Math.abs(wrong[i] - v0[i]));
  assert.ok(dw > 0.1, 'skipping the mirror should change the volume');
});

test.run();
