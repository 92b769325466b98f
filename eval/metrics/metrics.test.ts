import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { psnr, ssim, otsuThreshold, scaledScores, dice, shellThickness, lsScale, poissonDeviance } from './index.ts';
import { stream } from '../../core/random.ts';
import { ssimReference } from './ssim-reference.ts';
import { pearson } from './correlation.ts';
import { ssim3d } from './volume.ts';

const fx = JSON.parse(readFileSync(new URL('./fixtures/skimage_metrics.json', import.meta.url), 'utf8'));

test('PSNR and SSIM agree with scikit-image (2D and 3D) to 1e-3', () => {
  assert.ok(fx.cases.length >= 6);
  for (const c of fx.cases) {
    const p = psnr(c.a, c.b, c.dataRange);
    const s = ssim(c.a, c.b, c.shape, c.dataRange);
    assert.ok(Math.abs(p - c.psnr) < 1e-3, `psnr ${p} vs ${c.psnr} (${c.kind} ${c.shape})`);
    assert.ok(Math.abs(s - c.ssim) < 1e-3, `ssim ${s} vs ${c.ssim} (${c.kind} ${c.shape})`);
  }
});

test('SSIM equals the plain per-field formulation to the bit: 2D and 3D, float32 and float64 inputs, sizes from the window up, calls of different sizes interleaved (scratch reuse)', () => {
  const rng = stream('ssim-bit-identity', 1);
  // 90^3: sums larger than the kept scratch (allocated per call); 64^3 and the small ones reuse it
  const shapes = [[64, 64, 64], [20, 17, 9], [7, 7, 7], [90, 90, 90], [64, 64], [13, 29], [7, 7], [64, 64, 64]];
  for (const sh of shapes) {
    const n = sh.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n), b = new Float64Array(n);
    for (let i = 0; i < n; i++) { a[i] = 5 * rng.uniform(); b[i] = a[i] + rng.uniform() - 0.5; }
    assert.is(ssim(a, b, sh, 5), ssimReference(a, b, sh, 5), `shape [${sh}]`);
    assert.is(ssim(b, a, sh, 5, { winSize: 5 }), ssimReference(b, a, sh, 5, 5), `shape [${sh}], window 5`);
  }
  // ssim3d's scaled copy is a kept buffer too: a smaller volume after a larger one scores as alone
  const small = Float32Array.from({ length: 9 ** 3 }, () => rng.uniform());
  const big = Float32Array.from({ length: 12 ** 3 }, () => rng.uniform());
  const alone = ssim3d(small, small.map((v) => v * 0.5), [9, 9, 9]);
  ssim3d(big, big, [12, 12, 12]);
  assert.is(ssim3d(small, small.map((v) => v * 0.5), [9, 9, 9]), alone);
});

test('Pearson r: hand-computed 0.8 for (1,2,3,4) vs (1,3,2,4), +-1 for affine maps, NaN for a constant array', () => {
  // means 2.5; centred (-1.5,-0.5,0.5,1.5) and (-1.5,0.5,-0.5,1.5): sab 4, saa = sbb = 5, r = 4/5
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-15);
  assert.ok(Math.abs(pearson([1, 2, 5, 9], [3, 5, 11, 19]) - 1) < 1e-15);
  assert.ok(Math.abs(pearson([1, 2, 5, 9], [-1, -2, -5, -9]) + 1) < 1e-15);
  assert.ok(Number.isNaN(pearson([1, 2, 3], [4, 4, 4])));
});

test('SSIM of an image with itself is 1 and falls with noise', () => {
  const c = fx.cases[0];
  assert.ok(Math.abs(ssim(c.a, c.a, c.shape, c.dataRange) - 1) < 1e-12);
  assert.ok(ssim(c.a, c.b, c.shape, c.dataRange) < 0.99);
});

test('Otsu threshold agrees with scikit-image', () => {
  for (const o of fx.otsu) {
    const t = otsuThreshold(o.values);
    assert.ok(Math.abs(t - o.threshold) < 1e-9, `otsu ${t} vs ${o.threshold}`);
  }
});

test('least-squares scale removes a global intensity factor', () => {
  const y = Float64Array.from({ length: 100 }, (_, i) => Math.sin(i / 7) + 1);
  const x = y.map((v) => 3.5 * v);
  assert.ok(Math.abs(lsScale(x, y) - 1 / 3.5) < 1e-12);
  const s = scaledScores(x, y);
  assert.ok(s.nrmse < 1e-12);
  const noisy = x.map((v, i) => v + (i % 2 ? 0.35 : -0.35));
  const sn = scaledScores(noisy, y);
  assert.ok(sn.nrmse > 0.05 && sn.nrmse < 0.2, `nrmse ${sn.nrmse}`);
});

test('Dice and shell thickness of concentric spheres', () => {
  const n = 64, R = 24, r = 16;
  const core = new Uint8Array(n * n * n), shell = new Uint8Array(n * n * n);
  for (let z = 0; z < n; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    const d = Math.hypot(x - n / 2 + 0.5, y - n / 2 + 0.5, z - n / 2 + 0.5);
    const i = (z * n + y) * n + x;
    if (d < r) core[i] = 1; else if (d < R) shell[i] = 1;
  }
  const t = shellThickness(core, shell);
  assert.ok(Math.abs(t - (R - r)) < 0.1, `thickness ${t}`);
  assert.is(dice(core, core), 1);
  assert.is(dice(core, shell), 0);
});

test('Poisson deviance: hand-computed value, zero at mu = y, smallest on average at the true mean', () => {
  // 2/3 [ (2 log(2/1) - 1) + (0 - (0 - 0.5)) + (3 log(3/3) - 0) ]
  const want = (2 / 3) * (2 * Math.log(2) - 1 + 0.5);
  assert.ok(Math.abs(poissonDeviance([2, 0, 3], [1, 0.5, 3]) - want) < 1e-12);
  assert.is(poissonDeviance([4, 1, 7], [4, 1, 7]), 0);
  assert.ok(Number.isFinite(poissonDeviance([1], [0])), 'an estimate of 0 where a count was seen stays finite');
  // proper score: held-out counts y ~ Poisson(lambda) with lambda = 0.3 (real EDX levels)
  const rng = stream(5, 'deviance');
  const lambda = 0.3, n = 20000;
  const y = Float64Array.from({ length: n }, () => rng.poisson(lambda));
  const d = (m: number) => poissonDeviance(y, new Float64Array(n).fill(m));
  assert.ok(d(lambda) < d(lambda * 0.8) && d(lambda) < d(lambda * 1.25), `D(0.3)=${d(lambda)} D(0.24)=${d(0.24)} D(0.375)=${d(0.375)}`);
  assert.throws(() => poissonDeviance([1, 2], [1]), /lengths/);
});

test.run();
