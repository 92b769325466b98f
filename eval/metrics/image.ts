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
  const n = ref.length;
  const fields = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  for (let i = 0; i < n; i++) {
    const x = ref[i], y = test[i];
    fields[0][i] = x; fields[1][i] = y; fields[2][i] = x * x; fields[3][i] = y * y; fields[4][i] = x * y;
  }
  // Valid-window box sums: output extents shrink by win-1 along each filtered axis.
  const r = win - 1;
  const od = is3d ? d - r : 1, oh = h - r, ow = w - r;
  const sums = fields.map((f) => boxSumValid(f, d, h, w, win, is3d));
  const NP = is3d ? win * win * win : win * win;
  const covNorm = NP / (NP - 1);
  const C1 = (K1 * dataRange) ** 2, C2 = (K2 * dataRange) ** 2;
  let total = 0;
  const m = od * oh * ow;
  for (let i = 0; i < m; i++) {
    const ux = sums[0][i] / NP, uy = sums[1][i] / NP;
    const vx = covNorm * (sums[2][i] / NP - ux * ux);
    const vy = covNorm * (sums[3][i] / NP - uy * uy);
    const vxy = covNorm * (sums[4][i] / NP - ux * uy);
    total += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
  }
  return total / m;
}

/** Sums over all fully-inside windows, separable along x, y (and z when is3d). Returns [od, oh, ow]. */
function boxSumValid(f: Float64Array, d: number, h: number, w: number, win: number, is3d: boolean): Float64Array {
  const ow = w - win + 1, oh = h - win + 1, od = is3d ? d - win + 1 : d;
  const a = new Float64Array(d * h * ow);
  for (let z = 0; z < d; z++) for (let y = 0; y < h; y++) {
    const base = (z * h + y) * w, ob = (z * h + y) * ow;
    let s = 0;
    for (let x = 0; x < win; x++) s += f[base + x];
    a[ob] = s;
    for (let x = 1; x < ow; x++) { s += f[base + x + win - 1] - f[base + x - 1]; a[ob + x] = s; }
  }
  const b = new Float64Array(d * oh * ow);
  for (let z = 0; z < d; z++) for (let x = 0; x < ow; x++) {
    let s = 0;
    for (let y = 0; y < win; y++) s += a[(z * h + y) * ow + x];
    b[(z * oh) * ow + x] = s;
    for (let y = 1; y < oh; y++) { s += a[(z * h + y + win - 1) * ow + x] - a[(z * h + y - 1) * ow + x]; b[(z * oh + y) * ow + x] = s; }
  }
  if (!is3d) return b;
  const c = new Float64Array(od * oh * ow);
  const plane = oh * ow;
  for (let p = 0; p < plane; p++) {
    let s = 0;
    for (let z = 0; z < win; z++) s += b[z * plane + p];
    c[p] = s;
    for (let z = 1; z < od; z++) { s += b[(z + win - 1) * plane + p] - b[(z - 1) * plane + p]; c[z * plane + p] = s; }
  }
  return c;
}
