/**
 * Dose efficiency (science.md section 7). A quality-vs-dose curve per method over a log-spaced dose
 * sweep; the dose needed to reach quality q is read off by log-linear interpolation
 *   log D(q) = log d_i + (q - q_i) / (q_{i+1} - q_i) (log d_{i+1} - log d_i)
 * on the first segment that brackets q (no extrapolation: NaN outside the measured range). The
 * dose-reduction factor of method M at quality q is DRF(q) = D_raw(q) / D_M(q). Its uncertainty over
 * test particles is a percentile bootstrap (Efron & Tibshirani 1993): resample the phantoms with
 * replacement, average their curves, recompute the factor.
 */
import { ConfigError } from '../core/validate.ts';

export interface QualityCurve {
  /** Doses in increasing order (> 0). */
  doses: ArrayLike<number>;
  /** Quality at each dose (higher is better; negate error metrics such as NRMSE). */
  quality: ArrayLike<number>;
}

/** Dose at which the curve reaches quality q (log-linear interpolation); NaN when never bracketed. */
export function doseAtQuality(curve: QualityCurve, q: number): number {
  const { doses, quality } = curve;
  if (doses.length !== quality.length) throw new ConfigError('dose curve', `${doses.length} doses but ${quality.length} quality values`);
  for (let i = 0; i < doses.length; i++) if (!(doses[i] > 0)) throw new ConfigError('dose curve', `doses must be > 0, got ${doses[i]}`);
  for (let i = 0; i + 1 < doses.length; i++) {
    const q0 = quality[i], q1 = quality[i + 1];
    if (!Number.isFinite(q0) || !Number.isFinite(q1)) continue;
    if (q === q0) return doses[i];
    if ((q0 < q && q <= q1) || (q1 <= q && q < q0)) {
      const t = (q - q0) / (q1 - q0);
      return Math.exp(Math.log(doses[i]) + t * (Math.log(doses[i + 1]) - Math.log(doses[i])));
    }
  }
  if (doses.length === 1 && quality[0] === q) return doses[0];
  return NaN;
}

/** D_raw(q) / D_M(q); NaN when either curve does not reach q inside its dose range. */
export function doseReductionFactor(raw: QualityCurve, method: QualityCurve, q: number): number {
  return doseAtQuality(raw, q) / doseAtQuality(method, q);
}

/** Point-wise mean of curves sharing one dose grid. */
export function meanCurve(curves: QualityCurve[], pick?: number[]): QualityCurve {
  if (curves.length === 0) throw new ConfigError('meanCurve', 'no curves');
  const idx = pick ?? curves.map((_, i) => i);
  const doses = curves[0].doses;
  const quality = new Float64Array(doses.length);
  for (const k of idx) {
    const c = curves[k];
    if (c.doses.length !== doses.length) throw new ConfigError('meanCurve', 'curves have different dose grids');
    for (let i = 0; i < doses.length; i++) quality[i] += c.quality[i] / idx.length;
  }
  return { doses, quality };
}

export interface UniformSource { uniform(): number }

/**
 * `censoredLow` / `censoredHigh`: resamples whose mean curves do not bracket q, counted at the end of
 * the ordering they are censored towards (see bootstrapDrf); `valid` = finite resamples.
 */
export interface DrfEstimate { q: number; factor: number; low: number; high: number; resamples: number; valid: number; censoredLow: number; censoredHigh: number }

/**
 * Which way D(q) lies outside a curve's dose range when it does not bracket q: +1 above the top
 * dose (q beyond the best quality reached), -1 below the lowest (q below the worst), 0 otherwise.
 */
function outside(c: QualityCurve, q: number): number {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < c.quality.length; i++) { const v = c.quality[i]; if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } }
  if (q > hi) return 1;
  if (q < lo) return -1;
  return 0;
}

/**
 * DRF at quality q from per-phantom curves (raw[k] and method[k] for the same phantom k), with a
 * percentile bootstrap interval at `level` (default 0.95) from `resamples` resamplings drawn with
 * the injected random source (seeded by the caller, so the interval is reproducible).
 *
 * Censoring: a resample whose mean raw curve does not reach q (q above its best quality) needs more
 * than raw's top dose, so its factor is larger than any the sweep can measure; one where the method
 * does not reach q has a smaller factor. Such resamples are kept in the ordering at +inf or -inf
 * rather than dropped: dropping them biases the interval towards the censored side's opposite (the
 * estimate then sits on the interval's end, as in '43.1x [43.1, 85.9]'). An end of the interval that
 * falls among censored resamples is unbounded: low = 0 or high = Infinity. Percentiles are taken
 * without interpolating into an infinite neighbour (the conservative order statistic).
 */
export function bootstrapDrf(raw: QualityCurve[], method: QualityCurve[], q: number, rng: UniformSource, opts: { resamples?: number; level?: number } = {}): DrfEstimate {
  if (raw.length !== method.length || raw.length === 0) throw new ConfigError('bootstrapDrf', `need the same non-zero number of raw and method curves (${raw.length} vs ${method.length})`);
  const B = opts.resamples ?? 2000, level = opts.level ?? 0.95;
  const factor = doseReductionFactor(meanCurve(raw), meanCurve(method), q);
  const n = raw.length;
  const vals: number[] = [];
  let valid = 0, censoredLow = 0, censoredHigh = 0;
  const pick = new Array<number>(n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) pick[i] = Math.floor(rng.uniform() * n);
    const r = meanCurve(raw, pick), m = meanCurve(method, pick);
    const f = doseReductionFactor(r, m, q);
    if (Number.isFinite(f)) { vals.push(f); valid++; continue; }
    // D_raw above its range raises the factor, D_M above its range lowers it
    const dir = (Number.isFinite(doseAtQuality(r, q)) ? 0 : outside(r, q)) - (Number.isFinite(doseAtQuality(m, q)) ? 0 : outside(m, q));
    if (dir > 0) { vals.push(Infinity); censoredHigh++; }
    else if (dir < 0) { vals.push(-Infinity); censoredLow++; }
  }
  vals.sort((a, b) => a - b);
  const pct = (p: number, side: 'low' | 'high') => {
    if (vals.length === 0) return NaN;
    const h = (vals.length - 1) * p, lo = Math.floor(h), hi = Math.ceil(h);
    if (!Number.isFinite(vals[lo]) || !Number.isFinite(vals[hi])) return side === 'low' ? vals[lo] : vals[hi];
    return vals[lo] + (h - lo) * (vals[hi] - vals[lo]);
  };
  const a = (1 - level) / 2;
  return { q, factor, low: Math.max(0, pct(a, 'low')), high: pct(1 - a, 'high'), resamples: B, valid, censoredLow, censoredHigh };
}

/** Log-spaced dose sweep from a spec 'lo:hi:n' (e.g. '1e2:1e5:7', endpoints included). */
export function parseDoseSweep(spec: string): number[] {
  const parts = spec.split(':');
  if (parts.length !== 3) throw new ConfigError('doses', `expected 'lo:hi:n' (e.g. 1e2:1e5:7), got '${spec}'`);
  const lo = Number(parts[0]), hi = Number(parts[1]), n = Number(parts[2]);
  if (!(lo > 0) || !(hi >= lo)) throw new ConfigError('doses', `need 0 < lo <= hi, got '${spec}'`);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new ConfigError('doses', `n must be an integer in [1, 100], got '${parts[2]}'`);
  if (n === 1) return [lo];
  return Array.from({ length: n }, (_, i) => Math.exp(Math.log(lo) + (i * (Math.log(hi) - Math.log(lo))) / (n - 1)));
}
