import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { doseAtQuality, doseReductionFactor, bootstrapDrf, parseDoseSweep } from './dose.ts';
import { stream } from '../core/random.ts';

const doses = parseDoseSweep('1e2:1e5:7');

test('dose sweep is log-spaced with the endpoints', () => {
  assert.is(doses.length, 7);
  assert.ok(Math.abs(doses[0] - 100) < 1e-9 && Math.abs(doses[6] - 1e5) < 1e-6);
  assert.ok(Math.abs(doses[2] / doses[1] - doses[1] / doses[0]) < 1e-9);
  assert.throws(() => parseDoseSweep('0:10:3'), /doses/);
});

test('log-linear interpolation recovers a known dose-reduction factor', () => {
  // Quality linear in log dose: raw q = 10 log10 d, method q = 10 log10(4 d): exactly 4x less dose.
  const raw = { doses, quality: doses.map((d) => 10 * Math.log10(d)) };
  const m = { doses, quality: doses.map((d) => 10 * Math.log10(4 * d)) };
  for (const q of [27, 30, 35.5, 44]) assert.ok(Math.abs(doseReductionFactor(raw, m, q) - 4) < 1e-9, `q=${q}`);
  assert.ok(Math.abs(doseAtQuality(raw, 30) - 1000) < 1e-6);
  assert.ok(Number.isNaN(doseAtQuality(raw, 10)), 'no extrapolation below the range');
  assert.ok(Number.isNaN(doseAtQuality(raw, 60)), 'no extrapolation above the range');
  // Between grid points of a non-log-linear curve: interpolation is linear in log dose.
  const c = { doses: [10, 1000], quality: [0, 1] };
  assert.ok(Math.abs(doseAtQuality(c, 0.5) - 100) < 1e-9);
});

test('bootstrap interval: collapses when phantoms agree, covers the geometric mean when they differ', () => {
  const rawC = (k: number) => ({ doses, quality: doses.map((d) => 10 * Math.log10(d) + 0.1 * k) });
  const same = Array.from({ length: 8 }, (_, k) => k);
  const r1 = bootstrapDrf(same.map(rawC), same.map((k) => ({ doses, quality: doses.map((d) => 10 * Math.log10(4 * d) + 0.1 * k) })), 35, stream(1, 0, 'bootstrap'), { resamples: 300 });
  assert.ok(Math.abs(r1.factor - 4) < 1e-9 && Math.abs(r1.low - 4) < 1e-9 && Math.abs(r1.high - 4) < 1e-9, JSON.stringify(r1));
  const gains = [2, 3, 4, 6, 8, 3, 5, 4];
  const r2 = bootstrapDrf(same.map(() => rawC(0)), gains.map((g) => ({ doses, quality: doses.map((d) => 10 * Math.log10(g * d)) })), 35, stream(1, 0, 'bootstrap'), { resamples: 500 });
  const geo = Math.exp(gains.reduce((s, g) => s + Math.log(g), 0) / gains.length);
  assert.ok(Math.abs(r2.factor - geo) < 1e-9, `${r2.factor} vs ${geo}`);
  assert.ok(r2.low < geo && geo < r2.high && r2.high - r2.low > 0.3, JSON.stringify(r2));
  assert.ok(r2.low > 2 && r2.high < 8);
  const r3 = bootstrapDrf(same.map(() => rawC(0)), gains.map((g) => ({ doses, quality: doses.map((d) => 10 * Math.log10(g * d)) })), 35, stream(1, 0, 'bootstrap'), { resamples: 500 });
  assert.equal(r3, r2, 'same seed, same interval');
});

test('bootstrap interval with censored resamples: kept at their end of the ordering, that end unbounded', () => {
  const ds = [1, 10, 100];
  // raw's top quality is 20 + s_k: resamples drawing the -6 phantom twice or more never reach q = 20
  const shifts = [2, 2, -6];
  const raw = shifts.map((s) => ({ doses: ds, quality: ds.map((d) => 10 * Math.log10(d) + s) }));
  const meth = shifts.map(() => ({ doses: ds, quality: ds.map((d) => 10 * Math.log10(d) + 10) }));
  const r = bootstrapDrf(raw, meth, 19, stream(2, 0, 'bootstrap'), { resamples: 400 });
  assert.ok(Number.isFinite(r.factor) && r.factor > 1, JSON.stringify(r));
  assert.ok(r.censoredHigh > 0.1 * 400, `${r.censoredHigh} censored resamples expected (about 7 in 27)`);
  assert.is(r.valid + r.censoredHigh + r.censoredLow, 400);
  assert.is(r.high, Infinity, 'the upper end falls among resamples where raw needs more than its top dose');
  assert.ok(r.low < r.factor, `the estimate is inside the interval, not on its end: ${JSON.stringify(r)}`);
  // the other way round: the method cannot reach q in some resamples, so the factor has no lower end
  const rawWide = shifts.map(() => ({ doses: [1, 10, 100, 1000, 10000], quality: [0, 10, 20, 30, 40] }));
  const methShort = shifts.map((s) => ({ doses: ds, quality: ds.map((d) => 10 * Math.log10(d) + 10 + s) }));
  const r2 = bootstrapDrf(rawWide, methShort, 29, stream(2, 0, 'bootstrap'), { resamples: 400 });
  assert.ok(r2.censoredLow > 0.1 * 400 && r2.low === 0 && Number.isFinite(r2.high), JSON.stringify(r2));
});

test.run();
