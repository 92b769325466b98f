/**
 * Training pairs (input, target) of the four schemes, from one projection of one element channel,
 * on the normalised scale of models/normalise.ts: both input and target are divided by the scale
 * s = max(mean of the WHOLE input projection, floor) that inference computes on the whole map.
 *
 * Noise: 'fresh' draws new Poisson counts from the clean expected counts for every pair (dose d
 * log-uniform in doseRange, expected counts lambda = clean * d / D, D = the stored sample's dose per
 * projection); 'fixed' uses only the stored noisy counts or frames (no clean: the real-data case).
 * Patches are drawn on a crop only; the whole-map mean that the scale needs is still exact in
 * distribution without drawing the whole map: the counts outside the crop sum to a Poisson of the
 * expected counts outside (fresh), or a binomial thinning of the stored counts outside (fixed).
 *
 * - supervised (Skorikov et al. 2021, "Quantitative 3D elemental analysis ... deep learning"):
 *   input y ~ Poisson(lambda), target lambda.
 * - n2n-thinning (Noise2Noise, Lehtinen et al. 2018, on binomially thinned halves): from counts y,
 *   y1 ~ Binomial(y, p), y2 = y - y1 are independent Poisson(p lambda') and Poisson((1-p) lambda')
 *   (exact for Poisson counts); input y1, target y2 p / (1 - p), both estimating the input's
 *   expected counts. Halves are swapped at random (input y2, target y1 (1-p)/p).
 *   Dose mismatch: the model is applied to full-dose maps. With fresh noise the full map is drawn at
 *   dose d / q (q the input's fraction), so the input half is exactly at the dose d the model will
 *   see and there is no mismatch. With stored counts (real data) the input is at q times the stored
 *   dose: p is drawn uniform in `thinning` (default [0.3, 0.7], with the swap q covers the same
 *   range) so the network sees a range of noise levels and, with the 'mean' normalisation, learns a
 *   blind (noise-level adaptive) denoiser; applied at full dose it extrapolates by 1/q (1.4-3.3x
 *   more counts), in the direction where denoising is easier.
 * - n2n-frames (cryoCARE, Buchholz et al. 2019): even and odd frame sums A (ceil(F/2) frames) and
 *   B (floor(F/2) frames), input one, target the other scaled by the frame-count ratio
 *   n_in / n_out; random swap. Fresh: F frames drawn so the input half is at dose d; fixed: the
 *   stored frames.
 * - blind-spot (Noise2Void, Krull et al. 2019; Noise2Self, Batson & Royer 2019): input = the
 *   noisy map with ~2 % of pixels replaced by neighbours, target = the noisy map, loss on the masked
 *   pixels only (training/blindspot.ts).
 */
import { poissonNoise, binomialThin } from '../generators/signal/noise.ts';
import type { RandomStream } from '../core/random.ts';
import { InternalError } from '../core/validate.ts';

export type Scheme = 'supervised' | 'n2n-thinning' | 'n2n-frames' | 'blind-spot';
export const SCHEMES: readonly Scheme[] = ['supervised', 'n2n-thinning', 'n2n-frames', 'blind-spot'];
export type NoiseMode = 'fresh' | 'fixed';

/** One whole projection of one channel, as the sources deliver it. */
export interface Projection {
  h: number;
  w: number;
  /** Expected counts. */
  clean?: Float32Array;
  /** Counts (integers for thinning). */
  noisy?: Float32Array;
  /** Per-frame counts, each h x w. */
  frames?: Float32Array[];
  /** Dose per projection of the stored data (e/A^2; 1 = relative when unknown). */
  dose: number;
}

export interface SchemeParams {
  scheme: Scheme;
  noise: NoiseMode;
  doseRange: [number, number];
  /** n2n-thinning: p uniform in this range. */
  thinning: [number, number];
  /** n2n-frames with fresh noise: frames per acquisition. */
  frames: number;
  /** Normalisation floor (models/normalise.ts). */
  floor: number;
}

export interface Crop { row: number; col: number; h: number; w: number }

export interface Pair {
  input: Float32Array;
  target: Float32Array;
  /** The whole-map scale s the pair was divided by. */
  s: number;
  /** Dose per projection of the input (e/A^2), when known. */
  dose: number;
}

export interface PairOptions {
  /** Fix the dose (validation); default log-uniform in doseRange. */
  dose?: number;
  /** Fix p (thinning) and the swap (thinning, frames); validation uses p = 0.5, no swap. */
  p?: number;
  swap?: boolean;
}

function cropOf(a: Float32Array, W: number, c: Crop, k = 1): Float32Array {
  const out = new Float32Array(c.h * c.w);
  for (let r = 0; r < c.h; r++) {
    const off = (c.row + r) * W + c.col;
    if (k === 1) out.set(a.subarray(off, off + c.w), r * c.w);
    else for (let j = 0; j < c.w; j++) out[r * c.w + j] = a[off + j] * k;
  }
  return out;
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

const sums = new WeakMap<Float32Array, number>();
/** Sum of a whole stored map (cached: maps are immutable once loaded). */
export function mapSum(a: Float32Array): number {
  let s = sums.get(a);
  if (s === undefined) {
    s = sum(a);
    sums.set(a, s);
  }
  return s;
}

function scaled(a: ArrayLike<number>, f: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * f;
  return out;
}

/** Stored counts of a projection: the noisy map, or the sum of its frames. */
export function storedCounts(p: Projection): Float32Array {
  if (p.noisy) return p.noisy;
  if (p.frames && p.frames.length) {
    const out = new Float32Array(p.h * p.w);
    for (const f of p.frames) for (let i = 0; i < out.length; i++) out[i] += f[i];
    p.noisy = out;
    return out;
  }
  throw new InternalError('storedCounts: projection has no stored counts (noisy or frames); resolveConfig reads them for every scheme without fresh noise');
}

/** Scale of the whole input map from the crop's input counts and the total of the rest. */
function scaleOf(inputCrop: ArrayLike<number>, restTotal: number, h: number, w: number, floor: number): number {
  return Math.max((sum(inputCrop) + restTotal) / (h * w), floor);
}

/** Poisson draw of a (possibly slightly negative by round-off) mean. */
function poissonRest(rng: RandomStream, mean: number): number {
  return mean > 0 ? rng.poisson(mean) : 0;
}

/**
 * The (input, target) pair of `scheme` on crop `c` of projection `p` (see the module comment),
 * divided by the whole-map input scale. Deterministic for a given stream.
 */
export function makePair(p: Projection, sp: SchemeParams, rng: RandomStream, c: Crop, opts: PairOptions = {}): Pair {
  const { h, w } = p;
  const P = c.h * c.w;
  if (sp.noise === 'fresh') {
    if (!p.clean) throw new InternalError('makePair: fresh noise needs the clean expected counts (resolveConfig refuses noise fresh without clean data)');
    const d = opts.dose ?? rng.logUniform(sp.doseRange[0], sp.doseRange[1]);
    const k = d / p.dose;
    const lam = cropOf(p.clean, w, c, k);
    const lamRest = Math.max(0, k * mapSum(p.clean) - sum(lam));
    if (sp.scheme === 'supervised' || sp.scheme === 'blind-spot') {
      const y = poissonNoise(lam, rng);
      const s = scaleOf(y, poissonRest(rng, lamRest), h, w, sp.floor);
      return { input: scaled(y, 1 / s), target: sp.scheme === 'supervised' ? scaled(lam, 1 / s) : scaled(y, 1 / s), s, dose: d };
    }
    if (sp.scheme === 'n2n-thinning') {
      const pp = opts.p ?? rng.uniformIn(sp.thinning[0], sp.thinning[1]);
      const swap = opts.swap ?? rng.uniform() < 0.5;
      const q = swap ? 1 - pp : pp;
      // Full map at dose d / q, so the input half (fraction q) is exactly at dose d.
      const y = poissonNoise(scaled(lam, 1 / q), rng);
      const [a, b] = binomialThin(y, q, rng);
      const s = scaleOf(a, poissonRest(rng, lamRest), h, w, sp.floor);
      return { input: scaled(a, 1 / s), target: scaled(b, q / (1 - q) / s), s, dose: d };
    }
    // n2n-frames, fresh: F frames, the input half of n_in frames at dose d in total.
    const F = sp.frames;
    const nA = Math.ceil(F / 2), nB = Math.floor(F / 2);
    const swap = opts.swap ?? rng.uniform() < 0.5;
    const nIn = swap ? nB : nA, nOut = swap ? nA : nB;
    const perFrame = scaled(lam, 1 / nIn);
    const A = new Float32Array(P), B = new Float32Array(P);
    for (let f = 0; f < F; f++) {
      const fr = poissonNoise(perFrame, rng);
      const dst = f % 2 === 0 ? A : B;
      for (let i = 0; i < P; i++) dst[i] += fr[i];
    }
    const inp = swap ? B : A, out = swap ? A : B;
    const s = scaleOf(inp, poissonRest(rng, lamRest), h, w, sp.floor);
    return { input: scaled(inp, 1 / s), target: scaled(out, nIn / nOut / s), s, dose: d };
  }
  // Stored counts only.
  if (sp.scheme === 'n2n-frames') {
    const fr = p.frames;
    if (!fr || fr.length < 2) throw new InternalError('makePair: n2n-frames with fixed noise needs at least 2 stored frames (resolveConfig checks the frame count)');
    const F = fr.length;
    const nA = Math.ceil(F / 2), nB = Math.floor(F / 2);
    const swap = opts.swap ?? rng.uniform() < 0.5;
    const nIn = swap ? nB : nA, nOut = swap ? nA : nB;
    const inp = new Float32Array(P), out = new Float32Array(P);
    let inTotal = 0;
    for (let f = 0; f < F; f++) {
      const isIn = (f % 2 === 0) !== swap;
      const part = cropOf(fr[f], w, c);
      const dst = isIn ? inp : out;
      for (let i = 0; i < P; i++) dst[i] += part[i];
      if (isIn) inTotal += mapSum(fr[f]);
    }
    const s = Math.max(inTotal / (h * w), sp.floor);
    return { input: scaled(inp, 1 / s), target: scaled(out, nIn / nOut / s), s, dose: (p.dose * nIn) / F };
  }
  const counts = storedCounts(p);
  const y = cropOf(counts, w, c);
  const restY = mapSum(counts) - sum(y);
  if (sp.scheme === 'supervised') {
    if (!p.clean) throw new InternalError('makePair: supervised training needs the clean expected counts (resolveConfig refuses supervised without clean data)');
    const s = Math.max(mapSum(counts) / (h * w), sp.floor);
    return { input: scaled(y, 1 / s), target: cropOf(p.clean, w, c, 1 / s), s, dose: p.dose };
  }
  if (sp.scheme === 'blind-spot') {
    const s = Math.max(mapSum(counts) / (h * w), sp.floor);
    const x = scaled(y, 1 / s);
    return { input: x, target: Float32Array.from(x), s, dose: p.dose };
  }
  // n2n-thinning on stored counts: the rest of the map thinned with the same q.
  const pp = opts.p ?? rng.uniformIn(sp.thinning[0], sp.thinning[1]);
  const swap = opts.swap ?? rng.uniform() < 0.5;
  const q = swap ? 1 - pp : pp;
  const [a, b] = binomialThin(y, q, rng);
  const rest = Math.round(restY);
  const s = scaleOf(a, rest > 0 ? rng.binomial(rest, q) : 0, h, w, sp.floor);
  return { input: scaled(a, 1 / s), target: scaled(b, q / (1 - q) / s), s, dose: p.dose * q };
}

/**
 * The full-dose noisy map the model is applied to at validation and its reference: fresh noise
 * at dose d (y ~ Poisson(clean d / D), reference clean d / D); fixed noise: the stored counts and
 * the stored clean map when there is one.
 */
export function inferenceInput(p: Projection, sp: SchemeParams, rng: RandomStream, dose: number): { counts: Float32Array; reference?: Float32Array } {
  if (sp.noise === 'fresh') {
    const lam = scaled(p.clean!, dose / p.dose);
    return { counts: Float32Array.from(poissonNoise(lam, rng)), reference: lam };
  }
  return { counts: storedCounts(p), reference: p.clean };
}
