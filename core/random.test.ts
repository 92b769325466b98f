import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RandomStream, deriveSeed, logGamma, quaternionToMatrix, stream } from './random.ts';

/** Sample mean and unbiased variance. */
function moments(xs: Float64Array): { mean: number; variance: number } {
  let m = 0;
  for (const x of xs) m += x;
  m /= xs.length;
  let v = 0;
  for (const x of xs) v += (x - m) * (x - m);
  return { mean: m, variance: v / (xs.length - 1) };
}

test('streams are derived per key and reproducible', () => {
  const a = stream(42, 7, 'noise');
  const b = stream(42, 7, 'noise');
  const c = stream(42, 8, 'noise');
  const xa = [a.uniform(), a.uniform(), a.normal()];
  const xb = [b.uniform(), b.uniform(), b.normal()];
  assert.equal(xa, xb);
  assert.not.equal(c.uniform(), xa[0]);
  assert.is.not(deriveSeed(1, 'a'), deriveSeed(1, 'b'));
});

for (const mean of [0.01, 1, 30, 1e4]) {
  test(`poisson(${mean}): mean and variance within 5-sigma bounds`, () => {
    const n = 200_000;
    const r = new RandomStream('poisson-test', mean);
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) xs[i] = r.poisson(mean);
    const { mean: m, variance: v } = moments(xs);
    // Var(sample mean) = mean/n; Var(sample variance) ~ (mu4 - sigma^4)/n = (mean + 2 mean^2)/n.
    assert.ok(Math.abs(m - mean) < 5 * Math.sqrt(mean / n), `mean ${m} vs ${mean}`);
    assert.ok(Math.abs(v - mean) < 5 * Math.sqrt((mean + 2 * mean * mean) / n), `variance ${v} vs ${mean}`);
    for (const x of xs) if (!Number.isInteger(x) || x < 0) assert.unreachable(`non-count ${x}`);
  });
}

test('poisson(30): distribution matches the pmf (chi-square)', () => {
  const mean = 30;
  const n = 100_000;
  const r = new RandomStream('poisson-chi2');
  const counts = new Float64Array(80);
  for (let i = 0; i < n; i++) counts[Math.min(79, r.poisson(mean))]++;
  let chi2 = 0;
  let dof = 0;
  for (let k = 10; k < 55; k++) {
    const p = Math.exp(-mean + k * Math.log(mean) - logGamma(k + 1));
    chi2 += (counts[k] - n * p) ** 2 / (n * p);
    dof++;
  }
  // chi-square with 45 dof: mean 45, sd 9.5; 45 + 5 sd.
  assert.ok(chi2 < dof + 5 * Math.sqrt(2 * dof), `chi2 ${chi2} for ${dof} bins`);
});

for (const [n, p] of [[5, 0.3], [40, 0.5], [1000, 0.2], [100000, 0.7]] as const) {
  test(`binomial(${n}, ${p}): mean and variance within 5-sigma bounds`, () => {
    const N = 100_000;
    const r = new RandomStream('binomial-test', n, p);
    const xs = new Float64Array(N);
    for (let i = 0; i < N; i++) xs[i] = r.binomial(n, p);
    const { mean: m, variance: v } = moments(xs);
    const mu = n * p;
    const s2 = n * p * (1 - p);
    // Fourth central moment of the binomial: s2 (1 + 3 (n - 2) p q) ; Var(s^2) ~ (mu4 - s2^2)/N.
    const mu4 = s2 * (1 + 3 * (n - 2) * p * (1 - p));
    assert.ok(Math.abs(m - mu) < 5 * Math.sqrt(s2 / N), `mean ${m} vs ${mu}`);
    assert.ok(Math.abs(v - s2) < 5 * Math.sqrt((mu4 - s2 * s2) / N), `variance ${v} vs ${s2}`);
    for (const x of xs) if (!Number.isInteger(x) || x < 0 || x > n) assert.unreachable(`out of range ${x}`);
  });
}

test('binomial thinning of Poisson counts gives independent Poisson halves', () => {
  const N = 100_000;
  const lam = 3;
  const p = 0.4;
  const r = new RandomStream('thinning');
  const a = new Float64Array(N);
  const b = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const y = r.poisson(lam);
    a[i] = r.binomial(y, p);
    b[i] = y - a[i];
  }
  const ma = moments(a);
  const mb = moments(b);
  assert.ok(Math.abs(ma.mean - p * lam) < 5 * Math.sqrt((p * lam) / N));
  assert.ok(Math.abs(mb.mean - (1 - p) * lam) < 5 * Math.sqrt(((1 - p) * lam) / N));
  let cov = 0;
  for (let i = 0; i < N; i++) cov += (a[i] - ma.mean) * (b[i] - mb.mean);
  const corr = cov / (N - 1) / Math.sqrt(ma.variance * mb.variance);
  assert.ok(Math.abs(corr) < 5 / Math.sqrt(N), `correlation ${corr}`);
});

test('normal: mean 0, variance 1, kurtosis 3', () => {
  const N = 200_000;
  const r = new RandomStream('normal');
  const xs = new Float64Array(N);
  for (let i = 0; i < N; i++) xs[i] = r.normal();
  const { mean, variance } = moments(xs);
  let k4 = 0;
  for (const x of xs) k4 += x ** 4;
  k4 /= N;
  assert.ok(Math.abs(mean) < 5 / Math.sqrt(N));
  assert.ok(Math.abs(variance - 1) < 5 * Math.sqrt(2 / N));
  assert.ok(Math.abs(k4 - 3) < 5 * Math.sqrt(96 / N));
});

test('rotations are uniform on SO(3)', () => {
  const N = 100_000;
  const r = new RandomStream('rotations');
  let meanAbsW = 0;
  const zBins = new Float64Array(10);
  let sumZx = 0;
  for (let i = 0; i < N; i++) {
    const q = r.rotation();
    assert.ok(Math.abs(Math.hypot(q.w, q.x, q.y, q.z) - 1) < 1e-12);
    meanAbsW += Math.abs(q.w);
    const m = quaternionToMatrix(q);
    // The rotated z axis (third column) is uniform on the sphere: its z component is U(-1, 1).
    const zz = m[8];
    zBins[Math.min(9, Math.floor(((zz + 1) / 2) * 10))]++;
    sumZx += m[2];
  }
  // Uniform unit quaternions: w has density (2/pi) sqrt(1 - w^2), so E|w| = 4 / (3 pi) and E[w^2] = 1/4.
  meanAbsW /= N;
  const e = 4 / (3 * Math.PI);
  assert.ok(Math.abs(meanAbsW - e) < 5 * Math.sqrt(0.25 - e * e) / Math.sqrt(N), `E|w| ${meanAbsW} vs ${e}`);
  let chi2 = 0;
  for (const c of zBins) chi2 += (c - N / 10) ** 2 / (N / 10);
  assert.ok(chi2 < 9 + 5 * Math.sqrt(18), `chi2 of rotated z ${chi2}`);
  assert.ok(Math.abs(sumZx / N) < 5 * Math.sqrt(1 / 3 / N));
});

test('logGamma matches factorials and Gamma(1/2)', () => {
  assert.ok(Math.abs(logGamma(10) - Math.log(362880)) < 1e-12);
  assert.ok(Math.abs(logGamma(300) - 1409.202067470412) < 1e-9);
  assert.ok(Math.abs(logGamma(0.5) - 0.5 * Math.log(Math.PI)) < 1e-12);
  assert.ok(Math.abs(logGamma(3.7) - 1.4280723266653) < 1e-10);
});

test('bad arguments are refused', () => {
  const r = new RandomStream(1);
  assert.throws(() => r.poisson(-1), /mean/);
  assert.throws(() => r.poisson(NaN), /mean/);
  assert.throws(() => r.binomial(3.5, 0.5), /integer/);
  assert.throws(() => r.binomial(3, 1.5), /\[0, 1\]/);
});

test.run();
