/** HAADF read noise (mean and variance with confidence bounds, per frame) and alignment jitter (shifts, convention, undo). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stream } from '../../core/random.ts';
import { ConfigError } from '../../core/validate.ts';
import { acquire, addReadNoise, drawTiltShifts, shiftTiltSeries, poissonNoise, validateAcquisitionConfig, defaultAcquisitionConfig } from './index.ts';

const moments = (y: ArrayLike<number>, lo = 0, hi = y.length) => {
  let s = 0, s2 = 0; const n = hi - lo;
  for (let i = lo; i < hi; i++) { s += y[i]; s2 += y[i] * y[i]; }
  const mean = s / n; return { mean, variance: (s2 - n * mean * mean) / (n - 1), n };
};

test('read noise on Poisson counts: mean lambda, variance lambda + sigma^2 + 1/12 (5-sigma bounds)', () => {
  for (const [lam, sigma] of [[500, 20], [60, 3], [2000, 0.5]]) {
    const n = 40000;
    const y = addReadNoise(poissonNoise(new Float32Array(n).fill(lam), stream(4, 0, 'noise')), sigma, stream(4, 0, 'haadf-read-noise'));
    const V = lam + sigma * sigma + 1 / 12;
    const { mean, variance } = moments(y);
    // sd(mean) = sqrt(V/n); sd(sample variance) ~ sqrt((2 V^2 + kappa4)/n), kappa4 = lambda (Poisson).
    assert.ok(Math.abs(mean - lam) < 5 * Math.sqrt(V / n), `lambda ${lam} sigma ${sigma}: mean ${mean.toFixed(3)}`);
    assert.ok(Math.abs(variance - V) < 5 * Math.sqrt((2 * V * V + lam) / n), `lambda ${lam} sigma ${sigma}: variance ${variance.toFixed(2)} vs ${V.toFixed(2)}`);
    assert.ok(variance - lam > 0.5 * sigma * sigma || sigma < 1, 'the read noise is really there');
  }
  assert.throws(() => addReadNoise(new Uint32Array(2), -1, stream(1)), /sigma/);
  const z = addReadNoise(new Uint32Array(1000), 5, stream(1, 'z'));
  assert.ok(z.every((v) => v >= 0 && Number.isInteger(v)), 'clamped to non-negative integers');
});

test('acquire with read noise: only the HAADF prefix changes, per frame (variance lambda + F sigma^2), Poisson draws unchanged', () => {
  const n = 30000, L = 20000, F = 4, lam = 400, sigma = 10;
  const expected = new Float32Array(n).fill(lam);
  const plain = acquire(expected, F, stream(9, 1, 'noise'), true);
  const rn = acquire(expected, F, stream(9, 1, 'noise'), true, { sigma, length: L, rng: stream(9, 1, 'haadf-read-noise') });
  // The EDX part (beyond L) is byte-identical: the read noise has its own stream.
  assert.equal(Buffer.from(rn.noisy.buffer, L * 4).equals(Buffer.from(plain.noisy.buffer, L * 4)), true);
  for (let f = 0; f < F; f++) assert.equal(Buffer.from(rn.frames!.buffer, (f * n + L) * 4, (n - L) * 4).equals(Buffer.from(plain.frames!.buffer, (f * n + L) * 4, (n - L) * 4)), true);
  // noisy = sum of the (read-noisy) frames.
  for (const i of [0, 17, L - 1, L, n - 1]) { let s = 0; for (let f = 0; f < F; f++) s += rn.frames![f * n + i]; assert.equal(s, rn.noisy[i]); }
  const V = lam + F * (sigma * sigma + 1 / 12);
  const { mean, variance } = moments(rn.noisy, 0, L);
  assert.ok(Math.abs(mean - lam) < 5 * Math.sqrt(V / L), `mean ${mean}`);
  assert.ok(Math.abs(variance - V) < 5 * Math.sqrt((2 * V * V + lam) / L), `variance ${variance.toFixed(1)} vs ${V.toFixed(1)}`);
  // Single frame too; sigma 0 is a no-op.
  const one = acquire(expected, 1, stream(9, 2, 'noise'), false, { sigma: 0, length: L, rng: stream(9, 2, 'r') });
  assert.equal(Buffer.from(one.noisy.buffer).equals(Buffer.from(acquire(expected, 1, stream(9, 2, 'noise')).noisy.buffer)), true);
});

test('jitter shifts: in {-1, 0, 1}, all nine (dr, dc) pairs occur, deterministic by seed', () => {
  const a = drawTiltShifts(300, 1, stream(3, 7, 'jitter'));
  const b = drawTiltShifts(300, 1, stream(3, 7, 'jitter'));
  const c = drawTiltShifts(300, 1, stream(3, 8, 'jitter'));
  assert.equal(a, b);
  assert.not.equal(a, c);
  assert.ok([...a.rows, ...a.cols].every((v) => v === -1 || v === 0 || v === 1));
  const pairs = new Set(a.rows.map((r, i) => `${r},${a.cols[i]}`));
  assert.equal(pairs.size, 9);
  // Each value about 1/3 of the time (5-sigma binomial bound).
  for (const v of [-1, 0, 1]) {
    const k = a.rows.filter((x) => x === v).length;
    assert.ok(Math.abs(k - 100) < 5 * Math.sqrt(300 * (1 / 3) * (2 / 3)), `rows = ${v}: ${k} of 300`);
  }
  assert.equal(drawTiltShifts(5, 0, stream(1)), { rows: [0, 0, 0, 0, 0], cols: [0, 0, 0, 0, 0] });
});

test('shiftTiltSeries: shifted[r][c] = image[r - dr][c - dc], zero fill; the negated shifts undo it inside the border', () => {
  const nA = 3, R = 5, C = 6;
  const ts = Float32Array.from({ length: nA * R * C }, (_, i) => i + 1);
  const sh = { rows: [1, -1, 0], cols: [-1, 0, 1] };
  const out = shiftTiltSeries(ts, R, C, sh);
  for (let a = 0; a < nA; a++) for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) {
    const rs = r - sh.rows[a], cs = c - sh.cols[a];
    const want = rs >= 0 && rs < R && cs >= 0 && cs < C ? ts[(a * R + rs) * C + cs] : 0;
    assert.equal(out[(a * R + r) * C + c], want, `tilt ${a} (${r}, ${c})`);
  }
  const back = shiftTiltSeries(out, R, C, { rows: sh.rows.map((v) => -v), cols: sh.cols.map((v) => -v) });
  for (let a = 0; a < nA; a++) for (let r = 1; r < R - 1; r++) for (let c = 1; c < C - 1; c++) assert.equal(back[(a * R + r) * C + c], ts[(a * R + r) * C + c]);
  assert.throws(() => shiftTiltSeries(ts, R, C + 1, sh), /expected/);
});

test('acquisition config: readNoise and jitter optional (absent from the defaults), validated with the field name', () => {
  assert.equal('readNoise' in defaultAcquisitionConfig(), false);
  assert.equal('jitter' in defaultAcquisitionConfig(), false);
  const c = validateAcquisitionConfig({ readNoise: 4.5, jitter: 1 });
  assert.equal([c.readNoise, c.jitter], [4.5, 1]);
  assert.throws(() => validateAcquisitionConfig({ readNoise: -1 }), (e: Error) => e instanceof ConfigError && /acquisition\.readNoise/.test(e.message));
  assert.throws(() => validateAcquisitionConfig({ jitter: 0.5 }), /acquisition\.jitter.*integer/);
  assert.throws(() => validateAcquisitionConfig({ jitter: 9 }), /acquisition\.jitter/);
});

test.run();
