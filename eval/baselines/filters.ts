/**
 * Classical denoisers for one projection map [h, w] (science.md section 5). All boundaries use
 * symmetric reflection (scipy.ndimage mode 'reflect': d c b a | a b c d | d c b a).
 */
import { ConfigError } from '../../core/validate.ts';

function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - 1 - k;
}

function checkShape(image: ArrayLike<number>, h: number, w: number): void {
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0) || image.length !== h * w) throw new ConfigError('denoise', `image length ${image.length} does not match shape [${h}, ${w}]`);
}

/** Separable 1D convolution with a symmetric kernel (radius r = (k.length-1)/2) along x then y. */
function separable(image: ArrayLike<number>, h: number, w: number, kernel: Float64Array): Float32Array {
  const r = (kernel.length - 1) / 2;
  const tmp = new Float64Array(h * w), out = new Float32Array(h * w);
  const xi = new Int32Array(w + 2 * r), yi = new Int32Array(h + 2 * r);
  for (let i = -r; i < w + r; i++) xi[i + r] = reflect(i, w);
  for (let i = -r; i < h + r; i++) yi[i + r] = reflect(i, h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < kernel.length; k++) s += kernel[k] * image[row + xi[x + k]];
      tmp[row + x] = s;
    }
  }
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let s = 0;
    for (let k = 0; k < kernel.length; k++) s += kernel[k] * tmp[yi[y + k] * w + x];
    out[y * w + x] = s;
  }
  return out;
}

/** Gaussian filter, kernel exp(-x^2 / (2 sigma^2)) normalised, truncated at 4 sigma (scipy's default). */
export function gaussianFilter(image: ArrayLike<number>, h: number, w: number, sigma: number): Float32Array {
  checkShape(image, h, w);
  if (!(sigma >= 0)) throw new ConfigError('gaussian', `sigma must be >= 0, got ${sigma}`);
  if (sigma === 0) return Float32Array.from(image);
  const r = Math.max(1, Math.round(4 * sigma));
  const k = new Float64Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) { k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma)); s += k[i + r]; }
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return separable(image, h, w, k);
}

/** Box (uniform) average over a size x size window (size odd). */
export function boxFilter(image: ArrayLike<number>, h: number, w: number, size = 3): Float32Array {
  checkShape(image, h, w);
  if (!(Number.isInteger(size) && size >= 1 && size % 2 === 1)) throw new ConfigError('box', `size must be an odd integer >= 1, got ${size}`);
  return separable(image, h, w, new Float64Array(size).fill(1 / size));
}

/** Median over a size x size window (size odd). */
export function medianFilter(image: ArrayLike<number>, h: number, w: number, size = 3): Float32Array {
  checkShape(image, h, w);
  if (!(Number.isInteger(size) && size >= 1 && size % 2 === 1)) throw new ConfigError('median', `size must be an odd integer >= 1, got ${size}`);
  const r = (size - 1) / 2, out = new Float32Array(h * w), win = new Float64Array(size * size);
  const mid = (size * size - 1) / 2;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let n = 0;
    for (let dy = -r; dy <= r; dy++) { const yy = reflect(y + dy, h) * w; for (let dx = -r; dx <= r; dx++) win[n++] = image[yy + reflect(x + dx, w)]; }
    // insertion sort: windows are small (9 or 25 values)
    for (let i = 1; i < n; i++) { const v = win[i]; let j = i - 1; while (j >= 0 && win[j] > v) { win[j + 1] = win[j]; j--; } win[j + 1] = v; }
    out[y * w + x] = win[mid];
  }
  return out;
}

/**
 * Total-variation denoising by Chambolle's projection algorithm (Chambolle 2004, J. Math. Imaging
 * Vis. 20:89): u = f - weight div p, with
 *   p <- (p + tau grad(div p - f/weight)) / (1 + tau |grad(div p - f/weight)|),  tau = 1/4,
 * iterated until the relative change of u falls below eps (the scheme of skimage's denoise_tv_chambolle).
 */
export function tvDenoise(image: ArrayLike<number>, h: number, w: number, weight: number, opts: { eps?: number; maxIterations?: number } = {}): Float32Array {
  checkShape(image, h, w);
  if (!(weight > 0)) throw new ConfigError('tv', `weight must be > 0, got ${weight}`);
  const eps = opts.eps ?? 2e-4, maxIt = opts.maxIterations ?? 200, tau = 0.25;
  const n = h * w;
  const px = new Float64Array(n), py = new Float64Array(n), d = new Float64Array(n), u = new Float64Array(n);
  let lastE = Infinity;
  for (let it = 0; it < maxIt; it++) {
    // d = div p (backward differences, adjoint of the forward-difference gradient)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = y * w + x;
      let v = 0;
      if (x < w - 1) v += px[i]; if (x > 0) v -= px[i - 1];
      if (y < h - 1) v += py[i]; if (y > 0) v -= py[i - w];
      d[i] = v;
      u[i] = image[i] - weight * v;
    }
    let e = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = y * w + x;
      // grad of (div p - f/weight) = -grad(u)/weight
      const gx = x < w - 1 ? -(u[i + 1] - u[i]) / weight : 0;
      const gy = y < h - 1 ? -(u[i + w] - u[i]) / weight : 0;
      const norm = Math.sqrt(gx * gx + gy * gy);
      px[i] = (px[i] + tau * gx) / (1 + tau * norm);
      py[i] = (py[i] + tau * gy) / (1 + tau * norm);
      e += (gx * gx + gy * gy) * weight * weight;
    }
    e = e / n;
    if (it > 0 && Math.abs(lastE - e) < eps * Math.max(lastE, 1e-30)) break; // relative change of the TV energy
    lastE = e;
  }
  return Float32Array.from(u);
}
