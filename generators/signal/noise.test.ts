import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stream } from '../../core/random.ts';
import { poissonNoise, binomialThin } from './noise.ts';

test('Poisson maps: mean and variance equal the expected counts within confidence bounds', () => {
  for (const lam of [0.05, 0.4, 3, 250]) {
    const n = 40000;
    const y = poissonNoise(new Float32Array(n).fill(lam), stream(1, 0, 'noise-test-' + lam));
    let s = 0, s2 = 0;
    for (const v of y) { s += v; s2 += v * v; }
    const mean = s / n, varc = s2 / n - mean * mean;
    // 5-sigma bounds: sd(mean) = sqrt(lam/n); sd(var) ~ sqrt((lam + 2 lam^2)/n)
    assert.ok(Math.abs(mean - lam) < 5 * Math.sqrt(lam / n), `mean ${mean} vs ${lam}`);
    assert.ok(Math.abs(varc - lam) < 5 * Math.sqrt((lam + 2 * lam * lam) / n), `variance ${varc} vs ${lam}`);
  }
});

test('same seed -> identical noise; different index -> different noise', () => {
  const e = new Float32Array(1000).map((_, i) => (i % 7) * 0.3);
  const a = poissonNoise(e, stream(42, 3, 'noise')), b = poissonNoise(e, stream(42, 3, 'noise')), c = poissonNoise(e, stream(42, 4, 'noise'));
  assert.equal(Array.from(a), Array.from(b));
  assert.not.equal(Array.from(a), Array.from(c));
});

test('thinned halves sum to the original and are independent Poisson(p lambda)', () => {
  const n = 40000, lam = 2, p = 0.5;
  const y = poissonNoise(new Float32Array(n).fill(lam), stream(7, 0, 'noise'));
  const [a, b] = binomialThin(y, p, stream(7, 0, 'thin'));
  let sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    assert.ok(a[i] + b[i] === y[i]);
    sa += a[i]; sb += b[i];
  }
  const ma = sa / n, mb = sb / n;
  for (let i = 0; i < n; i++) { const da = a[i] - ma, db = b[i] - mb; sab += da * db; saa += da * da; sbb += db * db; }
  const corr = sab / Math.sqrt(saa * sbb);
  assert.ok(Math.abs(corr) < 5 / Math.sqrt(n), `correlation of halves ${corr}`);
  assert.ok(Math.abs(ma - p * lam) < 5 * Math.sqrt(p * lam / n), `mean of half ${ma}`);
  assert.ok(Math.abs(saa / n - p * lam) < 5 * Math.sqrt((p * lam + 2 * (p * lam) ** 2) / n), `variance of half ${saa / n}`);
  assert.throws(() => binomialThin([1.5], 0.5, stream(1, 0, 'x')), /integers/);
});

test.run();
