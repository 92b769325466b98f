/** Classical projection-domain denoisers and a dispatcher by name, with parameters tuned on validation maps. */
import { gaussianFilter, boxFilter, medianFilter, tvDenoise } from './filters.ts';
import { anscombeGaussian, anscombe, inverseAnscombeExact, expectedAnscombe } from './anscombe.ts';
import { psnr, valueRange } from '../metrics/index.ts';
import { stream } from '../../core/random.ts';
import { ConfigError } from '../../core/validate.ts';

export { gaussianFilter, boxFilter, medianFilter, tvDenoise, anscombeGaussian, anscombe, inverseAnscombeExact, expectedAnscombe };

export const BASELINES = ['gaussian', 'median', 'box', 'tv', 'anscombe'] as const;
export type Baseline = (typeof BASELINES)[number];

/** Parameter of each baseline: sigma (gaussian, anscombe), window size (median, box), weight relative to the map's mean (tv). */
export type BaselineParams = Partial<Record<Baseline, number>>;

/** Candidate parameters searched on validation maps. */
export const CANDIDATES: Record<Baseline, number[]> = {
  gaussian: [0.5, 0.75, 1, 1.5, 2, 3, 4],
  anscombe: [0.5, 0.75, 1, 1.5, 2, 3, 4],
  median: [3, 5],
  box: [3, 5],
  tv: [0.2, 0.4, 0.8, 1.6, 3.2, 6.4],
};

export const DEFAULT_PARAMS: Record<Baseline, number> = { gaussian: 1, anscombe: 1, median: 3, box: 3, tv: 0.4 };

/** Applies a baseline to one map of counts [h, w]. TV's weight scales with sqrt(mean counts) (the Poisson noise level). */
export function denoiseBaseline(method: Baseline, counts: ArrayLike<number>, h: number, w: number, param?: number): Float32Array {
  const p = param ?? DEFAULT_PARAMS[method];
  switch (method) {
    case 'gaussian': return gaussianFilter(counts, h, w, p);
    case 'median': return medianFilter(counts, h, w, p);
    case 'box': return boxFilter(counts, h, w, p);
    case 'anscombe': return anscombeGaussian(counts, h, w, p);
    case 'tv': {
      let m = 0;
      for (let i = 0; i < counts.length; i++) m += counts[i];
      m /= counts.length;
      return tvDenoise(counts, h, w, p * Math.sqrt(Math.max(m, 1e-3)));
    }
    default: throw new ConfigError('method', `unknown baseline '${method as string}'; allowed: ${BASELINES.join(', ')}`);
  }
}

/**
 * Chooses each baseline's parameter by mean PSNR against the clean expected counts over validation
 * pairs (noisy counts, clean expectation), science.md section 5 ("sigma tuned on validation").
 */
export function tuneBaseline(method: Baseline, pairs: { noisy: ArrayLike<number>; clean: ArrayLike<number>; h: number; w: number }[], candidates = CANDIDATES[method]): { param: number; psnr: number } {
  // Pairs without signal (an all-zero clean map) give an infinite PSNR for every parameter: left out.
  pairs = pairs.filter((p) => { for (let i = 0; i < p.clean.length; i++) if (p.clean[i] !== 0) return true; return false; });
  if (pairs.length === 0) throw new ConfigError('tuneBaseline', 'no validation pairs with signal (every clean map is empty)');
  let best = { param: candidates[0], psnr: -Infinity };
  for (const c of candidates) {
    let s = 0;
    for (const p of pairs) {
      const r = valueRange(p.clean) || 1;
      s += psnr(p.clean, denoiseBaseline(method, p.noisy, p.h, p.w, c), r);
    }
    s /= pairs.length;
    if (s > best.psnr) best = { param: c, psnr: s };
  }
  return best;
}

/**
 * Chooses a baseline's parameter from the noisy counts alone, by binomial-thinning cross-validation
 * (the "data splitting" of Noise2Noise / Poisson thinning: Lehmann et al., ICML 2018, and
 * Oliveira et al. 2022, doi:10.1080/01621459.2022.2035759 for Poisson data fission):
 * each map y of integer counts is split into y1 ~ Binomial(y, 1/2) and y2 = y - y1, two
 * independent Poisson maps of mean lambda/2. For a parameter p the score is
 *   S(p) = sum over maps of ||f_p(y1) - y2||^2 + ||f_p(y2) - y1||^2,
 * whose expectation is 2 E||f_p(y_half) - lambda/2||^2 + const (y2 is independent of y1), so the
 * minimiser is the parameter that best recovers the half-dose mean: an unbiased choice for maps at
 * half the counts, and at full counts one that errs towards smoothing a little more (the optimal
 * Gaussian sigma falls slowly with dose). Squared error rather than Poisson deviance because a
 * median can give 0 where the other half has counts. At most `maxMaps` maps are used (evenly
 * spaced); the split is seeded (`seed`), so the choice is deterministic.
 * Throws when the maps are not non-negative integer counts (scaled data: give the parameter).
 */
export function tuneBaselineByThinning(method: Baseline, maps: ArrayLike<number>[], h: number, w: number, o: { seed?: number; candidates?: number[]; maxMaps?: number; source?: string } = {}): { param: number; score: number; scores: number[]; candidates: number[] } {
  const candidates = o.candidates ?? CANDIDATES[method];
  const maxMaps = o.maxMaps ?? 16;
  if (maps.length === 0) throw new ConfigError('tuneBaselineByThinning', 'no maps');
  const step = Math.max(1, maps.length / maxMaps);
  const used: number[] = [];
  for (let k = 0; k < maps.length && used.length < maxMaps; k = Math.round(used.length * step)) used.push(k);
  const halves = used.map((k) => {
    const y = maps[k];
    const rng = stream(o.seed ?? 0, k, 'baseline-thinning');
    const a = new Float32Array(y.length), b = new Float32Array(y.length);
    for (let i = 0; i < y.length; i++) {
      const v = y[i];
      if (!(v >= 0 && Number.isInteger(v))) throw new ConfigError(o.source ?? 'input', `projection ${k} pixel ${i} is ${v}; choosing ${method}'s parameter automatically needs integer counts (binomial thinning): give it, e.g. ${method}:${DEFAULT_PARAMS[method]}`);
      a[i] = rng.binomial(v, 0.5);
      b[i] = v - a[i];
    }
    return [a, b] as const;
  });
  const scores = candidates.map((p) => {
    let s = 0;
    for (const [a, b] of halves) {
      const fa = denoiseBaseline(method, a, h, w, p), fb = denoiseBaseline(method, b, h, w, p);
      for (let i = 0; i < a.length; i++) s += (fa[i] - b[i]) ** 2 + (fb[i] - a[i]) ** 2;
    }
    return s / (2 * halves.length * h * w);
  });
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] < scores[best]) best = i;
  return { param: candidates[best], score: scores[best], scores, candidates };
}

/** `gaussian`, `gaussian:1.5`, `tv:0.8`, ... as a method and an optional parameter (bad input throws naming `field`). */
export function parseBaselineSpec(spec: string, field = 'method'): { method: Baseline; param?: number } {
  const [m, p, ...rest] = spec.split(':');
  if (!(BASELINES as readonly string[]).includes(m) || rest.length) throw new ConfigError(field, `'${spec}' is not one of ${BASELINES.map((b) => `${b}[:param]`).join(', ')}`);
  if (p === undefined || p === '' || p === 'auto') return { method: m as Baseline };
  const x = Number(p);
  const ok = m === 'median' || m === 'box' ? Number.isInteger(x) && x >= 1 && x % 2 === 1 : Number.isFinite(x) && x >= 0;
  if (!ok) throw new ConfigError(field, `${m}'s parameter must be ${m === 'median' || m === 'box' ? 'an odd integer window >= 1' : 'a number >= 0'}, got '${p}'`);
  return { method: m as Baseline, param: x };
}
