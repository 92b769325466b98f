/**
 * Anscombe variance stabilisation for Poisson counts with the exact unbiased inverse
 * (Makitalo & Foi 2011, IEEE TIP 20:99). Forward A(z) = 2 sqrt(z + 3/8) makes Poisson noise roughly
 * unit-variance Gaussian; after denoising D ~ E[A(z) | lambda], the exact unbiased inverse returns
 * the lambda with E[A(z) | lambda] = sum_z 2 sqrt(z + 3/8) lambda^z e^-lambda / z! = D. The algebraic
 * inverse (D/2)^2 - 3/8 is biased below about 4 counts. Here E[A | lambda] is tabulated exactly on a
 * dense lambda grid and inverted by monotone interpolation; above the table, Makitalo & Foi's
 * closed-form approximation 1/4 D^2 + 1/4 sqrt(3/2) D^-1 - 11/8 D^-2 + 5/8 sqrt(3/2) D^-3 - 1/8 is used
 * (its error there is far below 1e-6 relative).
 */
import { gaussianFilter } from './filters.ts';

export function anscombe(z: ArrayLike<number>): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = 2 * Math.sqrt(Math.max(z[i], 0) + 0.375);
  return out;
}

/** E[2 sqrt(z + 3/8)] for z ~ Poisson(lambda), summed over the bulk of the pmf. */
export function expectedAnscombe(lambda: number): number {
  if (lambda === 0) return 2 * Math.sqrt(0.375);
  const zmax = Math.ceil(lambda + 12 * Math.sqrt(lambda) + 30);
  let logp = -lambda, s = 0;
  for (let z = 0; z <= zmax; z++) {
    if (z > 0) logp += Math.log(lambda) - Math.log(z);
    s += Math.exp(logp) * 2 * Math.sqrt(z + 0.375);
  }
  return s;
}

const LAMBDA_MAX = 60;
let table: { lam: Float64Array; D: Float64Array } | null = null;
function getTable() {
  if (table) return table;
  const n = 6001;
  const lam = new Float64Array(n), D = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // denser near 0 where the inverse bends: lambda = LAMBDA_MAX t^2
    const t = i / (n - 1);
    lam[i] = LAMBDA_MAX * t * t;
    D[i] = expectedAnscombe(lam[i]);
  }
  table = { lam, D };
  return table;
}

const SQ = Math.sqrt(1.5);
function closedForm(D: number): number { return 0.25 * D * D + 0.25 * SQ / D - 1.375 / (D * D) + 0.625 * SQ / (D * D * D) - 0.125; }

/** Exact unbiased inverse of the Anscombe transform; D below E[A | 0] maps to 0. */
export function inverseAnscombeExact(d: ArrayLike<number>): Float32Array {
  const { lam, D } = getTable();
  const n = D.length, dTop = D[n - 1];
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v <= D[0]) { out[i] = 0; continue; }
    if (v >= dTop) { out[i] = closedForm(v); continue; }
    let lo = 0, hi = n - 1;
    while (hi - lo > 1) { const m = (lo + hi) >> 1; if (D[m] <= v) lo = m; else hi = m; }
    const t = (v - D[lo]) / (D[hi] - D[lo]);
    out[i] = lam[lo] + t * (lam[hi] - lam[lo]);
  }
  return out;
}

/** Anscombe transform, Gaussian filter (sigma in pixels), exact unbiased inverse. */
export function anscombeGaussian(counts: ArrayLike<number>, h: number, w: number, sigma: number): Float32Array {
  return inverseAnscombeExact(gaussianFilter(anscombe(counts), h, w, sigma));
}
