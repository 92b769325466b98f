/**
 * Quantitative HAADF: concentrations of noise-free simulated tilt series (generators' phantoms, Joseph
 * projector, physical HAADF) against the phantom's fractions; the closed-form inversion; the segmentation
 * that keeps the light element; the Au/Pt conditioning; bad inputs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { simulateSample, validateSimulationConfig } from '../../generators/simulate.ts';
import { incidentElectronsPerPixel } from '../../generators/signal/index.ts';
import { otsuThreshold } from '../metrics/index.ts';
import { makeOperator, parseReconSpec, type ChannelReconSpec } from '../recon/reconstruct.ts';
import { quantifyTiltSeries, quantifyVolume, physicalK, erode, dilate, particleThreshold, conditioning, checkQuantElements, parseCalibration, type QuantResult } from './index.ts';

const N = 32;

async function simulate(composition: 'alloy' | 'core-shell') {
  const cfg = validateSimulationConfig({
    phantom: { size: N, elements: ['Au', 'Ag'], classWeights: { sphere: 1 }, coreClassWeights: { sphere: 1 }, composition: { [composition]: 1 }, alloyFraction: [0.3, 0.3], coreScale: [0.55, 0.55], diffuseProbability: 0, sizeFraction: [0.7, 0.7] },
    geometry: { angles: '-90:87:3' },
  });
  const s = await simulateSample(cfg, 1, 0);
  const op = await makeOperator({ angles: s.angles, nz: N, ny: N, nx: N, nCols: N }, 1);
  const plane = s.angles.length * N * N;
  return { s, op, acq: cfg.acquisition, haadf: s.clean.subarray(0, plane), incident: incidentElectronsPerPixel(s.params.dosePerProjection, cfg.acquisition.pixelSizeAngstrom) };
}

/** |c - truth| over the voxels of `region` eroded by `depth`: mean, 95th percentile, count. */
function errors(r: QuantResult, truth: Float32Array[], region: Uint8Array, depth: number, el: number) {
  const inner = erode(region, [N, N, N], depth);
  const e: number[] = [];
  for (let i = 0; i < inner.length; i++) if (inner[i]) e.push(Math.abs(r.concentrations[el][i] - truth[el][i]));
  e.sort((a, b) => a - b);
  return { mean: e.reduce((a, b) => a + b, 0) / e.length, p95: e[Math.floor(0.95 * e.length)], n: e.length };
}

const SIRT = parseReconSpec('sirt:200') as ChannelReconSpec;

test('noise-free alloy: the Au and Ag fractions within 2 % inside the particle (3 voxels from its surface), physical k', async () => {
  const { s, op, acq, haadf, incident } = await simulate('alloy');
  try {
    const k = physicalK(acq.pixelSizeAngstrom, acq.haadfMuAu, acq.haadfGamma);
    const r = await quantifyTiltSeries(op, haadf, { elements: ['Au', 'Ag'], gamma: acq.haadfGamma, calibration: { kind: 'k', k }, recon: SIRT, incident });
    const full = Uint8Array.from(s.volume[0], (v, i) => (v + s.volume[1][i] > 0.999 ? 1 : 0));
    const fAu = s.volume[0][(N / 2) * N * N + (N / 2) * N + N / 2];
    assert.ok(fAu > 0.2 && fAu < 0.8, `an alloy, Au fraction ${fAu}`);
    for (const el of [0, 1]) {
      const e = errors(r, s.volume, full, 3, el);
      assert.ok(e.n > 1000, `interior voxels ${e.n}`);
      assert.ok(e.mean < 0.01 && e.p95 < 0.02, `${['Au', 'Ag'][el]}: mean error ${e.mean.toFixed(4)}, 95th percentile ${e.p95.toFixed(4)}`);
    }
    // full density: c_Au + c_Ag = 1 one voxel in from the particle's surface, at most 1 on its surface layer,
    // 0 beyond it; every value in [0, 1]
    const core = erode(r.mask, [N, N, N], 1), layer = dilate(r.mask, [N, N, N], 1);
    for (let i = 0; i < r.mask.length; i++) {
      const a = r.concentrations[0][i], b = r.concentrations[1][i];
      assert.ok(a >= 0 && a <= 1 && b >= 0 && b <= 1);
      if (core[i]) assert.ok(Math.abs(a + b - 1) < 1e-6);
      else if (layer[i]) assert.ok(a + b <= 1 + 1e-6);
      else assert.ok(a === 0 && b === 0);
    }
    assert.equal(r.warnings, []);
    assert.ok(r.conditioning.amplification > 1.7 && r.conditioning.amplification < 1.72);
  } finally { await op.close?.(); }
});

test('noise-free core-shell: core and shell within 5 % with k from the pure regions alone (the data), and that k within 1 % of the physical one', async () => {
  const { s, op, acq, haadf, incident } = await simulate('core-shell');
  try {
    const r = await quantifyTiltSeries(op, haadf, { elements: ['Au', 'Ag'], gamma: acq.haadfGamma, calibration: { kind: 'pure' }, recon: SIRT, incident });
    const kPhys = physicalK(acq.pixelSizeAngstrom, acq.haadfMuAu, acq.haadfGamma);
    assert.ok(Math.abs(r.calibration.k / kPhys - 1) < 0.01, `k ${r.calibration.k} vs physical ${kPhys}`);
    assert.is(r.calibration.thresholdSource, 'otsu');
    for (const el of [0, 1]) {
      const pure = Uint8Array.from(s.volume[el], (v) => (v > 0.999 ? 1 : 0));
      const e = errors(r, s.volume, pure, 2, el);
      assert.ok(e.n > 50, `${['Au', 'Ag'][el]} region: ${e.n} voxels`);
      assert.ok(e.p95 < 0.05, `${['Au', 'Ag'][el]} region: mean error ${e.mean.toFixed(4)}, 95th percentile ${e.p95.toFixed(4)}`);
    }
    assert.equal(r.warnings, []);
  } finally { await op.close?.(); }
});

test('closed form: v = k (c Z_A^g + (1 - c) Z_B^g) inverts exactly, in the order the elements are given, clipped to [0, 1]', () => {
  const n = 6, shape: [number, number, number] = [n, n, n], g = 1.7, k = 3e-6;
  const v = new Float32Array(n ** 3), c = new Float32Array(n ** 3);
  for (let z = 1, i = 0; z < n - 1; z++) for (let y = 1; y < n - 1; y++) for (let x = 1; x < n - 1; x++) {
    i = (z * n + y) * n + x;
    c[i] = ((x + y + z) % 5) / 4;
    v[i] = k * (c[i] * 79 ** g + (1 - c[i]) * 46 ** g);
  }
  v[(2 * n + 2) * n + 2] = 1.5 * k * 79 ** g; // brighter than pure Au: clipped to 1
  c[(2 * n + 2) * n + 2] = 1;
  const r = quantifyVolume(v, shape, { elements: ['Pd', 'Au'], gamma: g, calibration: { kind: 'k', k }, surface: 'full-density' });
  for (let i = 0; i < v.length; i++) {
    if (!v[i]) { assert.is(r.concentrations[0][i], 0); continue; }
    assert.ok(Math.abs(r.concentrations[1][i] - c[i]) < 1e-5, `Au at ${i}: ${r.concentrations[1][i]} vs ${c[i]}`);
    assert.ok(Math.abs(r.concentrations[0][i] - (1 - c[i])) < 1e-5);
  }
  // composition calibration: the total over the volume at the true mean fraction gives k back
  let sumC = 0, nIn = 0;
  for (let i = 0; i < v.length; i++) if (r.mask[i]) { sumC += Math.min(1, c[i]); nIn++; }
  const v2 = v.slice(); v2[(2 * n + 2) * n + 2] = k * 79 ** g;
  const rc = quantifyVolume(v2, shape, { elements: ['Au', 'Pd'], gamma: g, calibration: parseCalibration('composition:' + sumC / nIn, { firstElement: 'Au' }), threshold: 0, surface: 'full-density' });
  assert.ok(Math.abs(rc.calibration.k / k - 1) < 1e-5, `k ${rc.calibration.k}`);
});

test('segmentation: Otsu alone would cut an Ag shell off an Au core; the lowered threshold keeps it', () => {
  const n = 16, v = new Float32Array(n ** 3), shape: [number, number, number] = [n, n, n];
  const ratio = (47 / 79) ** 1.7;
  for (let z = 0, i = 0; z < n; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++, i++) {
    const r = Math.hypot(x - 7.5, y - 7.5, z - 7.5);
    v[i] = (r < 5.5 ? 1 : r < 7.5 ? ratio : 0) * (1 + 0.03 * Math.sin(i)); // a reconstruction's spread
  }
  const t0 = otsuThreshold(v);
  let lost = 0;
  for (let i = 0; i < v.length; i++) if (v[i] > 0.9 * ratio && v[i] < 1.1 * ratio && v[i] <= t0) lost++;
  assert.ok(t0 > 0.9 * ratio && lost > 200, `Otsu ${t0} cuts into the shell (Ag level ${ratio}): ${lost} shell voxels lost`);
  const { threshold } = particleThreshold(v, ratio);
  assert.ok(threshold < ratio && threshold > 0, `threshold ${threshold}`);
  const r = quantifyVolume(v, shape, { elements: ['Au', 'Ag'], calibration: { kind: 'pure' } });
  let shellOk = 0, shell = 0;
  for (let i = 0; i < v.length; i++) if (v[i] > 0.9 * ratio && v[i] < 1.1 * ratio) { shell++; if (r.mask[i] && r.concentrations[1][i] > 0.9) shellOk++; }
  assert.ok(shell > 500);
  assert.is(shellOk, shell);
});

test('surface: a pure Au sphere with partial-volume voxels reads as Au there (partial-volume), not as an Ag skin (full-density)', () => {
  const n = 16, g = 1.7, k = 1e-6, v = new Float32Array(n ** 3), fill = new Float32Array(n ** 3);
  for (let z = 0, i = 0; z < n; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++, i++) {
    let f = 0; // fraction of the voxel inside a sphere of radius 5.3, 4^3 sub-samples
    for (let s = 0; s < 64; s++) f += Math.hypot(x - 7.5 + ((s & 3) - 1.5) / 4, y - 7.5 + (((s >> 2) & 3) - 1.5) / 4, z - 7.5 + ((s >> 4) - 1.5) / 4) < 5.3 ? 1 / 64 : 0;
    fill[i] = f; v[i] = k * 79 ** g * f;
  }
  const o = { elements: ['Au', 'Ag'], gamma: g, calibration: { kind: 'k' as const, k } };
  const pv = quantifyVolume(v, [n, n, n], o), fd = quantifyVolume(v, [n, n, n], { ...o, surface: 'full-density' });
  const sum = (a: Float32Array) => a.reduce((x, y) => x + y, 0);
  const mass = sum(fill);
  assert.ok(sum(fd.concentrations[1]) > 0.1 * mass, `full density: Ag skin ${sum(fd.concentrations[1])} of ${mass}`);
  assert.ok(sum(pv.concentrations[1]) < 0.01 * mass, `partial volume: Ag ${sum(pv.concentrations[1])} of ${mass}`);
  assert.ok(Math.abs(sum(pv.concentrations[0]) / mass - 1) < 0.02, `Au mass ${sum(pv.concentrations[0])} vs ${mass}`);
});

test('Au/Pt: a warning naming the Z ratio and the noise amplification, not a confident answer', () => {
  const c = conditioning({ symbol: 'Au', Z: 79 }, { symbol: 'Pt', Z: 78 }, 1.7);
  assert.ok(c.illConditioned);
  assert.ok(Math.abs(c.amplification - 1 / (1 - (78 / 79) ** 1.7)) < 1e-9);
  assert.match(c.warning!, /Z ratio 78\/79 = 0\.987/);
  assert.match(c.warning!, /noise amplification x46\.\d/);
  const v = new Float32Array(8 ** 3);
  for (let i = 0; i < v.length; i++) { const x = i % 8, y = (i >> 3) % 8, z = i >> 6; if (x > 1 && x < 6 && y > 1 && y < 6 && z > 1 && z < 6) v[i] = 1 + 0.01 * (i % 3); }
  const r = quantifyVolume(v, [8, 8, 8], { elements: ['Au', 'Pt'], calibration: { kind: 'k', k: 1 / 79 ** 1.7 } });
  assert.ok(r.conditioning.illConditioned);
  assert.match(r.warnings[0], /Au\/Pt is ill-conditioned.*Z ratio 78\/79.*x46\.\d.*use EDX/);
  assert.not.ok(conditioning({ symbol: 'Au', Z: 79 }, { symbol: 'Ag', Z: 47 }, 1.7).illConditioned);
});

test('bad inputs: one element, three, equal Z, unknown symbol, unknown calibration: one clear line naming the field', () => {
  assert.throws(() => checkQuantElements(['Au']), /^elements: quantitative HAADF solves for exactly two elements.*got 1 \(Au\)/);
  assert.throws(() => checkQuantElements(['Au', 'Ag', 'Pd']), /got 3 \(Au, Ag, Pd\): three or more need EDX/);
  assert.throws(() => checkQuantElements([{ symbol: 'Au', Z: 79 }, { symbol: 'Au2', Z: 79 }]), /Au and Au2 have the same Z = 79/);
  assert.throws(() => checkQuantElements(['Au', 'Xx']), /elements\[1\]: unknown element 'Xx'/);
  assert.throws(() => parseCalibration('fancy'), /calibration: must be 'pure', 'physical'/);
  assert.throws(() => parseCalibration('composition:1.5'), /mean fraction .* in \[0, 1\]/);
  assert.throws(() => parseCalibration('physical'), /'physical' needs the HAADF in units of the incident beam/);
  assert.throws(() => quantifyVolume(new Float32Array(7), [2, 2, 2], { elements: ['Au', 'Ag'], calibration: { kind: 'pure' } }), /volume: has 7 values; shape 2 x 2 x 2 needs 8/);
  assert.throws(() => quantifyVolume(Float32Array.of(0, 1, NaN, 0, 0, 0, 0, 0), [2, 2, 2], { elements: ['Au', 'Ag'], calibration: { kind: 'pure' } }), /non-finite value \(NaN at index 2\)/);
});

test.run();
