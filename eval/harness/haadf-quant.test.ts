/** haadf-quant alone: one (phantom, dose) of a simulated Au/Ag and Au/Pt core-shell, scored with the harness's metrics. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stream } from '../../core/random.ts';
import { simulateSample, validateSimulationConfig } from '../../generators/simulate.ts';
import { makeOperator, parseReconSpec, type ChannelReconSpec } from '../recon/reconstruct.ts';
import { haadfQuant, haadfAcquisition } from './haadf-quant.ts';

const N = 32;
async function setup(elements: string[]) {
  const config = { simulation: validateSimulationConfig({ phantom: { size: N, elements, classWeights: { sphere: 1 }, coreClassWeights: { sphere: 1 }, composition: { 'core-shell': 1 }, coreScale: [0.6, 0.6], diffuseProbability: 0, sizeFraction: [0.7, 0.7] }, geometry: { angles: '-70:70:4' } }) };
  const s = await simulateSample(config.simulation, 3, 0);
  const op = await makeOperator({ angles: s.angles, nz: N, ny: N, nx: N, nCols: N }, 1);
  const plane = s.angles.length * N * N;
  /** HAADF at dose d: Poisson(clean x d / d0), as the harness draws it. */
  const at = (d: number) => { const rng = stream(7, 0, 'eval-noise-haadf', String(d)), h = new Float32Array(plane); for (let i = 0; i < plane; i++) h[i] = rng.poisson(s.clean[i] * d / s.params.dosePerProjection); return h; };
  return { s, op, at, acquisition: haadfAcquisition(config), elements: s.phantom.elements };
}
const recon = parseReconSpec('sirt:50') as ChannelReconSpec;

test('Au/Ag core-shell: rows per element with the harness metrics; a higher dose scores better; well conditioned', async () => {
  const { s, op, at, acquisition, elements } = await setup(['Au', 'Ag']);
  try {
    const run = (d: number) => haadfQuant({ haadf: at(d), dosePerProjection: d, elements, truth: s.volume, op, recon, acquisition, coreShell: true });
    const hi = await run(3000), lo = await run(3);
    assert.equal(hi.rows.map((r) => `${r.element}:${r.metric}`), ['Au:nrmse', 'Au:psnr', 'Au:ssim3d', 'Au:dice', 'Ag:nrmse', 'Ag:psnr', 'Ag:ssim3d', 'Ag:dice', `${hi.rows.at(-1)!.element}:shell_error`]);
    assert.ok(hi.rows.every((r) => Number.isFinite(r.value)));
    const nrmse = (o: typeof hi, el: string) => o.rows.find((r) => r.element === el && r.metric === 'nrmse')!.value;
    for (const el of ['Au', 'Ag']) {
      assert.ok(nrmse(hi, el) < 0.5, `${el} NRMSE at 3000 e/A^2: ${nrmse(hi, el)}`);
      assert.ok(nrmse(lo, el) > nrmse(hi, el), `${el}: NRMSE at 3 e/A^2 ${nrmse(lo, el)} vs 3000: ${nrmse(hi, el)}`);
    }
    assert.not.ok(hi.quant.conditioning.illConditioned);
    // the physical k (from the acquisition) agrees with the pure-region k at high dose within 5 %
    const ph = await haadfQuant({ haadf: at(3000), dosePerProjection: 3000, elements, truth: s.volume, op, recon, acquisition, calibration: 'physical' });
    assert.ok(Math.abs(ph.quant.calibration.k / hi.quant.calibration.k - 1) < 0.05, `k physical ${ph.quant.calibration.k} vs pure ${hi.quant.calibration.k}`);
  } finally { await op.close?.(); }
});

test('Au/Pt: the volumes come with the ill-conditioning warning (Z ratio, amplification)', async () => {
  const { s, op, at, acquisition, elements } = await setup(['Au', 'Pt']);
  try {
    const o = await haadfQuant({ haadf: at(3000), dosePerProjection: 3000, elements, truth: s.volume, op, recon, acquisition });
    assert.match(o.warnings[0], /Au\/Pt is ill-conditioned.*Z ratio 78\/79 = 0\.987.*x46\.\d/);
    assert.ok(o.quant.conditioning.illConditioned);
  } finally { await op.close?.(); }
});

test('bad inputs: three elements, a missing acquisition', async () => {
  assert.throws(() => haadfAcquisition({}), /config\.simulation: the dataset config has no simulation\.acquisition/);
  const { s, op, at, acquisition } = await setup(['Au', 'Ag']);
  try {
    const three = [{ symbol: 'Au', Z: 79 }, { symbol: 'Ag', Z: 47 }, { symbol: 'Pd', Z: 46 }];
    let err: Error | undefined;
    try { await haadfQuant({ haadf: at(100), dosePerProjection: 100, elements: three, truth: [...s.volume, s.volume[0]], op, recon, acquisition }); } catch (e) { err = e as Error; }
    assert.match(err?.message ?? '', /^elements: quantitative HAADF solves for exactly two elements.*got 3 \(Au, Ag, Pd\): three or more need EDX/);
  } finally { await op.close?.(); }
});

test.run();
