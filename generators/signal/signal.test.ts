import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stream } from '../../core/random.ts';
import { ConfigError } from '../../core/validate.ts';
import { expectedCounts, validateAcquisitionConfig, defaultAcquisitionConfig, dosePerProjection, acquire } from './index.ts';

const elements = [{ symbol: 'Cd', Z: 48 }, { symbol: 'Se', Z: 34 }];
// a disc of projected thickness 20 voxels for Cd, 10 for Se inside pixels 0..49 of 100
const proj = [new Float32Array(100).map((_, i) => (i < 50 ? 20 : 0)), new Float32Array(100).map((_, i) => (i < 50 ? 10 : 0))];

test('counts scale linearly with dose and follow the documented formula', () => {
  const cfg = defaultAcquisitionConfig();
  const e1 = expectedCounts(proj, elements, cfg, 100), e3 = expectedCounts(proj, elements, cfg, 300);
  for (let i = 0; i < e1.length; i++) assert.ok(Math.abs(e3[i] - 3 * e1[i]) <= 1e-5 * Math.abs(e3[i]) + 1e-12);
  // EDX Cd channel inside the particle: D a^3 L Y Omega/4pi at the default 600 e/A^2 = 0.45 counts
  const e = expectedCounts(proj, elements, cfg, 600);
  assert.ok(Math.abs(e[100] - 600 * 8 * 20 * 8.4e-5 * 0.7 / (4 * Math.PI)) < 1e-6);
  assert.ok(e[100] > 0.25 && e[100] < 0.66, `default level ${e[100]}`);
  // HAADF: scattered electrons, N0 (1 - exp(-sum mu_e L_e a)) with mu_e = mu_Au (Z/79)^gamma, far above EDX
  const mu = (Z: number) => cfg.haadfMuAu * (Z / 79) ** 1.7;
  const h = 600 * 4 * -Math.expm1(-(20 * 2 * mu(48) + 10 * 2 * mu(34)));
  assert.ok(Math.abs(e[0] - h) < 1e-4 * h, `${e[0]} vs ${h}`);
  assert.ok(e[0] > 20 * e[100] && e[0] < 600 * 4);
  // a legacy config (it carries haadfEfficiency) keeps the old linear model
  const legacy = validateAcquisitionConfig({ haadfEfficiency: 1e-3 });
  assert.is(legacy.haadfModel, 'linear-legacy');
  const l = expectedCounts(proj, elements, legacy, 600), hl = 600 * 8 * 1e-3 * (20 * 48 ** 1.7 + 10 * 34 ** 1.7);
  assert.ok(Math.abs(l[0] - hl) < 1e-4 * hl);
  assert.equal(e[99], 0);
  // 4.5 sr gives 4.5/0.7 times the EDX counts
  const big = expectedCounts(proj, elements, { ...cfg, solidAngleSr: 4.5 }, 600);
  assert.ok(Math.abs(big[100] / e[100] - 4.5 / 0.7) < 1e-5);
});

test('counts mode fixes the mean counts per pixel inside the particle; background adds a uniform level', () => {
  const cfg = validateAcquisitionConfig({ mode: 'counts', countsInParticle: 0.3 });
  const e = expectedCounts(proj, elements, cfg, 600);
  for (const c of [1, 2]) { let s = 0; for (let i = 0; i < 50; i++) s += e[c * 100 + i]; assert.ok(Math.abs(s / 50 - 0.3) < 1e-6); }
  const b = expectedCounts(proj, elements, { ...cfg, background: 0.05 }, 600);
  assert.ok(Math.abs(b[199] - 0.015) < 1e-7);
});

test('frames: sum of frames is Poisson with the full mean; frames are returned', () => {
  const n = 20000, lam = 0.5;
  const { noisy, frames } = acquire(new Float32Array(n).fill(lam), 15, stream(3, 0, 'noise'), true);
  let s = 0, s2 = 0;
  for (const v of noisy) { s += v; s2 += v * v; }
  const m = s / n, v = s2 / n - m * m;
  assert.ok(Math.abs(m - lam) < 5 * Math.sqrt(lam / n) && Math.abs(v - lam) < 5 * Math.sqrt((lam + 2 * lam * lam) / n), `${m} ${v}`);
  assert.equal(frames!.length, 15 * n);
  let fs = 0; for (let k = 0; k < 15; k++) fs += frames![k * n + 7];
  assert.equal(fs, noisy[7]);
});

test('dose per projection or total; config errors name the field', () => {
  assert.equal(dosePerProjection(validateAcquisitionConfig({ dose: 6000, doseKind: 'total' }), 60), 100);
  assert.equal(dosePerProjection(validateAcquisitionConfig({ dose: 100 }), 60), 100);
  assert.throws(() => validateAcquisitionConfig({ dose: NaN }), (e: Error) => e instanceof ConfigError && /acquisition\.dose/.test(e.message));
  assert.throws(() => validateAcquisitionConfig({ dose: -1 }), /acquisition\.dose/);
  assert.throws(() => validateAcquisitionConfig({ frames: 0 }), /acquisition\.frames/);
  assert.throws(() => validateAcquisitionConfig({ dosse: 1 }), /dosse/);
  assert.throws(() => expectedCounts(proj, elements, defaultAcquisitionConfig(), NaN), /dose/);
});

test.run();
