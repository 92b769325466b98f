/**
 * Scoring denoisers on real data, where there is no ground truth: every method sees only an INPUT
 * part of the counts and is scored against an independent HELD-OUT part of the same acquisition.
 *
 * Splits (both give input and held-out counts that are independent Poisson variables of means
 * w_in mu and w_out mu for the same underlying mu):
 *   - frames: per-frame data (K frames of one view); input = the sum of some frames (w_in = their
 *     number), held out = the sum of the others (w_out = theirs). Frames of a counting detector are
 *     independent Poisson draws (the protocol of scripts/bench/realdata.bench.ts on the quantum-dot
 *     frames, after Han et al. 2021, Nat. Mach. Intell. 3:267, doi:10.1038/s42256-020-00289-5);
 *   - thinning: one map of integer counts y ~ Poisson(mu); input y1 ~ Binomial(y, p), held out
 *     y2 = y - y1 (w_in = p, w_out = 1 - p): y1 and y2 are independent Poisson(p mu) and
 *     Poisson((1 - p) mu) (Poisson thinning; Oliveira et al. 2022, "Poisson data fission",
 *     doi:10.1080/01621459.2022.2035759).
 * An estimate mu_hat of the input's expected counts predicts the held-out counts as
 * mu_hat x w_out / w_in and is scored by the mean Poisson deviance against them
 * (eval/metrics/counts.ts: a proper score, lowest in expectation at the true mean), plus the MSE and
 * PSNR against the held-out counts rescaled to the input's level, ref = y_out x w_in / w_out, whose
 * own Poisson noise adds the same floor to every method's MSE.
 */
import { gaussianFilter } from '../baselines/index.ts';
import { poissonDeviance, psnr, mse, valueRange } from '../metrics/index.ts';
import type { RandomStream } from '../../core/random.ts';
import { ConfigError, InternalError } from '../../core/validate.ts';

/** One view's input and held-out counts, h x w each, with the weights of their expected counts. */
export interface HeldOutSplit {
  h: number;
  w: number;
  /** What the methods see. */
  input: Float32Array;
  /** Never seen by any method or parameter choice. */
  heldout: Float32Array;
  /** ref = heldout x wIn / wOut: the held-out counts at the input's level. */
  ref: Float32Array;
  /** The input's frames, when the split is by frames (for frame cross-validation inside the input). */
  inputFrames?: Float32Array[];
  wIn: number;
  wOut: number;
  kind: 'frames' | 'thinning';
}

function withRef(s: Omit<HeldOutSplit, 'ref'>): HeldOutSplit {
  return { ...s, ref: s.heldout.map((v) => (v * s.wIn) / s.wOut) };
}

/** Input = the sum of frames `inputIdx`, held out = the sum of the others (each frame h x w). */
export function frameSplit(frames: ArrayLike<number>[], inputIdx: number[], h: number, w: number): HeldOutSplit {
  const P = h * w, F = frames.length;
  if (inputIdx.length === 0 || inputIdx.length >= F || inputIdx.some((k) => !(Number.isInteger(k) && k >= 0 && k < F))) throw new InternalError(`frameSplit: input frames ${inputIdx.join(',')} must be some but not all of 0..${F - 1}`);
  const input = new Float32Array(P), heldout = new Float32Array(P);
  frames.forEach((fr, f) => {
    const dst = inputIdx.includes(f) ? input : heldout;
    for (let i = 0; i < P; i++) dst[i] += fr[i];
  });
  const inputFrames = inputIdx.map((f) => Float32Array.from(frames[f] as ArrayLike<number>));
  return withRef({ h, w, input, heldout, inputFrames, wIn: inputIdx.length, wOut: F - inputIdx.length, kind: 'frames' });
}

/** Input y1 ~ Binomial(y, p) per pixel, held out y - y1; `y` must hold non-negative integer counts. */
export function thinningSplit(y: ArrayLike<number>, h: number, w: number, p: number, rng: RandomStream): HeldOutSplit {
  if (!(p > 0 && p < 1)) throw new InternalError(`thinningSplit: p must be in (0, 1), got ${p}`);
  const P = h * w, input = new Float32Array(P), heldout = new Float32Array(P);
  for (let i = 0; i < P; i++) {
    const v = y[i];
    if (!(v >= 0 && Number.isInteger(v))) throw new ConfigError('thinningSplit', `pixel ${i} is ${v}; binomial thinning needs integer counts >= 0`);
    input[i] = rng.binomial(v, p);
    heldout[i] = v - input[i];
  }
  return withRef({ h, w, input, heldout, wIn: p, wOut: 1 - p, kind: 'thinning' });
}

export interface HeldOutScore {
  /** Mean Poisson deviance of the held-out counts under mu_hat x wOut / wIn. */
  deviance: number;
  /** Against ref (held-out counts at the input's level). */
  mse: number;
  /** Against ref, with the data range of ref smoothed by a Gaussian of sigma 2 (a fixed constant per view). */
  psnr: number;
}

/** Scores an estimate of the input's expected counts against the held-out part (module comment). */
export function scoreHeldOut(s: HeldOutSplit, est: Float32Array): HeldOutScore {
  const ratio = s.wOut / s.wIn;
  const mu = est.map((v) => v * ratio);
  const R = valueRange(gaussianFilter(s.ref, s.h, s.w, 2)) || 1;
  return { deviance: poissonDeviance(s.heldout, mu), mse: mse(s.ref, est), psnr: psnr(s.ref, est, R) };
}

/** Gaussian sigmas searched by frame cross-validation (pixels). */
export const CV_SIGMAS = [0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 16, 20];

/**
 * Sigma by frame cross-validation inside the input frames only (no held-out data): for every view and
 * every input frame k, the Gaussian of the other input frames' sum, divided by their number, predicts
 * frame k; the sigma with the least summed Poisson deviance wins. Needs >= 2 input frames per view.
 */
export function sigmaByFrameCv(views: Float32Array[][], h: number, w: number, sigmas: number[] = CV_SIGMAS): number {
  const P = h * w;
  if (views.length === 0 || views.some((f) => f.length < 2)) throw new InternalError('sigmaByFrameCv: every view needs at least 2 input frames');
  let best = sigmas[0], bestD = Infinity;
  for (const s of sigmas) {
    let dev = 0;
    for (const frames of views) {
      for (let k = 0; k < frames.length; k++) {
        const others = new Float32Array(P);
        frames.forEach((f, j) => { if (j !== k) for (let i = 0; i < P; i++) others[i] += f[i]; });
        const g = gaussianFilter(others, h, w, s).map((v) => v / (frames.length - 1));
        dev += poissonDeviance(frames[k], g);
      }
    }
    if (dev < bestD) { bestD = dev; best = s; }
  }
  return best;
}

/**
 * Mean of per-view values with a percentile bootstrap interval over views (`level`, default 0.95;
 * `resamples` draws of V views with replacement from `rng`); the interval is NaN for one view.
 */
export function meanWithInterval(v: ArrayLike<number>, rng: RandomStream, o: { resamples?: number; level?: number } = {}): { mean: number; lo: number; hi: number } {
  const n = v.length, B = o.resamples ?? 2000, level = o.level ?? 0.95;
  let m = 0;
  for (let i = 0; i < n; i++) m += v[i] / n;
  if (n < 2) return { mean: m, lo: NaN, hi: NaN };
  const means = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += v[rng.int(n)];
    means[b] = s / n;
  }
  means.sort();
  const q = (p: number) => means[Math.min(B - 1, Math.max(0, Math.round(p * (B - 1))))];
  return { mean: m, lo: q((1 - level) / 2), hi: q((1 + level) / 2) };
}
