/**
 * summary.json from the result rows: mean quality-vs-dose curves per method, element and metric,
 * and the dose-reduction factor of every method against raw (eval/dose.ts), read on one metric
 * (PSNR by default; error metrics are negated so higher is better), at the quality raw reaches at
 * each dose of the sweep, with a percentile bootstrap 95 % interval over phantoms.
 */
import { stream, type Seed } from '../../core/random.ts';
import { bootstrapDrf, meanCurve, type QualityCurve } from '../dose.ts';
import { doseKey, type ResultRow } from '../harness/results.ts';

/** Metrics where lower is better. */
export const LOWER_IS_BETTER = new Set(['nrmse', 'shell_error']);

/**
 * What each metric is, as a reader of the report needs it: a label, its unit (the plots' axes) and
 * its physical range (error bars are clipped to it). The order is the report's order after the
 * metric the dose-reduction factor is read on, which always comes first.
 */
export const METRICS: Record<string, { label: string; unit: string; min?: number; max?: number; what: string }> = {
  psnr: { label: 'PSNR', unit: 'dB', what: 'reconstruction against the phantom, after a least-squares scale' },
  ssim3d: { label: '3-D SSIM', unit: 'unitless', min: -1, max: 1, what: 'reconstruction against the phantom' },
  nrmse: { label: 'NRMSE', unit: 'relative', min: 0, what: 'reconstruction against the phantom, after a least-squares scale' },
  dice: { label: 'Dice', unit: 'unitless', min: 0, max: 1, what: 'Otsu mask of the reconstruction against the phantom mask' },
  shell_error: { label: 'shell-thickness error', unit: 'nm', min: 0, what: 'equivalent-sphere shell thickness of the core/shell masks, |recon - truth|' },
  map_psnr: { label: 'map PSNR', unit: 'dB', what: 'denoised element maps against the clean expected counts' },
  map_ssim: { label: 'map SSIM', unit: 'unitless', min: -1, max: 1, what: 'denoised element maps against the clean expected counts' },
};

/** Metrics in report order: the headline metric first, then METRICS' order, then any others sorted. */
export function metricOrder(metrics: Iterable<string>, headline: string): string[] {
  const known = Object.keys(METRICS);
  const rank = (m: string) => (m === headline ? -1 : known.includes(m) ? known.indexOf(m) : known.length);
  return [...new Set(metrics)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Dose unit as text for HTML and plots (UTF-8) and for ASCII terminals. */
export const DOSE_UNIT = { text: 'e\u207b/\u00c5\u00b2 per projection', ascii: 'e/A^2 per projection' };

export interface CurveSummary { doses: number[]; mean: number[]; sd: number[]; n: number[] }
/**
 * DRF at the quality q a method reaches at sweep dose `dose`. `bound: 'lower'` when the method is
 * better there than raw at raw's highest evaluated dose (factor = that dose / `dose`, a lower
 * bound; high = Infinity); `bound: 'upper'` when it is worse than raw at raw's lowest dose.
 */
export interface DrfPoint { dose: number; q: number; factor: number; low: number; high: number; bound?: 'lower' | 'upper'; /** Phantoms the curves pair over. */ n?: number }
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
  /** Doses raw was evaluated at: the sweep and the extension above it. */
  rawDoses: number[];
  /** method -> element -> DRF at the method's quality at each sweep dose (bounds where raw's curve does not reach it). */
  drf: Record<string, Record<string, DrfPoint[]>>;
  /** method -> element -> median DRF over the sweep (the headline number), with its interval; see medianPoint for bounds. */
  headline: Record<string, Record<string, DrfPoint | null>>;
  /**
   * The same factors against a reference method instead of raw (Gaussian + SIRT, the classical
   * baseline to beat), for every method but raw and the reference; the reference is evaluated
   * above the sweep too (`doses`), so a method better than it at the top dose can still be read off.
   */
  vsReference?: { method: string; doses: number[]; drf: Record<string, Record<string, DrfPoint[]>>; headline: Record<string, Record<string, DrfPoint | null>> };
  /** How each method reconstructs: `--recon` or its own (a joint method's spec), by method. */
  reconstructions?: Record<string, string>;
  /**
   * A method's warnings (haadf-quant: Au/Pt ill-conditioning, calibration doubts), by method: each
   * distinct message with the doses and the number of (phantom, dose) blocks it was raised on. The
   * report shows them beside the method's rows; its figures are to be read with them.
   */
  warnings?: Record<string, MethodWarning[]>;
  bootstrap: { resamples: number; level: number; seed: string };
  /** Voxel edge in nm when the dataset states it (shell errors are stored in voxels and shown in nm). */
  pixelSizeNm?: number;
}

export interface MethodWarning { message: string; doses: number[]; blocks: number }

export function summarise(rows: ResultRow[], o: { warnings?: Record<string, string[]>; doses: number[]; rawDoses?: number[]; reference?: { method: string; doses: number[] }; reconstructions?: Record<string, string>; methods: string[]; elements: string[]; phantoms: number[]; drfMetric: string; bootstrap: number; seed: Seed; nAngles: number; recon: string; tuning: unknown; split: string; pixelSizeNm?: number }): Summary {
  const rawDoses = o.rawDoses ?? o.doses;
  const ref = o.reference && o.methods.includes(o.reference.method) ? o.reference : undefined;
  /** The doses a method was evaluated at: raw's and the reference's run above the sweep. */
  const dosesOf = (m: string) => (m === 'raw' ? rawDoses : m === ref?.method ? ref.doses : o.doses);
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
        const ds = dosesOf(m);
        const c: CurveSummary = { doses: ds, mean: [], sd: [], n: [] };
        for (const d of ds) {
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
  /** Per-phantom curves of a method, for the phantoms scored at every dose (an element a phantom lacks has no rows). */
  const perPhantom = (m: string, e: string): Map<number, QualityCurve> => {
    const out = new Map<number, QualityCurve>();
    const ds = dosesOf(m);
    for (const p of o.phantoms) {
      const q = ds.map((d) => sign * (idx.get(`${p}|${doseKey(d)}|${m}|${e}|${o.drfMetric}`) ?? NaN));
      if (q.every((v) => Number.isFinite(v))) out.set(p, { doses: ds, quality: q });
    }
    return out;
  };
  const bootSeed = `${String(o.seed)}`;
  /** DRF of every method but the reference against it: D_ref(q) / D_M(q), bounds where the reference's curve does not reach q. */
  const against = (refName: string, streamTag: (m: string, e: string) => string) => {
    const refDoses = dosesOf(refName);
    const drf: Summary['drf'] = {}, headline: Summary['headline'] = {};
    for (const m of o.methods) {
      if (m === 'raw' || m === refName) continue;
      drf[m] = {}; headline[m] = {};
      for (const e of o.elements) {
        // paired over the phantoms both curves cover
        const rawBy = perPhantom(refName, e), methBy = perPhantom(m, e);
        const both = o.phantoms.filter((p) => rawBy.has(p) && methBy.has(p));
        const raw = both.map((p) => rawBy.get(p)!), meth = both.map((p) => methBy.get(p)!);
        const pts: DrfPoint[] = [];
        if (both.length) {
          // q = the method's mean quality at each sweep dose d; DRF = D_ref(q) / D_M(q) (= d for the
          // full sample), both read off the curves; the reference's curve runs above the sweep.
          // meanCurve is what bootstrapDrf interpolates, so q is bit-equal to the method's curve at d
          const rawMean = Array.from(meanCurve(raw).quality), methMean = meanCurve(meth).quality;
          const rawMax = Math.max(...rawMean), rawMin = Math.min(...rawMean);
          o.doses.forEach((d, j) => {
            const q = methMean[j];
            const est = bootstrapDrf(raw, meth, q, stream(bootSeed, j, streamTag(m, e)), { resamples: o.bootstrap });
            if (Number.isFinite(est.factor)) pts.push({ dose: d, q: sign * q, factor: est.factor, low: est.low, high: est.high, n: both.length });
            else if (q > rawMax) { const f = refDoses[refDoses.length - 1] / d; pts.push({ dose: d, q: sign * q, factor: f, low: f, high: Infinity, bound: 'lower', n: both.length }); }
            else if (q < rawMin) { const f = refDoses[0] / d; pts.push({ dose: d, q: sign * q, factor: f, low: 0, high: f, bound: 'upper', n: both.length }); }
          });
        }
        drf[m][e] = pts;
        headline[m][e] = medianPoint(pts);
      }
    }
    return { drf, headline };
  };
  const { drf, headline } = against('raw', (m, e) => `drf|${m}|${e}`);
  const vsReference = ref ? { method: ref.method, doses: ref.doses, ...against(ref.method, (m, e) => `drf-vs-${ref.method}|${m}|${e}`) } : undefined;
  return {
    split: o.split, recon: o.recon, doses: o.doses, rawDoses, nAngles: o.nAngles, doseUnit: 'e/A^2 per projection', methods: o.methods,
    elements: elementsAll, phantoms: o.phantoms, tuning: o.tuning, curves, drfMetric: o.drfMetric, drf, headline,
    bootstrap: { resamples: o.bootstrap, level: 0.95, seed: bootSeed },
    ...(vsReference ? { vsReference } : {}),
    ...(o.reconstructions ? { reconstructions: o.reconstructions } : {}),
    ...(o.warnings && Object.keys(o.warnings).length ? { warnings: groupWarnings(o.warnings, o.methods) } : {}),
    ...(o.pixelSizeNm !== undefined ? { pixelSizeNm: o.pixelSizeNm } : {}),
  };
}

/** Block warnings (blockKey 'phantom|dose|method' -> messages) grouped by method and message, in a fixed order. */
export function groupWarnings(w: Record<string, string[]>, methods: string[]): Record<string, MethodWarning[]> {
  const by = new Map<string, Map<string, { doses: Set<number>; blocks: number }>>();
  for (const [k, msgs] of Object.entries(w)) {
    const a = k.indexOf('|'), b = k.indexOf('|', a + 1);
    const dose = Number(k.slice(a + 1, b)), m = k.slice(b + 1);
    let mm = by.get(m);
    if (!mm) by.set(m, (mm = new Map()));
    for (const msg of new Set(msgs)) {
      let e = mm.get(msg);
      if (!e) mm.set(msg, (e = { doses: new Set(), blocks: 0 }));
      e.doses.add(dose); e.blocks++;
    }
  }
  const out: Record<string, MethodWarning[]> = {};
  for (const m of methods) {
    const mm = by.get(m);
    if (!mm) continue;
    // the most widespread first (the ill-conditioning of a pair is raised on every block)
    out[m] = [...mm.entries()].map(([message, e]) => ({ message, doses: [...e.doses].sort((x, y) => x - y), blocks: e.blocks }))
      .sort((x, y) => y.blocks - x.blocks || (x.message < y.message ? -1 : x.message > y.message ? 1 : 0));
  }
  return out;
}

/**
 * Median of the DRF points over the sweep, with lower bounds (censored from above) at their bound:
 * the result is exact when no lower bound sorts at or below the median position, otherwise it is
 * itself a lower bound of the true median (raising censored values can only raise the median) and
 * is flagged `bound: 'lower'`. Upper-bound points (the method worse than raw at raw's lowest dose)
 * are left out. Null when no point remains.
 */
export function medianPoint(pts: DrfPoint[]): DrfPoint | null {
  const use = pts.filter((p) => p.bound !== 'upper').sort((a, b) => a.factor - b.factor);
  if (use.length === 0) return null;
  const k = Math.floor((use.length - 1) / 2);
  const censored = use.slice(0, k + 1).some((p) => p.bound === 'lower');
  const { bound: _b, ...m } = use[k];
  return censored ? { ...m, bound: 'lower', high: Infinity } : m;
}

/** One DRF point as text: '12.3x [8.1, 20.5]', '>= 31.6x' (a lower bound) or 'n/a'. */
export function formatDrf(p: DrfPoint | null | undefined): string {
  if (!p) return 'n/a (no dose where both curves reach the same quality)';
  const f = (v: number) => (Number.isFinite(v) ? v.toPrecision(3) : 'inf');
  if (p.bound === 'lower') return `>= ${f(p.factor)}x (better than raw at raw's highest evaluated dose)`;
  if (p.bound === 'upper') return `<= ${f(p.factor)}x (worse than raw at raw's lowest dose)`;
  return `${f(p.factor)}x [${p.low > 0 ? f(p.low) : '0'}, ${f(p.high)}]`;
}

const num = (v: number) => (v >= 100 ? Math.round(v).toString() : Number(v.toPrecision(2)).toString());

/** The elements the headline speaks of: single elements (not core/shell pairs), in dataset order. */
export function primaryElements(s: Summary): string[] { return s.elements.filter((e) => !e.includes('/')); }

/**
 * The method that needs the least dose for the same quality: the largest geometric mean of the
 * headline DRFs over the elements (a lower bound counts at its value). Null when no method other
 * than raw has a headline.
 */
export function bestMethod(s: Summary): { method: string; score: number } | null {
  let best: { method: string; score: number } | null = null;
  for (const m of Object.keys(s.headline)) {
    const hs = primaryElements(s).map((e) => s.headline[m]?.[e]).filter((h): h is DrfPoint => !!h);
    if (hs.length === 0) continue;
    const score = Math.exp(hs.reduce((a, h) => a + Math.log(h.factor), 0) / hs.length);
    if (!best || score > best.score) best = { method: m, score };
  }
  return best;
}

/**
 * The report's headline as one plain sentence (plus one on the runner-up): which method needs the
 * least dose for the same quality, by how much per element, with the bootstrap interval in words.
 * `html` marks the method in bold and writes the dose unit with Å.
 */
export function headlineSentence(s: Summary, html = false): string {
  const b = (t: string) => (html ? `<b>${t}</b>` : t);
  const unit = html ? DOSE_UNIT.text : DOSE_UNIT.ascii;
  const M = METRICS[s.drfMetric];
  const quality = M ? `${M.label} (${M.what})` : s.drfMetric;
  const best = bestMethod(s);
  const n = s.phantoms.length;
  if (!best) return `Only raw (no denoising) has a dose-reduction factor to report: no other method reaches a quality raw reaches in this sweep.`;
  const perElement = (m: string) => primaryElements(s).map((e) => {
    const h = s.headline[m]?.[e];
    if (!h) return `for ${e} no factor (the curves never reach the same quality)`;
    if (h.bound === 'lower') return `at least ${num(h.factor)} times less for ${e} (it beats raw even at raw's highest evaluated dose, so only a lower bound is known)`;
    const ci = h.high === Infinity ? `95 % interval from ${num(h.low)} with no upper end: in some resamples raw never reaches that quality` : h.low > 0 ? `95 % interval ${num(h.low)} to ${num(h.high)}` : `95 % interval up to ${num(h.high)} with no lower end`;
    return `${num(h.factor)} times less for ${e} (${ci})`;
  });
  const parts = perElement(best.method);
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0];
  const lead = best.score >= 1
    ? `${b(best.method)} needs the least dose for the same quality: ${list} than raw (no denoising)`
    : `No method needs less dose than raw for the same quality; the closest, ${b(best.method)}, needs ${list.replace(/times less/g, 'times as much (a factor below 1)')} than raw`;
  let text = `${lead}, at equal ${quality}; each factor is the median over the ${s.doses.length} sweep doses (${num(s.doses[0])} to ${num(s.doses[s.doses.length - 1])} ${unit}), with a bootstrap over ${n} test phantom${n === 1 ? '' : 's'}${n < 5 ? ' (few phantoms: the interval is coarse)' : ''}.`;
  // the runner-up, and whether the intervals separate the two
  const others = Object.keys(s.headline).filter((m) => m !== best.method);
  const second = others.map((m) => ({ m, h: primaryElements(s).map((e) => s.headline[m]?.[e]).filter((h): h is DrfPoint => !!h) }))
    .filter((x) => x.h.length).map((x) => ({ m: x.m, score: Math.exp(x.h.reduce((a, h) => a + Math.log(h.factor), 0) / x.h.length) }))
    .sort((a, c) => c.score - a.score)[0];
  if (second) {
    const sep = primaryElements(s).every((e) => {
      const hb = s.headline[best.method]?.[e], hs = s.headline[second.m]?.[e];
      return !hb || !hs || (hs.bound !== 'lower' && hb.low > hs.high);
    });
    text += ` Next is ${b(second.m)} (${num(second.score)} times less on average over the elements); ${sep ? 'the 95 % intervals do not overlap, so the ranking holds' : 'their 95 % intervals overlap, so the two are not clearly separated'}.`;
  }
  // against the classical baseline: the best method other than the reference, by its DRF against it
  const v = s.vsReference;
  if (v) {
    const cands = Object.keys(v.headline).map((m) => ({ m, h: primaryElements(s).map((e) => v.headline[m]?.[e]).filter((h): h is DrfPoint => !!h) }))
      .filter((x) => x.h.length).map((x) => ({ m: x.m, score: Math.exp(x.h.reduce((a, h) => a + Math.log(h.factor), 0) / x.h.length) }))
      .sort((a, c) => c.score - a.score);
    if (cands.length) {
      const m = cands[0].m;
      const parts = primaryElements(s).map((e) => {
        const h = v.headline[m]?.[e];
        if (!h) return `no factor for ${e}`;
        if (h.bound === 'lower') return `at least ${num(h.factor)}x for ${e}`;
        return `${num(h.factor)}x for ${e} (95 % interval ${h.low > 0 ? num(h.low) : '0'} to ${Number.isFinite(h.high) ? num(h.high) : 'open'})`;
      });
      text += ` Against ${b(v.method)} + ${s.recon}, the best is ${b(m)}: ${parts.join(', ')} ${cands[0].score >= 1 ? 'less dose' : 'the dose (a factor below 1: it needs more)'} for the same quality.`;
    }
  }
  return text;
}
