/**
 * The pieces of the training schemes against independent truth: binomial thinning gives halves
 * that sum to the counts and are uncorrelated (with a confidence bound), the pairs' scales and
 * frame-count ratios, the fresh-noise input at the drawn dose, the dihedral group, the blind-spot
 * mask (density, window, and exactly zero gradient from a masked pixel's own value), the losses.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { stream } from '../core/random.ts';
import { poissonNoise } from '../generators/signal/noise.ts';
import { initBackend, buildModel, validateModelSpec } from '../models/index.ts';
import { dihedral, dihedralMap } from './augment.ts';
import { applyBlindSpot, blindSpotMask, blindSpotTensor } from './blindspot.ts';
import { packedLoss, pixelLoss } from './losses.ts';
import { makePair, storedCounts, type Projection, type SchemeParams } from './schemes.ts';
import { createLoss } from './losses.ts';
import { InternalError } from '../core/validate.ts';
import { pearson as corr } from '../eval/metrics/correlation.ts';

await initBackend({ backend: 'wasm', quiet: true });

const H = 64, W = 64;
function cleanMap(): Float32Array {
  const c = new Float32Array(H * W);
  for (let r = 0; r < H; r++) for (let k = 0; k < W; k++) c[r * W + k] = Math.hypot(r - 30, k - 34) < 20 ? 2 + (r % 7) * 0.5 : 0.1;
  return c;
}
const params = (scheme: SchemeParams['scheme'], noise: SchemeParams['noise']): SchemeParams => ({ scheme, noise, doseRange: [100, 400], thinning: [0.3, 0.7], frames: 4, floor: 1e-3 });

test('thinned halves sum to the counts and are independent (residual correlation within 4/sqrt(n))', () => {
  const lam = new Float32Array(40000);
  const g = stream(1, 'lam');
  for (let i = 0; i < lam.length; i++) lam[i] = g.uniformIn(0.2, 8);
  const y = Float32Array.from(poissonNoise(lam, stream(1, 'y')));
  const p: Projection = { h: 200, w: 200, noisy: y, dose: 1 };
  for (const pp of [0.3, 0.5, 0.7]) {
    const pair = makePair(p, params('n2n-thinning', 'fixed'), stream(2, pp), { row: 0, col: 0, h: 200, w: 200 }, { p: pp, swap: false });
    const y1 = pair.input.map((v) => v * pair.s);
    const y2 = pair.target.map((v) => (v * pair.s * (1 - pp)) / pp);
    let sumErr = 0, m1 = 0;
    const r1 = new Float64Array(y.length), r2 = new Float64Array(y.length);
    for (let i = 0; i < y.length; i++) {
      sumErr = Math.max(sumErr, Math.abs(Math.round(y1[i]) + Math.round(y2[i]) - y[i]));
      r1[i] = y1[i] - pp * lam[i];
      r2[i] = y2[i] - (1 - pp) * lam[i];
      m1 += y1[i];
    }
    assert.is(sumErr, 0, 'y1 + y2 = y exactly');
    const c = corr(r1, r2);
    const bound = 4 / Math.sqrt(y.length);
    assert.ok(Math.abs(c) < bound, `p=${pp}: residual correlation ${c.toExponential(2)} beyond ${bound.toExponential(2)}`);
    // Mean of y1 = p sum(lambda) within 5 sigma (Poisson(p lambda) total).
    let L = 0;
    for (const v of lam) L += v;
    assert.ok(Math.abs(m1 - pp * L) < 5 * Math.sqrt(pp * L), `sum y1 ${m1} vs ${pp * L}`);
    // Scale: the whole input map's mean (the crop is the whole map here).
    assert.ok(Math.abs(pair.s - m1 / y.length) < 1e-6 * pair.s);
  }
  // Without thinning the halves' residuals would be perfectly correlated: the bound can fail.
  assert.ok(Math.abs(corr(y, y)) > 0.99);
});

test('fresh thinning puts the input half at the drawn dose; the target estimates the same expected counts', () => {
  const clean = cleanMap();
  const p: Projection = { h: H, w: W, clean, dose: 200 };
  const crop = { row: 8, col: 8, h: 32, w: 32 };
  let sumIn = 0, sumTarget = 0, sumLam = 0;
  const R = 60;
  for (let k = 0; k < R; k++) {
    const pair = makePair(p, params('n2n-thinning', 'fresh'), stream(5, k), crop, { dose: 400 });
    for (let i = 0; i < pair.input.length; i++) { sumIn += pair.input[i] * pair.s; sumTarget += pair.target[i] * pair.s; }
  }
  for (let r = 0; r < 32; r++) for (let c = 0; c < 32; c++) sumLam += clean[(8 + r) * W + 8 + c] * 2; // dose 400 / stored 200
  sumLam *= R;
  assert.ok(Math.abs(sumIn - sumLam) < 5 * Math.sqrt(sumLam), `input total ${sumIn} vs expected ${sumLam}`);
  // Target variance is larger (scaled half), bound it generously at 5 sigma of Poisson(lambda (1-q)/q) x (q/(1-q))^2 with q >= 0.3.
  assert.ok(Math.abs(sumTarget - sumLam) < 5 * Math.sqrt(sumLam * (0.7 / 0.3)), `target total ${sumTarget} vs expected ${sumLam}`);
});

test('the whole-map scale from a crop is exact in distribution (fresh) and exact (fixed)', () => {
  const clean = cleanMap();
  let L = 0;
  for (const v of clean) L += v;
  const p: Projection = { h: H, w: W, clean, dose: 100 };
  let sum = 0;
  const R = 200;
  for (let k = 0; k < R; k++) sum += makePair(p, params('supervised', 'fresh'), stream(9, k), { row: 0, col: 0, h: 16, w: 16 }, { dose: 100 }).s * H * W;
  assert.ok(Math.abs(sum - R * L) < 5 * Math.sqrt(R * L), `mean whole-map total ${sum / R} vs ${L}`);
  const y = Float32Array.from(poissonNoise(clean, stream(3)));
  let Y = 0;
  for (const v of y) Y += v;
  const fixed = makePair({ h: H, w: W, clean, noisy: y, dose: 100 }, params('supervised', 'fixed'), stream(1), { row: 5, col: 7, h: 16, w: 16 });
  assert.ok(Math.abs(fixed.s - Y / (H * W)) < 1e-12);
  assert.ok(Math.abs(fixed.input[0] * fixed.s - y[5 * W + 7]) < 1e-5);
  assert.ok(Math.abs(fixed.target[0] * fixed.s - clean[5 * W + 7]) < 1e-5);
});

test('even/odd frame pairs: sums of the halves, target scaled by the frame-count ratio, random swap', () => {
  const clean = cleanMap();
  const F = 5;
  const frames = Array.from({ length: F }, (_, f) => Float32Array.from(poissonNoise(clean, stream(4, f))));
  const p: Projection = { h: H, w: W, frames, dose: 100 };
  const crop = { row: 0, col: 0, h: H, w: W };
  const even = new Float32Array(H * W), odd = new Float32Array(H * W);
  frames.forEach((fr, f) => fr.forEach((v, i) => ((f % 2 ? odd : even)[i] += v)));
  for (const swap of [false, true]) {
    const pair = makePair(p, params('n2n-frames', 'fixed'), stream(1), crop, { swap });
    const [inp, out, nIn, nOut] = swap ? [odd, even, 2, 3] : [even, odd, 3, 2];
    for (const i of [0, 100, 2080, 4095]) {
      assert.ok(Math.abs(pair.input[i] * pair.s - inp[i]) < 1e-4, `input = ${swap ? 'odd' : 'even'} sum`);
      assert.ok(Math.abs((pair.target[i] * pair.s * nOut) / nIn - out[i]) < 1e-4, 'target = other half x n_in/n_out');
    }
    let tot = 0;
    for (const v of inp) tot += v;
    assert.ok(Math.abs(pair.s - tot / (H * W)) < 1e-9);
    assert.ok(Math.abs(pair.dose - (100 * nIn) / F) < 1e-12);
  }
  let swaps = 0;
  for (let k = 0; k < 200; k++) if (makePair(p, params('n2n-frames', 'fixed'), stream(7, k), crop).dose < 60) swaps++;
  assert.ok(swaps > 70 && swaps < 130, `swapped ${swaps} of 200`);
});

test('dihedral transforms: 8 distinct maps forming the group (r^4 = 1, transpose^2 = 1)', () => {
  const n = 5;
  const src = Float32Array.from({ length: n * n }, (_, i) => i);
  const seen = new Set<string>();
  for (let t = 0; t < 8; t++) seen.add(Array.from(dihedralMap(n, t)).join(','));
  assert.is(seen.size, 8);
  let x: Float32Array = src;
  for (let k = 0; k < 4; k++) x = dihedral(x, n, 1);
  assert.equal(Array.from(x), Array.from(src));
  assert.equal(Array.from(dihedral(dihedral(src, n, 4), n, 4)), Array.from(src));
  // t = 1: a 90-degree rotation moves the top-right corner to the top-left.
  assert.is(dihedral(src, n, 1)[0], n - 1);
});

test('blind-spot mask: ~2 % stratified, sources in the 5x5 window, never itself or another masked pixel', () => {
  for (const [h, w] of [[64, 64], [40, 33]]) {
    let masked = 0;
    const R = 20;
    for (let k = 0; k < R; k++) {
      const m = blindSpotMask(h, w, stream(3, h, k));
      masked += m.masked.length;
      for (const i of m.masked) {
        const j = m.src[i];
        assert.ok(j !== i && m.mask[j] === 0, 'source is not itself nor masked');
        assert.ok(Math.abs(Math.floor(i / w) - Math.floor(j / w)) <= 2 && Math.abs((i % w) - (j % w)) <= 2, 'within the 5x5 window');
      }
      for (let i = 0; i < h * w; i++) if (m.mask[i] === 0) assert.is(m.src[i], i);
    }
    const frac = masked / (R * h * w);
    assert.ok(Math.abs(frac - 1 / 49) < 0.004, `masked fraction ${frac}`);
  }
});

test("blind-spot: a masked pixel's output has exactly zero gradient w.r.t. its own input value; others do get gradient", () => {
  const n = 32;
  const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 4, inChannels: 1, outChannels: 1 });
  const model = buildModel(spec);
  const m = blindSpotMask(n, n, stream(11));
  const x = tf.tensor4d(Float32Array.from({ length: n * n }, (_, i) => 1 + Math.sin(i)), [1, n, n, 1]);
  // The JS and tf versions of the operator agree exactly.
  assert.equal(Array.from(blindSpotTensor(x, m).dataSync()), Array.from(applyBlindSpot(x.dataSync() as Float32Array, m)));
  for (const p of Array.from(m.masked).slice(0, 6)) {
    const g = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(model.apply(blindSpotTensor(z as tf.Tensor4D, m)) as tf.Tensor, tf.oneHot([p], n * n).reshape([1, n, n, 1]))))(x);
    const gd = g.dataSync();
    assert.is(gd[p], 0, `d f_${p} / d x_${p} must be exactly 0`);
    assert.ok(Array.from(gd).some((v, i) => i !== p && v !== 0), 'neighbours contribute');
    g.dispose();
  }
  // All outputs together: no masked pixel's value reaches the network at all; unmasked ones do.
  const gAll = tf.grad((z: tf.Tensor) => tf.sum(model.apply(blindSpotTensor(z as tf.Tensor4D, m)) as tf.Tensor))(x).dataSync();
  for (const p of m.masked) assert.is(gAll[p], 0);
  let nonzero = 0;
  for (let i = 0; i < n * n; i++) if (m.mask[i] === 0 && gAll[i] !== 0) nonzero++;
  assert.ok(nonzero > 0.9 * (n * n - m.masked.length), `${nonzero} unmasked pixels get gradient`);
  // Without the operator the masked pixel would see itself.
  const gSelf = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(model.apply(z) as tf.Tensor, tf.oneHot([m.masked[0]], n * n).reshape([1, n, n, 1]))))(x).dataSync();
  assert.ok(gSelf[m.masked[0]] !== 0);
  model.dispose();
  x.dispose();
});

test('losses: weighted per-sample means; Poisson deviance is 0 at f = t and minimised at the mean', () => {
  const t = tf.tensor4d([1, 2, 3, 4, 0, 0, 0, 0], [2, 2, 2, 1]);
  const w = tf.tensor4d([1, 0, 1, 0, 1, 1, 1, 1], [2, 2, 2, 1]);
  const f = tf.tensor4d([2, 2, 2, 2, 1, 1, 1, 1], [2, 2, 2, 1]);
  const y = tf.concat([t, w], 3);
  // sample 0: weighted mean of (1, 1) over pixels 0, 2 = ((2-1)^2 + (2-3)^2)/2 = 1; sample 1: 1. Mean 1.
  assert.ok(Math.abs(packedLoss('mse', y, f).dataSync()[0] - 1) < 1e-6);
  assert.ok(Math.abs(packedLoss('mae', y, f).dataSync()[0] - 1) < 1e-6);
  const d0 = pixelLoss('poisson', tf.tensor1d([0.5, 3]), tf.tensor1d([0.5, 3])).dataSync();
  assert.ok(Math.abs(d0[0]) < 1e-5 && Math.abs(d0[1]) < 1e-5);
  // Targets 0 and 4 (mean 2): the summed Poisson loss is smallest at f = 2.
  const tot = (v: number) => pixelLoss('poisson', tf.tensor1d([v, v]), tf.tensor1d([0, 4])).sum().dataSync()[0];
  assert.ok(tot(2) < tot(1.8) && tot(2) < tot(2.2));
  tf.dispose([t, w, f, y]);
});

test('broken invariants inside training are InternalErrors (a bug: exit 1 with "report it"), not the user\'s mistake', () => {
  const bug = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => e instanceof InternalError && re.test(e.message));
  bug(() => dihedral(new Float32Array(5), 2, 1), /dihedral: patch has 5 values, expected 2 x 2/);
  bug(() => applyBlindSpot(new Float32Array(3), blindSpotMask(8, 8, stream('bug'))), /applyBlindSpot: 3 values, mask is 8x8/);
  bug(() => storedCounts({ h: 2, w: 2, dose: 1 }), /no stored counts/);
  const sp: SchemeParams = { scheme: 'supervised', noise: 'fixed', doseRange: [1, 2], thinning: [0.3, 0.7], frames: 2, floor: 1e-3 };
  bug(() => makePair({ h: 2, w: 2, dose: 1, noisy: new Float32Array(4) }, sp, stream('bug'), { row: 0, col: 0, h: 2, w: 2 }), /supervised training needs the clean/);
  bug(() => createLoss({ kind: 'bogus' as 'mse' }), /unknown loss kind bogus/);
});

test.run();
