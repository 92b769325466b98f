/**
 * Random streams and samplers, all on seedrandom.
 *
 * Determinism rule of the project: a stream is derived from (dataset seed, sample index, purpose)
 * by hashing, never shared between samples, so sample i is byte-identical whatever the shard or
 * worker that makes it. `stream(seed, i, 'phantom')` and `stream(seed, i, 'noise')` are
 * independent streams of the same sample.
 */
import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';
import { InternalError } from './validate.ts';

export type Seed = number | string;

/** Hex SHA-256 of the JSON of (seed, ...keys): the derived seed of one stream. */
export function deriveSeed(seed: Seed, ...keys: (string | number)[]): string {
  return createHash('sha256').update(JSON.stringify([seed, ...keys])).digest('hex');
}

/** A unit quaternion (w, x, y, z), w >= 0. */
export interface Quaternion { w: number; x: number; y: number; z: number }

/**
 * One random stream: seedrandom's Alea generator (period about 2^116) seeded from a hash of the
 * keys, with the samplers the simulator needs.
 */
export class RandomStream {
  private readonly prng: seedrandom.PRNG;
  private spareNormal = NaN;

  constructor(seed: Seed, ...keys: (string | number)[]) {
    this.prng = seedrandom.alea(deriveSeed(seed, ...keys));
  }

  /** Uniform on [0, 1) with 53 bits. */
  uniform(): number {
    return this.prng.double();
  }

  /** Uniform on [a, b). */
  uniformIn(a: number, b: number): number {
    return a + (b - a) * this.prng.double();
  }

  /** Log-uniform on [a, b], a > 0: exp(U(log a, log b)). */
  logUniform(a: number, b: number): number {
    return Math.exp(this.uniformIn(Math.log(a), Math.log(b)));
  }

  /** Integer uniform on {0, ..., n-1}. */
  int(n: number): number {
    return Math.floor(this.prng.double() * n);
  }

  /** Index drawn with probability proportional to weights[i] (weights >= 0, sum > 0). */
  choice(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    let u = this.prng.double() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    // Round-off: the last index with non-zero weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    throw new InternalError('choice: all weights are zero');
  }

  /** Standard normal by Marsaglia's polar method (pairs; the spare is cached in the stream). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const s = this.spareNormal;
      this.spareNormal = NaN;
      return s;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.prng.double() - 1;
      v = 2 * this.prng.double() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return u * f;
  }

  /**
   * Poisson(mean), exact for every mean >= 0.
   * mean < 10: inversion by sequential search (Devroye 1986, X.3).
   * mean >= 10: PTRS, transformed rejection with squeeze (Hörmann, Insurance: Math. Econ. 12, 39, 1993).
   */
  poisson(mean: number): number {
    if (!(mean > 0)) {
      if (mean === 0) return 0;
      throw new RangeError(`poisson: mean must be a finite number >= 0, got ${mean}`);
    }
    if (mean < 10) {
      let k = 0;
      let p = Math.exp(-mean);
      let s = p;
      const u = this.prng.double();
      while (u > s) {
        k++;
        p *= mean / k;
        s += p;
        if (p === 0 && s < u) break; // round-off: u above the representable cdf (probability < 1e-300)
      }
      return k;
    }
    if (!Number.isFinite(mean)) throw new RangeError(`poisson: mean must be finite, got ${mean}`);
    const slam = Math.sqrt(mean);
    const loglam = Math.log(mean);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const U = this.prng.double() - 0.5;
      const V = this.prng.double();
      const us = 0.5 - Math.abs(U);
      const k = Math.floor(((2 * a) / us + b) * U + mean + 0.43);
      if (us >= 0.07 && V <= vr) return k;
      if (k < 0 || (us < 0.013 && V > us)) continue;
      if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -mean + k * loglam - logGamma(k + 1)) return k;
    }
  }

  /**
   * Binomial(n, p), exact. n p < 10: inversion (Kachitvichyanukul & Schmeiser, CACM 31, 216, 1988);
   * otherwise BTRS, transformed rejection with squeeze (Hörmann, J. Stat. Comput. Simul. 46, 101, 1993).
   * Used for binomial thinning of count maps.
   */
  binomial(n: number, p: number): number {
    if (!(n >= 0) || !Number.isInteger(n)) throw new RangeError(`binomial: n must be an integer >= 0, got ${n}`);
    if (!(p >= 0 && p <= 1)) throw new RangeError(`binomial: p must be in [0, 1], got ${p}`);
    if (n === 0 || p === 0) return 0;
    if (p === 1) return n;
    if (p > 0.5) return n - this.binomial(n, 1 - p);
    const q = 1 - p;
    if (n * p < 10) {
      const qn = Math.exp(n * Math.log1p(-p));
      const np = n * p;
      const bound = Math.min(n, np + 10 * Math.sqrt(np * q + 1));
      let x = 0;
      let px = qn;
      let u = this.prng.double();
      for (;;) {
        if (u <= px) return x;
        x++;
        if (x > bound) {
          x = 0;
          px = qn;
          u = this.prng.double();
        } else {
          u -= px;
          px = ((n - x + 1) * p * px) / (x * q);
        }
      }
    }
    const spq = Math.sqrt(n * p * q);
    const b = 1.15 + 2.53 * spq;
    const a = -0.0873 + 0.0248 * b + 0.01 * p;
    const c = n * p + 0.5;
    const vr = 0.92 - 4.2 / b;
    const alpha = (2.83 + 5.1 / b) * spq;
    const lpq = Math.log(p / q);
    const m = Math.floor((n + 1) * p);
    const h = logGamma(m + 1) + logGamma(n - m + 1);
    for (;;) {
      const u = this.prng.double() - 0.5;
      let v = this.prng.double();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + c);
      if (k < 0 || k > n) continue;
      if (us >= 0.07 && v <= vr) return k;
      v = Math.log((v * alpha) / (a / (us * us) + b));
      if (v <= h - logGamma(k + 1) - logGamma(n - k + 1) + (k - m) * lpq) return k;
    }
  }

  /**
   * Uniform random rotation: a unit quaternion from four independent normals, normalised
   * (uniform on S^3, hence on SO(3); normalising four UNIFORM numbers is not uniform).
   * Sign chosen so that w >= 0 (q and -q are the same rotation).
   */
  rotation(): Quaternion {
    let w: number, x: number, y: number, z: number, n: number;
    do {
      w = this.normal();
      x = this.normal();
      y = this.normal();
      z = this.normal();
      n = Math.hypot(w, x, y, z);
    } while (n < 1e-12);
    const s = w < 0 ? -1 / n : 1 / n;
    return { w: w * s, x: x * s, y: y * s, z: z * s };
  }
}

/** Convenience: the stream of one (seed, ...keys). */
export function stream(seed: Seed, ...keys: (string | number)[]): RandomStream {
  return new RandomStream(seed, ...keys);
}

/** Row-major 3x3 rotation matrix of a unit quaternion. */
export function quaternionToMatrix(q: Quaternion): Float64Array {
  const { w, x, y, z } = q;
  return new Float64Array([
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ]);
}

const LOG_GAMMA_COEF = [
  8.333333333333333e-2, -2.777777777777778e-3, 7.936507936507937e-4, -5.952380952380952e-4,
  8.417508417508418e-4, -1.917526917526918e-3, 6.41025641025641e-3, -2.955065359477124e-2,
  1.796443723688307e-1, -1.3924322169059,
];
const LOG_FACTORIAL_TABLE = (() => {
  const t = new Float64Array(256);
  for (let k = 2; k < 256; k++) t[k] = t[k - 1] + Math.log(k);
  return t;
})();

/**
 * log Gamma(x) for x > 0: Stirling's series with ten Bernoulli terms, after shifting x up to 7
 * (as in numpy's random module); exact table lookup for integer x <= 256. Relative error < 1e-14.
 */
export function logGamma(x: number): number {
  if (Number.isInteger(x) && x >= 1 && x <= 256) return LOG_FACTORIAL_TABLE[x - 1];
  if (x === 1 || x === 2) return 0;
  let x0 = x;
  let n = 0;
  if (x < 7) {
    n = Math.floor(7 - x);
    x0 = x + n;
  }
  const x2 = 1 / (x0 * x0);
  let gl0 = LOG_GAMMA_COEF[9];
  for (let k = 8; k >= 0; k--) gl0 = gl0 * x2 + LOG_GAMMA_COEF[k];
  let gl = gl0 / x0 + 0.5 * Math.log(2 * Math.PI) + (x0 - 0.5) * Math.log(x0) - x0;
  for (let k = 1; k <= n; k++) {
    gl -= Math.log(x0 - 1);
    x0 -= 1;
  }
  return gl;
}
