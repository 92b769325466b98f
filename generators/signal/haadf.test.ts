import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../core/validate.ts';
import { stream } from '../../core/random.ts';
import { simulateSample, validateSimulationConfig } from '../simulate.ts';
import {
  DEFAULT_HAADF_MU_AU, MAX_HAADF_FRACTION, acquire, defaultAcquisitionConfig, electronWavelength, expectedCounts, haadfCoefficients,
  haadfLinearise, incidentElectronsPerPixel, rutherfordAnnularCrossSection, validateAcquisitionConfig,
} from './index.ts';

const Au = { symbol: 'Au', Z: 79 }, Ag = { symbol: 'Ag', Z: 47 };

test('electron wavelength at 200 and 300 kV (tabulated 0.02508 and 0.01969 A)', () => {
  assert.ok(Math.abs(electronWavelength(200) - 0.02508) < 1e-5);
  assert.ok(Math.abs(electronWavelength(300) - 0.01969) < 1e-5);
});

test('Rutherford annular cross-section: closed form equals a numerical integral of d sigma/d Omega over the annulus', () => {
  // Independent quadrature of 2 pi theta dsigma/dOmega, dsigma/dOmega = 4 Z^2 g^2 / (a0^2 k^4 theta^4), midpoint rule in log theta.
  const Z = 79, kV = 300, t1 = 0.06, t2 = 0.2, k = (2 * Math.PI) / electronWavelength(kV), g = 1 + kV / 510.99895, a0 = 0.529177210903;
  let s = 0;
  const n = 20000, l1 = Math.log(t1), dl = (Math.log(t2) - l1) / n;
  for (let i = 0; i < n; i++) {
    const th = Math.exp(l1 + (i + 0.5) * dl);
    s += 2 * Math.PI * th * ((4 * Z * Z * g * g) / (a0 * a0 * k ** 4 * th ** 4)) * th * dl;
  }
  assert.ok(Math.abs(s / rutherfordAnnularCrossSection(Z, kV, t1, t2) - 1) < 1e-6, `${s}`);
  // scales as Z^2 and the default mu_Au is inside the 1e-3 .. 2e-3 per A the issue expects
  assert.ok(Math.abs(rutherfordAnnularCrossSection(47, kV, t1, t2) / rutherfordAnnularCrossSection(79, kV, t1, t2) - (47 / 79) ** 2) < 1e-12);
  assert.ok(DEFAULT_HAADF_MU_AU > 1e-3 && DEFAULT_HAADF_MU_AU < 2e-3, `${DEFAULT_HAADF_MU_AU}`);
});

test('a slab of 10 nm of Au scatters the calibrated fraction 1 - exp(-100 mu_Au) within 1 %', () => {
  const cfg = defaultAcquisitionConfig();
  const a = cfg.pixelSizeAngstrom, L = 100 / a; // 10 nm in voxel lengths
  const e = expectedCounts([new Float32Array(16).fill(L)], [Au], cfg, 300);
  const N0 = incidentElectronsPerPixel(300, a);
  const want = 1 - Math.exp(-100 * DEFAULT_HAADF_MU_AU);
  assert.ok(Math.abs(e[0] / N0 / want - 1) < 0.01, `${e[0] / N0} vs ${want}`);
  // science.md: at 300 e/A^2 and 2 A pixels 10 nm of Au gives on the order of 150 counts, about 8 % shot noise
  assert.ok(e[0] > 80 && e[0] < 200, `${e[0]}`);
});

test('thin limit: linear in thickness and in Z^gamma; the exact form is below the linear one and below N0', () => {
  const cfg = validateAcquisitionConfig({ haadfGamma: 1.6 });
  const N0 = incidentElectronsPerPixel(600, cfg.pixelSizeAngstrom);
  const tiny = [1e-4, 2e-4];
  const eAu = expectedCounts([new Float32Array(tiny)], [Au], cfg, 600), eAg = expectedCounts([new Float32Array(tiny)], [Ag], cfg, 600);
  assert.ok(Math.abs(eAu[1] / eAu[0] - 2) < 1e-3, 'linear in thickness');
  assert.ok(Math.abs(eAg[0] / eAu[0] - (47 / 79) ** 1.6) < 1e-3, 'Z^gamma');
  const mu = haadfCoefficients([Au], cfg)[0];
  for (const L of [1, 10, 100, 1000, 1e5]) {
    const h = expectedCounts([new Float32Array([L])], [Au], cfg, 600)[0];
    assert.ok(h <= N0 && h <= N0 * mu * L * cfg.pixelSizeAngstrom * (1 + 1e-6), `L=${L}: ${h}`);
  }
});

test('50 random phantoms at the highest allowed dose and thickest particles: no pixel exceeds the incident electrons', async () => {
  const dose = 1e8, size = 32;
  // mu_Au as large as the range check allows for this size: the densest path scatters the most permitted
  const pathA = size * 2;
  const muMax = -Math.log(1 - MAX_HAADF_FRACTION) / pathA * 0.999;
  const cfg = validateSimulationConfig({
    phantom: { size, elements: ['Au', 'Pt'], sizeFraction: [0.95, 1], particles: [1, 1], concentration: [1, 1] },
    geometry: { angles: '-60:60:60' },
    acquisition: { dose, haadfMuAu: muMax, background: 0.05 },
  });
  const N0 = incidentElectronsPerPixel(dose, 2);
  let worst = 0;
  for (let i = 0; i < 50; i++) {
    const s = await simulateSample(cfg, 11, i);
    const n = s.clean.length / s.channels.length;
    for (let p = 0; p < n; p++) worst = Math.max(worst, s.clean[p] / N0);
  }
  assert.ok(worst <= 1, `worst pixel holds ${worst} x the incident electrons`);
  assert.ok(worst > 0.3, `the test should reach thick paths, worst ${worst}`);
});

test('noisy HAADF: Poisson mean and variance within 5-sigma bounds; same seed gives identical data', async () => {
  const cfg = defaultAcquisitionConfig();
  const n = 20000, L = 40;
  const e = expectedCounts([new Float32Array(n).fill(L)], [Au], cfg, 300);
  const lam = e[0];
  const { noisy } = acquire(e, 1, stream(5, 0, 'noise'));
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) { s += noisy[i]; s2 += noisy[i] * noisy[i]; }
  const m = s / n, v = s2 / n - m * m;
  assert.ok(Math.abs(m - lam) < 5 * Math.sqrt(lam / n), `mean ${m} vs ${lam}`);
  assert.ok(Math.abs(v - lam) < 5 * lam * Math.sqrt(2 / n), `variance ${v} vs ${lam}`);
  const sim = validateSimulationConfig({ phantom: { size: 32 }, geometry: { angles: '-60:60:60' } });
  const a = await simulateSample(sim, 3, 1), b = await simulateSample(sim, 3, 1);
  assert.equal(Buffer.from(a.noisy.buffer).equals(Buffer.from(b.noisy.buffer)), true);
  assert.equal(Buffer.from(a.clean.buffer).equals(Buffer.from(b.clean.buffer)), true);
});

test('linearisation inverts the scattered fraction: -ln(1 - I/N0) = sum mu_e t_e', () => {
  const cfg = defaultAcquisitionConfig();
  const L = new Float32Array([0, 5, 50, 500]);
  const e = expectedCounts([L], [Au], cfg, 600);
  const N0 = incidentElectronsPerPixel(600, cfg.pixelSizeAngstrom);
  const lin = haadfLinearise(e.subarray(0, 4), N0);
  const mu = haadfCoefficients([Au], cfg)[0];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(lin[i] - mu * L[i] * cfg.pixelSizeAngstrom) < 1e-5 * (1 + lin[i]), `${lin[i]}`);
  // counts above N0 (noise) stay finite
  assert.ok(Number.isFinite(haadfLinearise([N0 + 5], N0)[0]));
});

test('configs that would scatter more than the model allows are refused, naming the field', () => {
  assert.throws(() => validateSimulationConfig({ phantom: { size: 512 }, acquisition: { haadfMuAu: 0.01 } }), (e: Error) => e instanceof ConfigError && e.field === 'acquisition.haadfMuAu' && /densest path/.test(e.message));
  assert.throws(() => validateAcquisitionConfig({ haadfMuAu: -1 }), /acquisition\.haadfMuAu/);
  assert.throws(() => validateAcquisitionConfig({ haadfModel: 'scattered-fraction', haadfEfficiency: 1e-3 }), /acquisition\.haadfEfficiency/);
  assert.throws(() => validateAcquisitionConfig({ haadfModel: 'quadratic' }), /acquisition\.haadfModel/);
  // the defaults at the largest phantom size are accepted
  validateSimulationConfig({ phantom: { size: 512 } });
});

test.run();
