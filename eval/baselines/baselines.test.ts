import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BASELINES, denoiseBaseline, tuneBaseline, tuneBaselineByThinning, parseBaselineSpec, CANDIDATES, expectedAnscombe, inverseAnscombeExact, gaussianFilter } from './index.ts';
import { psnr, valueRange } from '../metrics/index.ts';
import { stream } from '../../core/random.ts';

const h = 64, w = 64;
function cleanMap(scale: number): Float32Array {
  const c = new Float32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const r = Math.hypot(x - 30, y - 34);
    c[y * w + x] = scale * (0.2 + (r < 20 ? 1 - (r / 20) ** 2 : 0) + (Math.abs(x - 48) < 6 && Math.abs(y - 12) < 6 ? 0.8 : 0));
  }
  return c;
}
function noisy(clean: Float32Array, seed: number): Float32Array {
  const rng = stream(seed, 0, 'noise');
  return Float32Array.from(clean, (v) => rng.poisson(v));
}

test('every baseline improves PSNR of a Poisson-noisy map (low and moderate counts)', () => {
  for (const scale of [3, 20]) {
    const clean = cleanMap(scale), n = noisy(clean, scale), R = valueRange(clean);
    const p0 = psnr(clean, n, R);
    for (const m of BASELINES) {
      const p = psnr(clean, denoiseBaseline(m, n, h, w), R);
      assert.ok(p > p0 + 1, `${m} at scale ${scale}: ${p.toFixed(2)} dB vs noisy ${p0.toFixed(2)} dB`);
    }
  }
});

test('Gaussian sigma chosen on validation maps is interior and beats the extremes on test data', () => {
  const pairs = [1, 2, 3].map((s) => { const clean = cleanMap(5); return { clean, noisy: noisy(clean, 100 + s), h, w }; });
  const best = tuneBaseline('gaussian', pairs);
  assert.ok(best.param > 0.5 && best.param < 4, `sigma ${best.param}`);
  const clean = cleanMap(5), test = noisy(clean, 999), R = valueRange(clean);
  const pb = psnr(clean, gaussianFilter(test, h, w, best.param), R);
  assert.ok(pb > psnr(clean, gaussianFilter(test, h, w, 0.5), R) && pb > psnr(clean, gaussianFilter(test, h, w, 4), R));
  // an empty map (an element the particle lacks) scores every sigma as infinite PSNR: it must not decide the choice
  const empty = { clean: new Float32Array(h * w), noisy: new Float32Array(h * w), h, w };
  assert.is(tuneBaseline('gaussian', [empty, ...pairs]).param, best.param);
  assert.throws(() => tuneBaseline('gaussian', [empty]), /no validation pairs with signal/);
});

test('exact unbiased inverse Anscombe: inverse(E[A | lambda]) = lambda, also below 4 counts', () => {
  for (const lam of [0.05, 0.3, 1, 2.5, 4, 10, 45, 100, 400]) {
    const back = inverseAnscombeExact([expectedAnscombe(lam)])[0];
    assert.ok(Math.abs(back - lam) < 2e-3 * Math.max(lam, 1), `lambda ${lam} -> ${back}`);
  }
  // The algebraic inverse is biased at low counts (the reason for the exact one).
  const D = expectedAnscombe(1);
  assert.ok(Math.abs((D / 2) ** 2 - 0.375 - 1) > 0.1);
});

test('bad parameters name the field', () => {
  assert.throws(() => denoiseBaseline('median', new Float32Array(16), 4, 4, 4), /median: size/);
  assert.throws(() => denoiseBaseline('gaussian', new Float32Array(15), 4, 4, 1), /shape/);
});


test('thinning cross-validation picks the parameter an oracle with the clean half-dose map picks (within one candidate)', () => {
  for (const method of ['gaussian', 'tv', 'anscombe'] as const) {
    const clean = cleanMap(4);
    const maps = [0, 1, 2, 3].map((k) => noisy(clean, 100 + k));
    const cv = tuneBaselineByThinning(method, maps, h, w, { seed: 5 });
    // Oracle: the same candidates scored against the true mean at half the counts, on fresh half-dose maps.
    const half = Float32Array.from(clean, (v) => v / 2);
    const oracle = tuneBaseline(method, [0, 1, 2, 3].map((k) => ({ noisy: noisy(half, 200 + k), clean: half, h, w })));
    const c = CANDIDATES[method];
    assert.ok(Math.abs(c.indexOf(cv.param) - c.indexOf(oracle.param)) <= 1, `${method}: cv ${cv.param}, oracle ${oracle.param} (scores ${cv.scores.map((x) => x.toFixed(3)).join(' ')})`);
    assert.ok(cv.scores.some((x) => x > cv.score * 1.01), `${method}: the score must discriminate`);
    assert.equal(tuneBaselineByThinning(method, maps, h, w, { seed: 5 }), cv, 'deterministic');
  }
  assert.throws(() => tuneBaselineByThinning('gaussian', [Float32Array.from({ length: h * w }, () => 0.5)], h, w, { source: 'x.mrc' }), /x\.mrc: projection 0 pixel 0 is 0\.5; .*integer counts.*gaussian:1/);
  assert.equal(parseBaselineSpec('gaussian:1.5'), { method: 'gaussian', param: 1.5 });
  assert.equal(parseBaselineSpec('median'), { method: 'median' });
  assert.throws(() => parseBaselineSpec('median:4'), /odd integer/);
  assert.throws(() => parseBaselineSpec('wiener'), /method: 'wiener' is not one of/);
});

test.run();
