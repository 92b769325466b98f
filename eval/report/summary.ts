/**
 * summary.json from the result rows: mean quality-vs-dose curves per method, element and metric,
 * and the dose-reduction factor of every method against raw (eval/dose.ts), read on one metric
 * (PSNR by default; error metrics are negated so higher is better), at the quality raw reaches at
 * each dose of the sweep, with a percentile bootstrap 95 % interval over phantoms.
 */
import { stream, type Seed } from '../../generators/common/random.ts';
import { bootstrapDrf, type QualityCurve } from '../dose.ts';
import { doseKey, type ResultRow } from '../harness/results.ts';

/** Metrics where lower is better. */
export const LOWER_IS_BETTER = new Set(['nrmse', 'shell_error']);

export interface CurveSummary { doses: number[]; mean: number[]; sd: number[]; n: number[] }
export interface DrfPoint { dose: number; q: number; factor: number; low: number; high: number }
export interface Summary {
  split: string;
  recon: string;
  doses: number[];
  nAngles: number;
  doseUnit: string;
  methods: string[];
  elements: string[];
  phantoms: number[];
  tuning: unknown;
  curves: Record<string, Record<string, Record<string, CurveSummary>>>; // method -> element -> metric
  drfMetric: string;
  /** method -> element -> DRF at raw's quality at each sweep dose (where both curves reach it). */
  drf: Record<string, Record<string, DrfPoint[]>>;
  /** method -> element -> median DRF over the sweep (the headline number), with its interval. */
  headline: Record<string, Record<string, DrfPoint | null>>;
  bootstrap: { resamples: number; level: number; seed: string };
}

export function summarise(rows: ResultRow[], o: { doses: number[]; methods: string[]; elements: string[]; phantoms: number[]; drfMetric: string; bootstrap: number; seed: Seed; nAngles: number; recon: string; tuning: unknown; split: string }): Summary {
  const idx = new Map<string, number>();
  for (const r of rows) idx.set(`${r.phantom}|${doseKey(r.dose)}|${r.method}|${r.element}|${r.metric}`, r.value);
  const metricsBy = new Map<string, Set<string>>(); // element -> metrics
  for (const r of rows) { if (!metricsBy.has(r.element)) metricsBy.set(r.element, new Set()); metricsBy.get(r.element)!.add(r.metric); }
  const elementsAll = [...o.elements, ...[...metricsBy.keys()].filter((e) => !o.elements.includes(e))];
  const curves: Summary['curves'] = {};
  for (const m of o.methods) {
    curves[m] = {};
    for (const e of elementsAll) {
      curves[m][e] = {};
      for (const metric of metricsBy.get(e) ?? []) {
        const c: CurveSummary = { doses: o.doses, mean: [], sd: [], n: [] };
        for (const d of o.doses) {
          const v = o.phantoms.map((p) => idx.get(`${p}|${doseKey(d)}|${m}|${e}|${metric}`)).filter((x): x is number => x !== undefined && Number.isFinite(x));
          const mean = v.reduce((a, b) => a + b, 0) / (v.length || NaN);
          const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
          c.mean.push(mean); c.sd.push(sd); c.n.push(v.length);
        }
        curves[m][e][metric] = c;
      }
    }
  }
  const sign = LOWER_IS_BETTER.has(o.drfMetric) ? -1 : 1;
  const perPhantom = (m: string, e: string): QualityCurve[] | null => {
    const out: QualityCurve[] = [];
    for (const p of o.phantoms) {
      const q = o.doses.map((d) => sign * (idx.get(`${p}|${doseKey(d)}|${m}|${e}|${o.drfMetric}`) ?? NaN));
      if (q.some((v) => !Number.isFinite(v))) return null;
      out.push({ doses: o.doses, quality: q });
    }
    return out;
  };
  const drf: Summary['drf'] = {}, headline: Summary['headline'] = {};
  const bootSeed = `${String(o.seed)}`;
  for (const m of o.methods) {
    if (m === 'raw') continue;
    drf[m] = {}; headline[m] = {};
    for (const e of o.elements) {
      const raw = perPhantom('raw', e), meth = perPhantom(m, e);
      const pts: DrfPoint[] = [];
      if (raw && meth) {
        const rawMean = o.doses.map((_, j) => raw.reduce((a, c) => a + c.quality[j], 0) / raw.length);
        o.doses.forEach((d, j) => {
          const est = bootstrapDrf(raw, meth, rawMean[j], stream(bootSeed, j, `drf|${m}|${e}`), { resamples: o.bootstrap });
          if (Number.isFinite(est.factor)) pts.push({ dose: d, q: sign * rawMean[j], factor: est.factor, low: est.low, high: est.high });
        });
      }
      drf[m][e] = pts;
      if (pts.length) {
        const sorted = [...pts].sort((a, b) => a.factor - b.factor);
        headline[m][e] = sorted[Math.floor((sorted.length - 1) / 2)];
      } else headline[m][e] = null;
    }
  }
  return {
    split: o.split, recon: o.recon, doses: o.doses, nAngles: o.nAngles, doseUnit: 'e/A^2 per projection', methods: o.methods,
    elements: elementsAll, phantoms: o.phantoms, tuning: o.tuning, curves, drfMetric: o.drfMetric, drf, headline,
    bootstrap: { resamples: o.bootstrap, level: 0.95, seed: bootSeed },
  };
}
