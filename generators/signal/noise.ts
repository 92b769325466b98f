/**
 * Counting noise on expected-count maps (science.md section 4): Poisson per pixel, Gaussian read noise of
 * the HAADF detector, and binomial thinning.
 */
import type { RandomStream } from '../../core/random.ts';
import { InternalError } from '../../core/validate.ts';

/**
 * Poisson counts y_i ~ Poisson(expected_i), drawn in index order from `rng` (deterministic for a given
 * stream). Throws for negative or non-finite expected counts.
 */
export function poissonNoise(expected: Float32Array, rng: RandomStream, out?: Uint32Array): Uint32Array {
  const res = out ?? new Uint32Array(expected.length);
  if (res.length !== expected.length) throw new InternalError(`poissonNoise: out has ${res.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const m = expected[i];
    if (!(m >= 0) || m === Infinity) throw new RangeError(`poissonNoise: expected count at index ${i} must be finite and >= 0, got ${m}`);
    res[i] = m === 0 ? 0 : rng.poisson(m);
  }
  return res;
}

/**
 * Binomial thinning: y1_i ~ Binomial(y_i, p), y2_i = y_i - y1_i. For y ~ Poisson(lambda) the halves are
 * independent Poisson(p lambda) and Poisson((1-p) lambda) (exact on integer counts only).
 */
export function binomialThin(counts: ArrayLike<number>, p: number, rng: RandomStream): [Uint32Array, Uint32Array] {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomialThin: p must be in [0, 1], got ${p}`);
  const a = new Uint32Array(counts.length), b = new Uint32Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const y = counts[i];
    if (!Number.isInteger(y) || y < 0) throw new RangeError(`binomialThin: counts must be integers >= 0 (thinning is exact on counts only), got ${y} at index ${i}`);
    const k = y === 0 ? 0 : rng.binomial(y, p);
    a[i] = k;
    b[i] = y - k;
  }
  return [a, b];
}

/**
 * Gaussian read noise of an integrating detector (the HAADF channel), in place on integer counts:
 *   y_i <- max(0, round(y_i + sigma n_i)),  n_i ~ N(0, 1) drawn in index order from `rng`.
 * For y ~ Poisson(lambda) the result has mean lambda and variance lambda + sigma^2 + 1/12 (the 1/12 from
 * rounding to integer counts) wherever lambda >> sigma; the clamp at 0 (counts are stored unsigned) biases
 * pixels whose mean is within a few sigma of 0 upwards (by sigma / sqrt(2 pi) at lambda = 0).
 */
export function addReadNoise(counts: Uint32Array, sigma: number, rng: RandomStream): Uint32Array {
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new RangeError(`addReadNoise: sigma must be a finite number >= 0, got ${sigma}`);
  if (sigma === 0) return counts;
  for (let i = 0; i < counts.length; i++) {
    const v = Math.round(counts[i] + sigma * rng.normal());
    counts[i] = v > 0 ? v : 0;
  }
  return counts;
}
