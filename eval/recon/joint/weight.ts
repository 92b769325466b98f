/**
 * Choosing the TV (fused) or TNV weight on the data itself, with no ground truth: the discrepancy
 * principle for Poisson data (Bertero, Boccacci, Talenti, Zanella & Zanni 2010, Inverse Problems 26, 105004,
 * doi:10.1088/0266-5611/26/10/105004). For counts b ~ Poisson(mu) the deviance
 *   D = 2 sum_i [ b_i ln(b_i / mu_i) - (b_i - mu_i) ]
 * has expectation E[D] = sum_i d(mu_i), d(m) = E_{k ~ Poisson(m)} 2 [k ln(k / m) - (k - m)] (d -> 1 + 1/(6m) for
 * large m, as the paper uses it; at the few counts per pixel of EDX d is well below 1, so here it is
 * evaluated exactly: poissonDevianceExpectation). A reconstruction that fits its EDX closer than the
 * noise allows (D < E[D]) has fitted noise; one that fits worse has smoothed away signal. Over a grid of
 * factors on the data-scaled default weight (defaultRegularisation), reconstruct the full data at each,
 * compute D over every element's tilt series at its forward projections mu_e = P u_e, and take the
 * largest factor with D <= E[D] (the smallest if none, the largest if all). E[D] depends on the true
 * means; it is evaluated once, at the least-regularised candidate's projections (the closest fit to the
 * data), not at each candidate's own: an over-smoothed fit spreads counts onto empty rays, where a mean
 * mu adds 2 mu ln(1/mu) to E[D] but only 2 mu to D, so E[D] at the candidate's own means grew faster than
 * D and the rule kept choosing larger weights (on weight.test.ts's core-shell at 0.05, 0.25 and 1 counts
 * per unit length it chose 3-30x the clean-truth best; with the fixed E[D] it chooses the best itself).
 * Cost: one reconstruction per grid factor at the spec's iteration count.
 * Measured (weight.test.ts): on a simulated core-shell at three count levels the choice is the
 * clean-truth best of the grid or one step from it. Held-out prediction (a binomial-thinning split of the counts, or even/odd tilts,
 * scored by the held-out deviance) picked the smallest weight of the grid on the same sample: it
 * rewards matching the projections, including TV's loss of contrast in them, not the volume.
 */
import type { ProjectionOperator } from '../operator.ts';
import type { Progress } from '../../../core/progress.ts';
import { defaultRegularisation, type JointSpec, type JointTiltSeries, type JointVolumes } from './index.ts';
import { reconstruct } from '../reconstruct.ts';
import { ConfigError } from '../../../core/validate.ts';

/** Candidate factors on the default weight (the evaluation's tuning grid for fused and TNV). */
export const AUTO_WEIGHT_GRID: readonly number[] = [1 / 10, 1 / 3, 1, 3, 10, 30];

export interface WeightChoice {
  /** The chosen factor and its weight (factor x defaultRegularisation(EDX, HAADF)). */
  factor: number;
  weight: number;
  /** Deviance D and its expectation E[D] per candidate (all elements summed). */
  scores: { factor: number; weight: number; deviance: number; expected: number }[];
  /** The reconstruction at the chosen weight (so the caller need not run it again). */
  result: JointVolumes;
}

/** Poisson deviance 2 sum [b ln(b / mu) - (b - mu)] of counts b against means mu (mu floored at 1e-12). */
export function poissonDeviance(b: ArrayLike<number>, mu: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    const m = Math.max(mu[i], 1e-12), x = b[i];
    d += x > 0 ? x * Math.log(x / m) - (x - m) : m;
  }
  return 2 * d;
}

/** d(m) = E[2 (k ln(k/m) - (k - m))], k ~ Poisson(m), by the series (terms until the tail is below 1e-12). */
function devianceExpectationSeries(m: number): number {
  if (!(m > 0)) return 0;
  let s = 0, p = Math.exp(-m), cum = p;
  s += p * 2 * m;
  for (let k = 1; k < 200 + 20 * m && 1 - cum > 1e-12; k++) { p *= m / k; cum += p; s += p * 2 * (k * Math.log(k / m) - (k - m)); }
  return s;
}

// d(m) tabulated on m = (i / 100)^2, m <= 16 (the exact series), beyond it 1 + 1/(6m) + 1/(6m^2) (its expansion)
const TAB_N = 401, TAB = Float64Array.from({ length: TAB_N }, (_, i) => devianceExpectationSeries((i / 100) ** 2));

/** E[D] for one count of mean m (tabulated exact series below m = 16, asymptotic expansion above). */
export function poissonDevianceExpectation(m: number): number {
  if (!(m > 0)) return 0;
  if (m >= 16) return 1 + 1 / (6 * m) + 1 / (6 * m * m);
  const t = Math.sqrt(m) * 100, i = Math.floor(t), f = t - i;
  return TAB[i] * (1 - f) + TAB[Math.min(i + 1, TAB_N - 1)] * f;
}

/** Throws unless every EDX value is a non-negative integer count (what the discrepancy principle models). */
export function checkEdxCounts(edx: Float32Array[], elements: string[]): void {
  edx.forEach((b, e) => {
    for (let i = 0; i < b.length; i++) if (!(b[i] >= 0) || Math.abs(b[i] - Math.round(b[i])) > 1e-3) {
      throw new ConfigError('weight', `auto: EDX ${elements[e]} value ${b[i]} at index ${i} is not a count; the discrepancy principle needs raw (integer, >= 0) EDX counts, not denoised or scaled maps`);
    }
  });
}

/**
 * The weight for `spec` (fused or tnv) on `data` by the discrepancy principle over `grid` (factors on the
 * default). Deterministic (no random split).
 */
export async function chooseJointWeight(op: ProjectionOperator, data: JointTiltSeries, spec: JointSpec, o: { grid?: readonly number[]; progress?: Progress; workers?: number } = {}): Promise<WeightChoice> {
  if (spec.kind === 'bimodal') throw new ConfigError('weight', "auto with bimodal: bimodal has no TV/TNV weight to choose (its alpha is a data-term balance); allowed with fused or tnv");
  if (data.edx.length === 0) throw new ConfigError('weight', 'auto with no EDX tilt series: the discrepancy is measured on them; give the element channels');
  const grid = [...(o.grid ?? AUTO_WEIGHT_GRID)].sort((a, b) => a - b);
  if (grid.length < 2 || grid.some((f) => !(f > 0) || !Number.isFinite(f))) throw new ConfigError('weight.grid', `got ${grid.join(', ')}; need at least 2 finite factors > 0`);
  checkEdxCounts(data.edx, data.elements);
  const base = defaultRegularisation(data.edx, data.haadf, spec.kind), mu = new Float32Array(op.tiltSeriesSize);
  const scores: WeightChoice['scores'] = [], results: JointVolumes[] = [];
  for (const f of grid) {
    const r = await reconstruct(op, data, { ...spec, regularisation: f * base }, { workers: o.workers });
    let D = 0, E = 0;
    const first = scores.length === 0;
    for (let e = 0; e < r.volumes.length; e++) {
      await op.forward(r.volumes[e], mu);
      D += poissonDeviance(data.edx[e], mu);
      if (first) for (let i = 0; i < mu.length; i++) E += poissonDevianceExpectation(mu[i]);
    }
    // E[D] once, at the least-regularised fit's means (see the header), the same bound for every candidate
    scores.push({ factor: f, weight: f * base, deviance: D, expected: first ? E : scores[0].expected });
    results.push(r);
    o.progress?.increment(1);
  }
  let k = 0;
  for (let j = 0; j < scores.length; j++) if (scores[j].deviance <= scores[j].expected) k = j;
  return { factor: grid[k], weight: grid[k] * base, scores, result: results[k] };
}
