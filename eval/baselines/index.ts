/** Classical projection-domain denoisers and a dispatcher by name, with parameters tuned on validation maps. */
import { gaussianFilter, boxFilter, medianFilter, tvDenoise } from './filters.ts';
import { anscombeGaussian, anscombe, inverseAnscombeExact, expectedAnscombe } from './anscombe.ts';
import { psnr, valueRange } from '../metrics/index.ts';

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
    default: throw new Error(`unknown baseline '${method as string}'; allowed: ${BASELINES.join(', ')}`);
  }
}

/**
 * Chooses each baseline's parameter by mean PSNR against the clean expected counts over validation
 * pairs (noisy counts, clean expectation), science.md section 5 ("sigma tuned on validation").
 */
export function tuneBaseline(method: Baseline, pairs: { noisy: ArrayLike<number>; clean: ArrayLike<number>; h: number; w: number }[], candidates = CANDIDATES[method]): { param: number; psnr: number } {
  // Pairs without signal (an all-zero clean map) give an infinite PSNR for every parameter: left out.
  pairs = pairs.filter((p) => { for (let i = 0; i < p.clean.length; i++) if (p.clean[i] !== 0) return true; return false; });
  if (pairs.length === 0) throw new Error('tuneBaseline: no validation pairs with signal (every clean map is empty)');
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
