/**
 * Dose efficiency (science.md section 7). A quality-vs-dose curve per method over a log-spaced dose
 * sweep; the dose needed to reach quality q is read off by log-linear interpolation
 *   log D(q) = log d_i + (q - q_i) / (q_{i+1} - q_i) (log d_{i+1} - log d_i)
 * on the first segment that brackets q (no extrapolation: NaN outside the measured range). The
 * dose-reduction factor of method M at quality q is DRF(q) = D_raw(q) / D_M(q). Its uncertainty over
 * test particles is a percentile bootstrap (Efron & Tibshirani 1993): resample the phantoms with
 * replacement, average their curves, recompute the factor.
 */

export interface QualityCurve {
  /** Doses in increasing order (> 0). */
  doses: ArrayLike<number>;
  /** Quality at each dose (higher is better; negate error metrics such as NRMSE). */
  quality: ArrayLike<number>;
}

/** Dose at which the curve reaches quality q (log-linear interpolation); NaN when never bracketed. */
export function doseAtQuality(curve: QualityCurve, q: number): number {
  const { doses, quality } = curve;
  if (doses.length !== quality.length) throw new Error(`dose curve: ${doses.length} doses but ${quality.length} quality values`);
  for (let i = 0; i < doses.length; i++) if (!(doses[i] > 0)) throw new Error(`dose curve: doses must be > 0, got ${doses[i]}`);
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
  if (curves.length === 0) throw new Error('meanCurve: no curves');
  const idx = pick ?? curves.map((_, i) => i);
  const doses = curves[0].doses;
  const quality = new Float64Array(doses.length);
  for (const k of idx) {
    const c = curves[k];
    if (c.doses.length !== doses.length) throw new Error('meanCurve: curves have different dose grids');
    for (let i = 0; i < doses.length; i++) quality[i] += c.quality[i] / idx.length;
  }
  return { doses, quality };
}

export interface UniformSource { uniform(): number }

export interface DrfEstimate { q: number; factor: number; low: number; high: number; resamples: number; valid: number }

/**
 * DRF at quality q from per-phantom curves (raw[k] and method[k] for the same phantom k), with a
 * percentile bootstrap interval at `level` (default 0.95) from `resamples` resamplings drawn with
 * the injected random source (seeded by the caller, so the interval is reproducible).
 */
export function bootstrapDrf(raw: QualityCurve[], method: QualityCurve[], q: number, rng: UniformSource, opts: { resamples?: number; level?: number } = {}): DrfEstimate {
  if (raw.length !== method.length || raw.length === 0) throw new Error(`bootstrapDrf: need the same non-zero number of raw and method curves (${raw.length} vs ${method.length})`);
  const B = opts.resamples ?? 2000, level = opts.level ?? 0.95;
  const factor = doseReductionFactor(meanCurve(raw), meanCurve(method), q);
  const n = raw.length;
  const vals: number[] = [];
  const pick = new Array<number>(n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) pick[i] = Math.floor(rng.uniform() * n);
    const f = doseReductionFactor(meanCurve(raw, pick), meanCurve(method, pick), q);
    if (Number.isFinite(f)) vals.push(f);
  }
  vals.sort((a, b) => a - b);
  const pct = (p: number) => {
    if (vals.length === 0) return NaN;
    const h = (vals.length - 1) * p, lo = Math.floor(h), hi = Math.ceil(h);
    return vals[lo] + (h - lo) * (vals[hi] - vals[lo]);
  };
  const a = (1 - level) / 2;
  return { q, factor, low: pct(a), high: pct(1 - a), resamples: B, valid: vals.length };
}

/** Log-spaced dose sweep from a spec 'lo:hi:n' (e.g. '1e2:1e5:7', endpoints included). */
export function parseDoseSweep(spec: string): number[] {
  const parts = spec.split(':');
  if (parts.length !== 3) throw new Error(`doses: expected 'lo:hi:n' (e.g. 1e2:1e5:7), got '${spec}'`);
  const lo = Number(parts[0]), hi = Number(parts[1]), n = Number(parts[2]);
  if (!(lo > 0) || !(hi >= lo)) throw new Error(`doses: need 0 < lo <= hi, got '${spec}'`);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new Error(`doses: n must be an integer in [1, 100], got '${parts[2]}'`);
  if (n === 1) return [lo];
  return Array.from({ length: n }, (_, i) => Math.exp(Math.log(lo) + (i * (Math.log(hi) - Math.log(lo))) / (n - 1)));
}
