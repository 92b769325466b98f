/**
 * Filtered back-projection for the parallel-beam tilt series (Kak & Slaney 1988, ch. 3):
 *   f(x) = sum_theta dtheta (p_theta * h)(x . theta),
 * with the ramp filter applied in the Fourier domain with zero padding to a power of two >= 2 nCols.
 * The ramp is the Fourier transform of the band-limited spatial Ram-Lak kernel (h(0) = 1/4,
 * h(n odd) = -1/(pi n)^2, h(n even) = 0), which avoids the DC offset of a sampled |k| (this is also
 * what scikit-image's iradon does); Shepp-Logan multiplies it by sinc, Hann by 0.5(1 + cos(2 pi k)).
 * Back-projection is the operator's adjoint A^T; for a Joseph projector the weights a voxel takes
 * from one projection sum to 1 over the detector, so A^T q interpolates q at x . theta, and
 * dtheta (radians, half the distance to the neighbouring angles) gives the integral's scaling.
 */
import type { ProjectionOperator } from './operator.ts';
import { checkTiltSeries } from './operator.ts';
import { fft, nextPow2 } from './fft.ts';
import { ConfigError } from '../../core/validate.ts';

export const FBP_FILTERS = ['ram-lak', 'shepp-logan', 'hann'] as const;
export type FbpFilter = (typeof FBP_FILTERS)[number];

/** Frequency response (length P, FFT order) of the chosen ramp filter. */
export function rampFilter(P: number, filter: FbpFilter): Float64Array {
  const re = new Float64Array(P), im = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    const n = i <= P / 2 ? i : i - P;
    if (n === 0) re[i] = 0.25;
    else if (n % 2 !== 0) re[i] = -1 / (Math.PI * n) ** 2;
  }
  fft(re, im);
  const H = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    const k = (i <= P / 2 ? i : i - P) / P; // cycles per sample, in [-0.5, 0.5]
    let w = 1;
    if (filter === 'shepp-logan' && k !== 0) { const a = Math.PI * k; w = Math.sin(a) / a; }
    else if (filter === 'hann') w = 0.5 + 0.5 * Math.cos(2 * Math.PI * k);
    H[i] = re[i] * w; // the kernel above is the band-limited ramp |k| for unit spacing, |k| <= 1/2
  }
  return H;
}

/** Angular integration weights in radians: half the distance to the neighbours (one-sided at the ends). */
export function angleWeights(anglesDeg: ArrayLike<number>): Float64Array {
  const n = anglesDeg.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => anglesDeg[a] - anglesDeg[b]);
  const w = new Float64Array(n);
  if (n === 1) { w[0] = Math.PI; return w; }
  for (let j = 0; j < n; j++) {
    const prev = j > 0 ? anglesDeg[idx[j - 1]] : anglesDeg[idx[j]] - (anglesDeg[idx[1]] - anglesDeg[idx[0]]);
    const next = j < n - 1 ? anglesDeg[idx[j + 1]] : anglesDeg[idx[j]] + (anglesDeg[idx[n - 1]] - anglesDeg[idx[n - 2]]);
    w[idx[j]] = (((next - prev) / 2) * Math.PI) / 180;
  }
  // A closed 180-degree set counted twice (e.g. -90 and +90) would double-weight one direction: cap the total at pi.
  let total = 0;
  for (const v of w) total += v;
  const range = ((anglesDeg[idx[n - 1]] - anglesDeg[idx[0]]) * Math.PI) / 180;
  if (range >= Math.PI - 1e-9 && total > Math.PI) for (let i = 0; i < n; i++) w[i] *= Math.PI / total;
  return w;
}

/** Filters every projection row of a tilt series [angle, row, col] (returns a new array). */
export function filterTiltSeries(tiltSeries: Float32Array, nAngles: number, nRows: number, nCols: number, filter: FbpFilter, anglesDeg: ArrayLike<number>): Float32Array {
  if (tiltSeries.length !== nAngles * nRows * nCols) throw new ConfigError('fbp', `tilt series length ${tiltSeries.length} != ${nAngles}x${nRows}x${nCols}`);
  const P = nextPow2(2 * nCols);
  const H = rampFilter(P, filter);
  const w = angleWeights(anglesDeg);
  const out = new Float32Array(tiltSeries.length);
  const re = new Float64Array(P), im = new Float64Array(P);
  for (let a = 0; a < nAngles; a++) for (let r = 0; r < nRows; r++) {
    const base = (a * nRows + r) * nCols;
    re.fill(0); im.fill(0);
    for (let c = 0; c < nCols; c++) re[c] = tiltSeries[base + c];
    fft(re, im);
    for (let i = 0; i < P; i++) { re[i] *= H[i]; im[i] *= H[i]; }
    fft(re, im, true);
    for (let c = 0; c < nCols; c++) out[base + c] = re[c] * w[a];
  }
  return out;
}

export interface FbpOptions { filter?: FbpFilter }

/** FBP reconstruction: filter each projection row, then back-project with the operator's adjoint (geometry from the operator). */
export async function fbp(op: ProjectionOperator, tiltSeries: Float32Array, opts: FbpOptions = {}): Promise<Float32Array> {
  const filter = opts.filter ?? 'ram-lak';
  if (!FBP_FILTERS.includes(filter)) throw new ConfigError('fbp', `filter must be one of ${FBP_FILTERS.join(', ')}, got ${filter}`);
  checkTiltSeries(op, tiltSeries, 'fbp');
  const g = op.geom;
  const q = filterTiltSeries(tiltSeries, g.angles.length, g.nz, g.nCols, filter, g.angles);
  return op.back(q);
}
