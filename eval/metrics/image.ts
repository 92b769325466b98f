/**
 * Image-quality metrics with scikit-image semantics (skimage.metrics, version 0.19).
 *
 * PSNR = 10 log10(R^2 / MSE) with the data range R given explicitly.
 * SSIM (Wang et al. 2004, IEEE TIP 13:600) with skimage's defaults: uniform 7x7 (or 7x7x7) window,
 * K1 = 0.01, K2 = 0.03, sample covariance (N/(N-1)), mean of the SSIM map over the region at least
 * (win-1)/2 from every border (skimage crops that band, so no boundary mode is involved).
 */
import { ConfigError } from '../../core/validate.ts';

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new ConfigError('metric inputs', `differ in length: ${a.length} vs ${b.length}`);
  if (a.length === 0) throw new ConfigError('metric inputs', 'are empty');
}

/** Mean squared error. */
export function mse(ref: ArrayLike<number>, test: ArrayLike<number>): number {
  checkSameLength(ref, test);
  let s = 0;
  for (let i = 0; i < ref.length; i++) { const d = ref[i] - test[i]; s += d * d; }
  return s / ref.length;
}

/** Peak signal-to-noise ratio in dB: 10 log10(dataRange^2 / MSE) (skimage peak_signal_noise_ratio). */
export function psnr(ref: ArrayLike<number>, test: ArrayLike<number>, dataRange: number): number {
  if (!(dataRange > 0)) throw new ConfigError('psnr', `dataRange must be > 0, got ${dataRange}`);
  const m = mse(ref, test);
  return 10 * Math.log10((dataRange * dataRange) / m);
}

/** Range (max - min) of an array, the usual data range for PSNR against a reference. */
export function valueRange(a: ArrayLike<number>): number {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < a.length; i++) { const v = a[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
  return hi - lo;
}

export interface SsimOptions { winSize?: number; k1?: number; k2?: number }

/**
 * Mean structural similarity of 2D ([h, w]) or 3D ([d, h, w]) arrays, skimage semantics with
 * gaussian_weights=False: S = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2)),
 * C1 = (K1 R)^2, C2 = (K2 R)^2, local moments over a uniform window, averaged over the interior.
 * Box sums are computed separably with running sums in float64 (O(N) independent of window size).
 */
export function ssim(ref: ArrayLike<number>, test: ArrayLike<number>, shape: number[], dataRange: number, opts: SsimOptions = {}): number {
  checkSameLength(ref, test);
  const win = opts.winSize ?? 7;
  const K1 = opts.k1 ?? 0.01, K2 = opts.k2 ?? 0.03;
  if (!(dataRange > 0)) throw new ConfigError('ssim', `dataRange must be > 0, got ${dataRange}`);
  if (win % 2 !== 1 || win < 3) throw new ConfigError('ssim', `winSize must be odd and >= 3, got ${win}`);
  const dims = shape.length === 2 ? [1, shape[0], shape[1]] : shape.length === 3 ? shape.slice() : null;
  if (!dims) throw new ConfigError('ssim', `shape must be 2D or 3D, got [${shape}]`);
  const is3d = shape.length === 3;
  const [d, h, w] = dims;
  if (d * h * w !== ref.length) throw new ConfigError('ssim', `shape [${shape}] does not match length ${ref.length}`);
  for (const s of shape) if (s < win) throw new ConfigError('ssim', `every side must be >= winSize ${win}; shape [${shape}]`);
  // Valid-window box sums: output extents shrink by win-1 along each filtered axis.
  const r = win - 1;
  const od = is3d ? d - r : 1, oh = h - r, ow = w - r;
  const sums = boxSumsValid(ref, test, d, h, w, win, is3d);
  const NP = is3d ? win * win * win : win * win;
  const covNorm = NP / (NP - 1);
  const C1 = (K1 * dataRange) ** 2, C2 = (K2 * dataRange) ** 2;
  let total = 0;
  const m = od * oh * ow;
  const [s0, s1, s2, s3, s4] = sums;
  for (let i = 0; i < m; i++) {
    const ux = s0[i] / NP, uy = s1[i] / NP;
    const vx = covNorm * (s2[i] / NP - ux * ux);
    const vy = covNorm * (s3[i] / NP - uy * uy);
    const vxy = covNorm * (s4[i] / NP - ux * uy);
    total += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
  }
  return total / m;
}

/**
 * Scratch buffers of the box sums, kept between calls (grown up to KEEP, never shrunk): an evaluation scores
 * thousands of maps and volumes of a few sizes, and allocating (and zeroing) some 30 MB of
 * Float64Arrays per 64^3 volume cost more than the sums themselves.
 */
const scratch: Float64Array[] = [];
/** Largest buffer kept (values): 64^3-sized sums, 15 buffers at most 60 MB a thread; larger calls allocate as they go. */
const KEEP = 1 << 19;
function buffer(k: number, n: number): Float64Array {
  if (n > KEEP) return new Float64Array(n);
  if (!scratch[k] || scratch[k].length < n) scratch[k] = new Float64Array(n);
  return scratch[k].length === n ? scratch[k] : scratch[k].subarray(0, n);
}

/**
 * Sums over all fully-inside windows of the five SSIM fields x, y, x^2, y^2, xy, separable along
 * x, y (and z when is3d), each [od, oh, ow]. The fields are formed on the fly in float64 and every
 * sum is a running sum taken in the same order as a plain per-field pass (window start, then add
 * the entering and drop the leaving value), so the result is the same to the bit; the y and z
 * passes run along rows (contiguous) with a row of running sums. The arrays returned are scratch:
 * valid until the next call.
 */
function boxSumsValid(ref: ArrayLike<number>, test: ArrayLike<number>, d: number, h: number, w: number, win: number, is3d: boolean): Float64Array[] {
  const ow = w - win + 1, oh = h - win + 1, od = is3d ? d - win + 1 : d;
  // x pass: fields -> a_q [d, h, ow]
  const A = [0, 1, 2, 3, 4].map((q) => buffer(q, d * h * ow));
  const [a0, a1, a2, a3, a4] = A;
  for (let z = 0; z < d; z++) for (let y = 0; y < h; y++) {
    const base = (z * h + y) * w, ob = (z * h + y) * ow;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    for (let x = 0; x < win; x++) {
      const u = +ref[base + x], v = +test[base + x];
      s0 += u; s1 += v; s2 += u * u; s3 += v * v; s4 += u * v;
    }
    a0[ob] = s0; a1[ob] = s1; a2[ob] = s2; a3[ob] = s3; a4[ob] = s4;
    for (let x = 1; x < ow; x++) {
      const u = +ref[base + x + win - 1], v = +test[base + x + win - 1];
      const p = +ref[base + x - 1], q = +test[base + x - 1];
      s0 += u - p; s1 += v - q; s2 += u * u - p * p; s3 += v * v - q * q; s4 += u * v - p * q;
      a0[ob + x] = s0; a1[ob + x] = s1; a2[ob + x] = s2; a3[ob + x] = s3; a4[ob + x] = s4;
    }
  }
  // y pass: a_q -> b_q [d, oh, ow], a row of running sums per field
  const B = [0, 1, 2, 3, 4].map((q) => buffer(5 + q, d * oh * ow));
  for (let q = 0; q < 5; q++) {
    const a = A[q], b = B[q];
    for (let z = 0; z < d; z++) {
      const row = b.subarray((z * oh) * ow, (z * oh) * ow + ow);
      row.fill(0);
      for (let y = 0; y < win; y++) { const o = (z * h + y) * ow; for (let x = 0; x < ow; x++) row[x] += a[o + x]; }
      for (let y = 1; y < oh; y++) {
        const prev = (z * oh + y - 1) * ow, out = (z * oh + y) * ow, add = (z * h + y + win - 1) * ow, sub = (z * h + y - 1) * ow;
        for (let x = 0; x < ow; x++) b[out + x] = b[prev + x] + (a[add + x] - a[sub + x]);
      }
    }
  }
  if (!is3d) return B;
  // z pass: b_q -> c_q [od, oh, ow]
  const plane = oh * ow;
  const C = [0, 1, 2, 3, 4].map((q) => buffer(10 + q, od * plane));
  for (let q = 0; q < 5; q++) {
    const b = B[q], c = C[q];
    const first = c.subarray(0, plane);
    first.fill(0);
    for (let z = 0; z < win; z++) { const o = z * plane; for (let p = 0; p < plane; p++) first[p] += b[o + p]; }
    for (let z = 1; z < od; z++) {
      const prev = (z - 1) * plane, out = z * plane, add = (z + win - 1) * plane, sub = (z - 1) * plane;
      for (let p = 0; p < plane; p++) c[out + p] = c[prev + p] + (b[add + p] - b[sub + p]);
    }
  }
  return C;
}
