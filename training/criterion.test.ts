/**
 * The held-out thinned-half criterion (training/criterion.ts) against truth: the halves are
 * independent Poisson(lambda / 2) (means and the covariance within confidence bounds); the
 * deviance ranks estimators as their Poisson KL distance to the expected counts does: choosing a
 * Gaussian filter's sigma by it picks (within one grid step, 2 % of KL) the sigma closest to the truth.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stream } from '../core/random.ts';
import { poissonNoise } from '../generators/signal/noise.ts';
import { gaussianFilter } from '../eval/baselines/index.ts';
import { psnr, valueRange } from '../eval/metrics/index.ts';
import { HELDOUT_FRACTION, heldoutDeviance, heldoutSplit, isCounts } from './criterion.ts';
import { applicabilityWarnings } from '../models/normalise.ts';

test('heldoutSplit: halves sum to the counts, each Poisson(lambda / 2), uncorrelated (4 sigma bounds)', () => {
  const n = 200000, lam = 3;
  const y = poissonNoise(new Float32Array(n).fill(lam), stream('crit', 1));
  const { input, heldout } = heldoutSplit(y, stream('crit', 2));
  let ma = 0, mb = 0, cab = 0;
  for (let i = 0; i < n; i++) {
    assert.is(input[i] + heldout[i], y[i]);
    ma += input[i];
    mb += heldout[i];
  }
  ma /= n; mb /= n;
  for (let i = 0; i < n; i++) cab += (input[i] - ma) * (heldout[i] - mb);
  cab /= n;
  const se = Math.sqrt(lam / 2 / n);
  assert.ok(Math.abs(ma - lam / 2) < 4 * se && Math.abs(mb - lam / 2) < 4 * se, `means ${ma}, ${mb}`);
  // Independent halves: covariance 0 (its standard error is lambda/2 / sqrt(n)).
  assert.ok(Math.abs(cab) < (4 * lam) / 2 / Math.sqrt(n), `covariance ${cab}`);
  assert.throws(() => heldoutSplit([1.5], stream('x')), /integer counts/);
  assert.throws(() => heldoutSplit([1], stream('x'), 1), /input fraction/);
  assert.not.ok(isCounts([1, 0.5]));
});

test('heldoutSplit at the criterion\'s input fraction p: parts Poisson(p lambda) and Poisson((1 - p) lambda) (mean = variance), uncorrelated (4 sigma bounds)', () => {
  const n = 200000, lam = 2.5, p = HELDOUT_FRACTION;
  const y = poissonNoise(new Float32Array(n).fill(lam), stream('crit', 5));
  const { input, heldout } = heldoutSplit(y, stream('crit', 6), p);
  const m = (a: Float32Array) => a.reduce((x, v) => x + v, 0) / n;
  const v = (a: Float32Array, mu: number) => a.reduce((x, t) => x + (t - mu) ** 2, 0) / n;
  const ma = m(input), mb = m(heldout);
  let cab = 0;
  for (let i = 0; i < n; i++) cab += (input[i] - ma) * (heldout[i] - mb);
  cab /= n;
  for (const [mean, varc, want] of [[ma, v(input, ma), p * lam], [mb, v(heldout, mb), (1 - p) * lam]]) {
    assert.ok(Math.abs(mean - want) < 4 * Math.sqrt(want / n), `mean ${mean} vs ${want}`);
    // Var of the sample variance of a Poisson(m): (m + 2 m^2) / n (fourth central moment m + 3 m^2).
    assert.ok(Math.abs(varc - want) < 4 * Math.sqrt((want + 2 * want * want) / n), `variance ${varc} vs ${want}`);
  }
  assert.ok(Math.abs(cab) < (4 * Math.sqrt(p * (1 - p)) * lam) / Math.sqrt(n), `covariance ${cab}`);
});

test('selecting a Gaussian sigma by the held-out deviance picks the estimate closest to the truth in Poisson KL', () => {
  const H = 96, W = 96;
  const lam = new Float32Array(H * W);
  for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    const r = Math.hypot(i - 48, j - 44);
    lam[i * W + j] = r < 30 ? 1.2 + (r < 12 ? 1.5 : 0) : 0.02;
  }
  const y = poissonNoise(lam, stream('crit', 3));
  const { input, heldout } = heldoutSplit(y, stream('crit', 4));
  const half = lam.map((v) => v / 2);
  const R = valueRange(half);
  const sigmas = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.5, 4, 6];
  // Truth the criterion estimates: the expected deviance against the truth, sum d(lambda/2, est) (KL up to a constant).
  const kl = (est: Float32Array) => {
    let t = 0;
    for (let i = 0; i < est.length; i++) {
      const m = Math.max(est[i], 1e-6), l = half[i];
      t += (l > 0 ? l * Math.log(l / m) : 0) - (l - m);
    }
    return t;
  };
  const rows = sigmas.map((s) => {
    const est = gaussianFilter(input, H, W, s);
    return { s, dev: heldoutDeviance(heldout, est), kl: kl(est), psnr: psnr(half, est, R) };
  });
  const byDev = rows.reduce((a, b) => (b.dev < a.dev ? b : a));
  const byKl = rows.reduce((a, b) => (b.kl < a.kl ? b : a));
  const byPsnr = rows.reduce((a, b) => (b.psnr > a.psnr ? b : a));
  console.log(`  held-out deviance picks sigma ${byDev.s} (${byDev.psnr.toFixed(2)} dB); true-KL best ${byKl.s}; clean-PSNR best ${byPsnr.s} (${byPsnr.psnr.toFixed(2)} dB)`);
  assert.ok(Math.abs(sigmas.indexOf(byDev.s) - sigmas.indexOf(byKl.s)) <= 1, `deviance picks sigma ${byDev.s}, the true-KL optimum is ${byKl.s}`);
  assert.ok(byDev.kl <= 1.02 * byKl.kl, `KL of the pick ${byDev.kl} vs best ${byKl.kl}`);
  // The raw input (sigma 0) scores worse than the chosen filter: the criterion sees denoising.
  assert.ok(heldoutDeviance(heldout, input) > byDev.dev);
});

test('applicabilityWarnings: untrained channel and count levels outside the trained range', () => {
  const meta = { channels: ['Au', 'Ag'], countLevels: { Au: [0.1, 1] as [number, number], Ag: [0.1, 1] as [number, number] } };
  assert.equal(applicabilityWarnings(meta, ['Au'], [0.5]), []);
  assert.match(applicabilityWarnings(meta, ['Au'], [5])[0], /outside the 0.100-1.00/);
  assert.match(applicabilityWarnings(meta, ['Pd'], [0.5])[0], /not Pd/);
});

test.run();
