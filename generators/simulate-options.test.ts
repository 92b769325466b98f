/** simulateSample options: the analytic projector, HAADF read noise and alignment jitter (defaults unchanged). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { simulateSample, validateSimulationConfig } from './simulate.ts';
import { shiftTiltSeries } from './signal/index.ts';

const base = { phantom: { size: 32 }, geometry: { angles: '-60:60:30' } };
const same = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const IMG = 32 * 32, NA = 5;

test("geometry.projector: absent from the defaults; 'voxel' is byte-identical to the default", async () => {
  const d = validateSimulationConfig(base);
  assert.equal('projector' in d.geometry, false);
  const v = validateSimulationConfig({ ...base, geometry: { ...base.geometry, projector: 'voxel' } });
  const a = await simulateSample(d, 3, 1), b = await simulateSample(v, 3, 1);
  assert.ok(same(a.clean, b.clean) && same(a.noisy, b.noisy));
  assert.equal(JSON.stringify(a.params), JSON.stringify(b.params));
  assert.equal('jitter' in a.params || 'projection' in a.params, false);
});

test('analytic projector: deterministic, recorded, close to the voxel projector, per-tilt EDX totals equal', async () => {
  const cv = validateSimulationConfig({ ...base, phantom: { size: 32, diffuseProbability: 0 } });
  const ca = validateSimulationConfig({ ...base, phantom: { size: 32, diffuseProbability: 0 }, geometry: { ...base.geometry, projector: 'analytic' } });
  for (const index of [0, 1, 2]) {
    const v = await simulateSample(cv, 8, index);
    const a = await simulateSample(ca, 8, index), a2 = await simulateSample(ca, 8, index);
    assert.ok(same(a.clean, a2.clean) && same(a.noisy, a2.noisy), 'deterministic');
    assert.equal(a.params.projection, { projector: 'analytic', supersample: 3, voxelRegions: [] });
    assert.ok(same(a.volume[0], v.volume[0]), 'the stored phantom is the voxelised one either way');
    // Same image up to discretisation: relative L2 difference of the clean counts (all channels) is small but not 0.
    let e2 = 0, r2 = 0;
    for (let i = 0; i < a.clean.length; i++) { const d = a.clean[i] - v.clean[i]; e2 += d * d; r2 += a.clean[i] * a.clean[i]; }
    const rel = Math.sqrt(e2 / r2);
    assert.ok(rel > 0 && rel < 0.03, `sample ${index}: relative L2 analytic vs voxel ${rel}`);
    // Mass: every tilt of an EDX channel carries the same total.
    for (let c = 1; c < a.channels.length; c++) {
      const tot = (ang: number) => { let s = 0; for (let k = 0; k < IMG; k++) s += a.clean[(c * NA + ang) * IMG + k]; return s; };
      for (let ang = 1; ang < NA; ang++) assert.ok(Math.abs(tot(ang) - tot(0)) <= 1e-3 * tot(0) + 1e-9, `sample ${index} channel ${c} tilt ${ang}`);
    }
  }
  // Diffuse interfaces go through the voxel projector, and say so.
  const cd = validateSimulationConfig({ ...base, phantom: { size: 32, diffuseProbability: 1, interfaceBlur: [1, 2], composition: { 'core-shell': 1 } }, geometry: { ...base.geometry, projector: 'analytic', supersample: 2 } });
  const s = await simulateSample(cd, 8, 0);
  assert.equal(s.params.projection, { projector: 'analytic', supersample: 2, voxelRegions: [0, 1] });
});

test('config errors name the field', () => {
  assert.throws(() => validateSimulationConfig({ geometry: { angles: '0', projector: 'exact' } }), /geometry\.projector: must be one of voxel, analytic/);
  assert.throws(() => validateSimulationConfig({ geometry: { angles: '0', supersample: 2 } }), /geometry\.supersample: applies to the analytic projector only/);
  assert.throws(() => validateSimulationConfig({ geometry: { angles: '0', projector: 'analytic', supersample: 0 } }), /geometry\.supersample/);
  assert.throws(() => validateSimulationConfig({ acquisition: { readNoise: 'a' } }), /acquisition\.readNoise/);
  assert.throws(() => validateSimulationConfig({ acquisition: { jitter: -1 } }), /acquisition\.jitter/);
});

test('HAADF read noise: only the HAADF channel changes; EDX counts identical', async () => {
  // A high dose keeps the HAADF frames far above the read noise (no clipping of negative counts at 0).
  const a = await simulateSample(validateSimulationConfig({ ...base, acquisition: { frames: 2, dose: 1e6 } }), 4, 0);
  const b = await simulateSample(validateSimulationConfig({ ...base, acquisition: { frames: 2, dose: 1e6, readNoise: 30 } }), 4, 0);
  const h = NA * IMG;
  assert.ok(same(a.clean, b.clean));
  assert.ok(same(a.noisy.subarray(h), b.noisy.subarray(h)), 'EDX channels unchanged');
  assert.not.ok(same(a.noisy.subarray(0, h), b.noisy.subarray(0, h)), 'HAADF changed');
  // HAADF differences inside the particle: variance ~ frames x sigma^2 = 1800 (loose bounds: 0.5x..2x).
  let s = 0, s2 = 0, n = 0;
  for (let i = 0; i < h; i++) if (a.clean[i] > 1e4) { const d = b.noisy[i] - a.noisy[i]; s += d; s2 += d * d; n++; }
  const varD = s2 / n - (s / n) ** 2;
  assert.ok(n > 500 && varD > 900 && varD < 3600, `variance of the read noise over ${n} px: ${varD}`);
});

test('jitter: per-tilt shifts in {-1,0,1} recorded in params, applied to every channel, deterministic by seed', async () => {
  const cj = validateSimulationConfig({ ...base, geometry: { angles: '-70:70:10' }, acquisition: { jitter: 1 } });
  const c0 = validateSimulationConfig({ ...base, geometry: { angles: '-70:70:10' } });
  const nA = 15;
  const j = await simulateSample(cj, 6, 2), j2 = await simulateSample(cj, 6, 2), o = await simulateSample(c0, 6, 2);
  const sh = j.params.jitter!;
  assert.equal(sh, j2.params.jitter);
  assert.ok(same(j.noisy, j2.noisy));
  assert.equal(sh.rows.length, nA);
  assert.ok([...sh.rows, ...sh.cols].every((v) => v === -1 || v === 0 || v === 1));
  assert.ok(sh.rows.some((v) => v !== 0) && sh.cols.some((v) => v !== 0));
  assert.not.equal(sh, (await simulateSample(cj, 6, 3)).params.jitter);
  // clean(jittered) = shift(clean(plain)) in every channel (away from the border).
  for (let c = 0; c < j.channels.length; c++) {
    const ref = shiftTiltSeries(o.clean.slice(c * nA * IMG, (c + 1) * nA * IMG), 32, 32, sh);
    for (let a = 0; a < nA; a++) for (let r = 1; r < 31; r++) for (let u = 1; u < 31; u++) {
      const i = (a * 32 + r) * 32 + u;
      assert.ok(j.clean[c * nA * IMG + i] === ref[i], `channel ${c} tilt ${a} (${r}, ${u})`);
    }
  }
  // Undone with the negated shifts, the clean series matches the unjittered one.
  const undone = shiftTiltSeries(j.clean.slice(0, nA * IMG), 32, 32, { rows: sh.rows.map((v) => -v), cols: sh.cols.map((v) => -v) });
  for (let i = 0; i < nA * IMG; i++) { const r = Math.floor(i / 32) % 32, u = i % 32; if (r > 0 && r < 31 && u > 0 && u < 31) assert.ok(undone[i] === o.clean[i]); }
});

test.run();
