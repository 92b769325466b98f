import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { summarise, medianPoint, formatDrf, type DrfPoint } from './summary.ts';
import { extendDoses } from '../harness/run.ts';
import type { ResultRow } from '../harness/results.ts';

const base = { methods: ['raw', 'better', 'best'], elements: ['Au'], phantoms: [0, 1, 2], drfMetric: 'psnr', bootstrap: 200, seed: 1, nAngles: 10, recon: 'sirt:10', tuning: {}, split: 'test' };

/** quality = 10 log10(dose) + offset + per-phantom shift: a method with offset o saves exactly 10^(o/10) in dose. */
function rows(method: string, doses: number[], offset: number, cap = Infinity): ResultRow[] {
  const out: ResultRow[] = [];
  for (const p of base.phantoms) for (const d of doses) out.push({ phantom: p, dose: d, method, element: 'Au', metric: 'psnr', value: Math.min(10 * Math.log10(d) + offset + 0.3 * p, cap + 0.3 * p) });
  return out;
}

test('extendDoses: the sweep plus its log step above the top, up to the given decades', () => {
  const d = [1, 10, 100];
  assert.equal(extendDoses(d, 2).map((v) => +v.toPrecision(6)), [1, 10, 100, 1000, 10000]);
  assert.equal(extendDoses(d, 0), d);
  assert.equal(extendDoses([5], 1).map((v) => +v.toPrecision(6)), [5, 15.8114, 50]);
  assert.throws(() => extendDoses(d, -1), /rawExtraDecades/);
});

test('DRF on curves with a known answer: 5 dB better = 10^0.5 less dose at every sweep dose, read on raw above the sweep', () => {
  const doses = [10, 31.6227766, 100, 316.227766, 1000];
  const rawDoses = extendDoses(doses, 2);
  const s = summarise([...rows('raw', rawDoses, 0), ...rows('better', doses, 5), ...rows('best', doses, 30)], { ...base, doses, rawDoses });
  assert.equal(s.rawDoses, rawDoses);
  assert.is(s.curves.raw.Au.psnr.doses.length, rawDoses.length);
  // 'better': every point exact, factor sqrt(10), the interval collapses (phantoms differ by a constant)
  assert.is(s.drf.better.Au.length, doses.length);
  for (const p of s.drf.better.Au) {
    assert.ok(!p.bound && Math.abs(p.factor - Math.sqrt(10)) < 1e-6, JSON.stringify(p));
    assert.ok(p.low <= p.factor + 1e-9 && p.factor <= p.high + 1e-9);
  }
  assert.ok(Math.abs(s.headline.better.Au!.factor - Math.sqrt(10)) < 1e-6);
  // 'best' saves 1000x: raw's curve (2 decades above a 2-decade sweep) reaches it only at the lowest
  // doses; elsewhere lower bounds, and the median is censored, so the headline is a lower bound.
  const best = s.drf.best.Au;
  assert.ok(best.filter((p) => !p.bound).every((p) => Math.abs(p.factor - 1000) < 1e-3), JSON.stringify(best));
  assert.ok(best.some((p) => p.bound === 'lower'));
  for (const p of best.filter((q) => q.bound === 'lower')) assert.ok(p.factor <= 1000 + 1e-6 && p.high === Infinity);
  assert.is(s.headline.best.Au!.bound, 'lower');
  assert.match(formatDrf(s.headline.best.Au), /^>= /);
});

test('without the extension a method better than raw everywhere gets only bounds; a saturated raw curve too', () => {
  const doses = [10, 100, 1000];
  const s = summarise([...rows('raw', doses, 0, 25), ...rows('better', doses, 10), ...rows('best', doses, 30)], { ...base, doses });
  // raw saturates at 25 dB: 'better' at 1000 (40 dB) is beyond it
  const top = s.drf.better.Au[2];
  assert.is(top.bound, 'lower');
  assert.ok(Math.abs(top.factor - 1) < 1e-9, 'raw top dose / method dose');
});

test('medianPoint: exact when no lower bound sorts at or below the median, else a flagged lower bound', () => {
  const P = (factor: number, bound?: 'lower' | 'upper'): DrfPoint => ({ dose: 1, q: 0, factor, low: factor, high: bound === 'lower' ? Infinity : factor, ...(bound ? { bound } : {}) });
  assert.is(medianPoint([P(2), P(5), P(9, 'lower')])!.factor, 5);
  assert.is(medianPoint([P(2), P(5), P(9, 'lower')])!.bound, undefined);
  const m = medianPoint([P(2, 'lower'), P(5), P(9)])!;
  assert.is(m.factor, 5);
  assert.is(m.bound, 'lower');
  assert.is(medianPoint([P(0.5, 'upper'), P(3)])!.factor, 3);
  assert.is(medianPoint([P(0.5, 'upper')]), null);
  assert.is(medianPoint([]), null);
});

test.run();
