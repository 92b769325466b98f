import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeOperator, reconstruct } from '../reconstruct.ts';
import { nrmseScaled } from '../../metrics/index.ts';
import { stream } from '../../../core/random.ts';
import { defaultRegularisation, parseJointSpec, type JointTiltSeries } from './index.ts';
import { chooseJointWeight, poissonDeviance, poissonDevianceExpectation, AUTO_WEIGHT_GRID } from './weight.ts';

test('poisson deviance: 0 at mu = b, the closed form elsewhere; its expectation against a Monte Carlo mean and the large-count limit 1 + 1/(6m)', () => {
  assert.is(poissonDeviance([0, 3, 5], [1e-300, 3, 5]), 2e-12);
  const d = poissonDeviance([2, 0], [1, 0.5]);
  assert.ok(Math.abs(d - 2 * (2 * Math.log(2) - 1 + 0.5)) < 1e-12, `${d}`);
  // E[D] for Poisson(m): Monte Carlo with 4e4 draws per mean (standard error ~ 1.5 / sqrt(4e4) < 0.01)
  const rng = stream(9, 'deviance-mc');
  for (const m of [0.05, 0.3, 1, 2.5, 7, 15.9]) {
    let s = 0, s2 = 0; const K = 40000;
    for (let k = 0; k < K; k++) { const b = rng.poisson(m); const v = poissonDeviance([b], [m]); s += v; s2 += v * v; }
    const mean = s / K, se = Math.sqrt((s2 / K - mean * mean) / K);
    assert.ok(Math.abs(poissonDevianceExpectation(m) - mean) < 4 * se + 1e-3, `m ${m}: table ${poissonDevianceExpectation(m)} vs Monte Carlo ${mean} +- ${se}`);
  }
  // continuity at the switch to the expansion, and the limit
  assert.ok(Math.abs(poissonDevianceExpectation(15.999) - poissonDevianceExpectation(16)) < 2e-3);
  assert.ok(Math.abs(poissonDevianceExpectation(400) - 1) < 1e-3);
});

test('weight auto (discrepancy principle): on a simulated core-shell at 0.05, 0.25 and 1 EDX counts per unit length it picks a TV weight within one grid step of the clean-truth best; E[D] is one bound for all candidates; refuses non-count EDX', async () => {
  // 8 slices of a 20^2 core-shell (Au core, Ag shell), 15 tilts, Poisson EDX, Poisson HAADF at N0 = 400
  const nz = 8, n = 20, N0 = 400;
  const geom = { angles: Float64Array.from({ length: 15 }, (_, i) => -70 + i * 10), nz, ny: n, nx: n, nCols: 30 };
  const op = await makeOperator(geom, 1);
  try {
    const core = new Float32Array(nz * n * n), shell = new Float32Array(nz * n * n), c = (n - 1) / 2;
    for (let z = 0; z < nz; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
      const r = Math.hypot(x - c, y - c, (z - (nz - 1) / 2) * 2.2), i = (z * n + y) * n + x;
      if (r < 0.22 * n) core[i] = 1; else if (r < 0.42 * n) shell[i] = 1;
    }
    const truth = [core, shell], mu = [0.05, 0.02];
    const P = await Promise.all(truth.map((v) => op.forward(v)));
    const spec = parseJointSpec('fused:30');
    for (const scale of [0.05, 0.25, 1]) {
      const rng = stream(5, 'weight-test');
      const edx = P.map((p) => p.map((v) => rng.poisson(scale * v)));
      const haadf = P[0].map((v, i) => { const I = rng.poisson(N0 * -Math.expm1(-(mu[0] * v + mu[1] * P[1][i]))); return -Math.log(Math.max(1 - I / N0, 0.5 / N0)); });
      const data: JointTiltSeries = { edx, elements: ['Au', 'Ag'], haadf, haadfWeights: mu, incident: N0 };
      const choice = await chooseJointWeight(op, data, spec);
      // the oracle: the factor whose full-data reconstruction is closest to the truth (mean NRMSE over the elements)
      const err: number[] = [];
      for (const f of AUTO_WEIGHT_GRID) {
        const r = await reconstruct(op, data, { ...spec, regularisation: f * defaultRegularisation(edx, haadf) });
        err.push((nrmseScaled(r.volumes[0], core) + nrmseScaled(r.volumes[1], shell)) / 2);
      }
      const oracle = err.indexOf(Math.min(...err)), picked = AUTO_WEIGHT_GRID.indexOf(choice.factor);
      const msg = `${scale} counts per unit length: picked x${choice.factor} (D / E[D] ${choice.scores.map((s) => (s.deviance / s.expected).toFixed(3)).join(', ')}), oracle x${AUTO_WEIGHT_GRID[oracle]} (NRMSE ${err.map((e) => e.toFixed(4)).join(', ')})`;
      assert.ok(Math.abs(picked - oracle) <= 1, msg);
      // the principle separates: some candidates fit closer than the noise, some worse; one bound for all
      assert.ok(choice.scores.some((s) => s.deviance < s.expected) && choice.scores.some((s) => s.deviance > s.expected), msg);
      assert.ok(choice.scores.every((s) => s.expected === choice.scores[0].expected && s.expected > 0), msg);
      // the deviance grows with the weight (the fit to the data loosens), so the choice is a threshold
      assert.ok(choice.scores.every((s, j) => j === 0 || s.deviance >= choice.scores[j - 1].deviance * (1 - 1e-3)), msg);
      assert.ok(Math.abs(choice.weight - choice.factor * defaultRegularisation(edx, haadf)) < 1e-12);
      console.log(`  ${msg}`);
      if (scale === 0.25) {
        // denoised (non-integer) EDX cannot be thinned
        await chooseJointWeight(op, { ...data, edx: edx.map((b) => b.map((v) => v * 0.7)) }, spec).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /not a count/));
      }
    }
  } finally { await op.close?.(); }
});

test.run();
