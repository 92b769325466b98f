/**
 * Volume metrics per element (science.md section 7): NRMSE and PSNR after a least-squares
 * intensity scale, Otsu threshold (skimage threshold_otsu semantics), Dice of the thresholded
 * particle, and shell thickness of a core-shell particle.
 */
import { ssim } from './image.ts';
import { ConfigError } from '../../core/validate.ts';

/** Least-squares scale s minimising ||s x - y||^2: s = <x, y> / <x, x> (0 when x = 0). */
export function lsScale(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let xy = 0, xx = 0;
  for (let i = 0; i < x.length; i++) { xy += x[i] * y[i]; xx += x[i] * x[i]; }
  return xx > 0 ? xy / xx : 0;
}

export interface ScaledScores { scale: number; nrmse: number; psnr: number }

/**
 * Scores of a reconstruction `recon` against the truth after the least-squares scale s:
 * NRMSE = ||s x - y|| / ||y||, PSNR = 10 log10(range(y)^2 / mean((s x - y)^2)).
 * The scale removes the unknown intensity calibration of a reconstructed element map.
 */
export function scaledScores(recon: ArrayLike<number>, truth: ArrayLike<number>): ScaledScores {
  if (recon.length !== truth.length) throw new ConfigError('scaledScores', `lengths differ ${recon.length} vs ${truth.length}`);
  const s = lsScale(recon, truth);
  let se = 0, yy = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < truth.length; i++) {
    const y = truth[i], e = s * recon[i] - y;
    se += e * e; yy += y * y;
    if (y < lo) lo = y; if (y > hi) hi = y;
  }
  const range = hi - lo;
  return {
    scale: s,
    nrmse: yy > 0 ? Math.sqrt(se / yy) : Math.sqrt(se / truth.length),
    psnr: range > 0 ? 10 * Math.log10((range * range) / (se / truth.length)) : NaN,
  };
}

/** NRMSE after the least-squares scale. */
export function nrmseScaled(recon: ArrayLike<number>, truth: ArrayLike<number>): number {
  return scaledScores(recon, truth).nrmse;
}

let scaled = new Float64Array(0);

/** 3D SSIM (skimage semantics, 7^3 uniform window) with data range of the truth, after the LS scale. */
export function ssim3d(recon: ArrayLike<number>, truth: ArrayLike<number>, shape: [number, number, number], opts: { scale?: boolean } = {}): number {
  const s = opts.scale === false ? 1 : lsScale(recon, truth);
  // the scaled reconstruction in a buffer kept between calls (no 2 MB allocation per 64^3 volume;
  // volumes above 2^19 voxels allocate, so a 128^3 evaluation does not hold 16 MB per thread)
  if (scaled.length < recon.length && recon.length <= 1 << 19) scaled = new Float64Array(recon.length);
  const x = scaled.length >= recon.length ? (scaled.length === recon.length ? scaled : scaled.subarray(0, recon.length)) : new Float64Array(recon.length);
  for (let i = 0; i < x.length; i++) x[i] = s * recon[i];
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < truth.length; i++) { const v = truth[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
  const range = hi - lo > 0 ? hi - lo : 1;
  const sh = shape[0] === 1 ? [shape[1], shape[2]] : shape;
  return ssim(truth, x, sh, range);
}

/**
 * Otsu's threshold (Otsu 1979) with skimage's semantics: 256-bin histogram over [min, max], bin
 * centres, threshold = centre of the bin maximising the between-class variance
 * w1(k) w2(k+1) (m1(k) - m2(k+1))^2.
 */
export function otsuThreshold(values: ArrayLike<number>, nbins = 256): number {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) { const v = values[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
  if (!(hi > lo)) return lo;
  const hist = new Float64Array(nbins);
  const width = (hi - lo) / nbins;
  for (let i = 0; i < values.length; i++) {
    let b = Math.floor((values[i] - lo) / width);
    if (b >= nbins) b = nbins - 1; // numpy puts the maximum into the last bin
    if (b < 0) b = 0;
    hist[b]++;
  }
  const centres = new Float64Array(nbins);
  for (let b = 0; b < nbins; b++) centres[b] = lo + (b + 0.5) * width;
  const w1 = new Float64Array(nbins), m1 = new Float64Array(nbins), w2 = new Float64Array(nbins), m2 = new Float64Array(nbins);
  let cw = 0, cm = 0;
  for (let b = 0; b < nbins; b++) { cw += hist[b]; cm += hist[b] * centres[b]; w1[b] = cw; m1[b] = cm / cw; }
  cw = 0; cm = 0;
  for (let b = nbins - 1; b >= 0; b--) { cw += hist[b]; cm += hist[b] * centres[b]; w2[b] = cw; m2[b] = cm / cw; }
  let best = -Infinity, idx = 0;
  for (let b = 0; b < nbins - 1; b++) {
    const dm = m1[b] - m2[b + 1];
    const v = w1[b] * w2[b + 1] * dm * dm;
    if (v > best) { best = v; idx = b; } // first maximum, as numpy.argmax (NaN from empty classes never wins)
  }
  return centres[idx];
}

/** Boolean mask (Uint8Array) of values > threshold. */
export function thresholdMask(values: ArrayLike<number>, threshold: number): Uint8Array {
  const m = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) m[i] = values[i] > threshold ? 1 : 0;
  return m;
}

/** Dice coefficient 2|A and B| / (|A| + |B|); 1 when both masks are empty. */
export function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ConfigError('dice', `lengths differ ${a.length} vs ${b.length}`);
  let inter = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { const x = a[i] ? 1 : 0, y = b[i] ? 1 : 0; inter += x & y; na += x; nb += y; }
  return na + nb === 0 ? 1 : (2 * inter) / (na + nb);
}

/** Dice of the Otsu-thresholded reconstruction against the truth thresholded at `truthLevel` (default 0.5). */
export function otsuDice(recon: ArrayLike<number>, truth: ArrayLike<number>, truthLevel = 0.5): number {
  return dice(thresholdMask(recon, otsuThreshold(recon)), thresholdMask(truth, truthLevel));
}

/**
 * Shell thickness of a core-shell particle from voxel counts, by equivalent spheres:
 * t = r(core + shell) - r(core), r(V) = (3 V / (4 pi))^(1/3) in voxel units. Exact for concentric
 * spheres, and the volume-averaged thickness for other convex shapes.
 */
export function shellThickness(coreMask: ArrayLike<number>, shellMask: ArrayLike<number>): number {
  let nc = 0, ns = 0;
  for (let i = 0; i < coreMask.length; i++) { if (coreMask[i]) nc++; else if (shellMask[i]) ns++; }
  const r = (v: number) => Math.cbrt((3 * v) / (4 * Math.PI));
  return r(nc + ns) - r(nc);
}

/**
 * Shell-thickness error |t(recon) - t(truth)| in voxels for core and shell element maps: each map is
 * Otsu-thresholded in the reconstruction, and thresholded at 0.5 in the truth.
 */
export function shellThicknessError(reconCore: ArrayLike<number>, reconShell: ArrayLike<number>, truthCore: ArrayLike<number>, truthShell: ArrayLike<number>): number {
  const tr = shellThickness(thresholdMask(reconCore, otsuThreshold(reconCore)), thresholdMask(reconShell, otsuThreshold(reconShell)));
  const tt = shellThickness(thresholdMask(truthCore, 0.5), thresholdMask(truthShell, 0.5));
  return Math.abs(tr - tt);
}
