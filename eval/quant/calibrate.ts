/**
 * Calibration of k in v = k (c_A Z_A^gamma + c_B Z_B^gamma), the reconstructed HAADF per voxel at full
 * density (Skorikov et al., ACS Nano 13, 13421 (2019), doi:10.1021/acsnano.9b05593).
 *
 * A uniform particle's HAADF fixes only k times its mean Z^gamma: k and the composition cannot both come
 * from the HAADF of a homogeneous alloy. So k comes from one of:
 *  - 'pure' (data only; the paper's choice, which references pure-element regions): the particle's
 *    interior is split in two by Otsu, and the medians of the bright and dark classes are taken as pure A
 *    (heavier) and pure B; k is their least-squares fit, k = (m_A Z_A^g + m_B Z_B^g) / (Z_A^2g + Z_B^2g).
 *    Needs a region of each element (a core-shell, a segregated particle). When the two classes do not
 *    read as pure (an alloy, a gradient), a warning says what they read as.
 *  - 'composition' (the particle's total HAADF against its volume): with the particle's mean fraction f of
 *    A known (synthesis ratio, one EDX spectrum of the whole particle),
 *    k = sum_{mask dilated by 2} v / (|mask| (f Z_A^g + (1 - f) Z_B^g)).
 *  - 'k' (given): e.g. `physicalK`: the HAADF linearised in units of the incident beam,
 *    -ln(1 - I / N0) = sum_e mu_e t_e (generators/signal/haadf.ts), reconstructs to v = a sum_e mu_e x_e, so
 *    k = a mu_Au / 79^gamma with a the pixel size and mu_Au the Au cross-section times its atom density.
 */
import { ConfigError } from '../../core/validate.ts';
import { HAADF_REFERENCE_Z } from '../../generators/signal/haadf.ts';
import { otsuThreshold } from '../metrics/index.ts';
import { dilate, erode, medianWhere, type Shape3 } from './segment.ts';
import type { QuantElement } from './elements.ts';

export type CalibrationSpec =
  | { kind: 'pure' }
  | { kind: 'composition'; fraction: number; element?: string }
  | { kind: 'k'; k: number; source?: string };

export interface Calibration {
  kind: CalibrationSpec['kind'];
  k: number;
  /** How k was found, one line. */
  detail: string;
  warnings: string[];
}

/** k of a linearised HAADF in units of the incident beam (module comment). */
export function physicalK(pixelSizeAngstrom: number, muAu: number, gamma: number): number {
  return (pixelSizeAngstrom * muAu) / Math.pow(HAADF_REFERENCE_Z, gamma);
}

/**
 * 'pure', 'physical' (k = physicalK from `physical`, which the caller knows from the acquisition),
 * 'composition:F' (F = mean fraction of `firstElement`) or 'k:VALUE'; ConfigError otherwise.
 */
export function parseCalibration(spec: string, o: { field?: string; firstElement?: string; physical?: { pixelSizeAngstrom: number; muAu: number; gamma: number } } = {}): CalibrationSpec {
  const field = o.field ?? 'calibration';
  const [kind, a] = spec.split(':');
  if (kind === 'pure' && a === undefined) return { kind };
  if (kind === 'physical' && a === undefined) {
    const p = o.physical;
    if (!p) throw new ConfigError(field, `'physical' needs the HAADF in units of the incident beam (a tilt series of counts with its dose), the pixel size and mu_Au; use 'pure', 'composition:F' or 'k:VALUE'`);
    return { kind: 'k', k: physicalK(p.pixelSizeAngstrom, p.muAu, p.gamma), source: `physical: a mu_Au / 79^gamma with a = ${p.pixelSizeAngstrom} A, mu_Au = ${p.muAu.toPrecision(4)} per A, gamma = ${p.gamma}` };
  }
  if (kind === 'composition') {
    const f = Number(a);
    if (a === undefined || !(f >= 0 && f <= 1)) throw new ConfigError(field, `composition needs the particle's mean fraction of the first listed element in [0, 1], e.g. 'composition:0.3'; got '${spec}'`);
    return { kind, fraction: f, ...(o.firstElement ? { element: o.firstElement } : {}) };
  }
  if (kind === 'k') {
    const k = Number(a);
    if (a === undefined || !(k > 0 && Number.isFinite(k))) throw new ConfigError(field, `k needs a finite value > 0, e.g. 'k:1e-6'; got '${spec}'`);
    return { kind, k, source: 'given' };
  }
  throw new ConfigError(field, `must be 'pure', 'physical', 'composition:F' or 'k:VALUE'; got '${spec}'`);
}

/**
 * k from the volume (module comment). `heavy`/`light` are the pair ordered by Z; `fraction` of a
 * 'composition' spec is of `spec.element` (default the heavy one).
 */
export function calibrate(volume: ArrayLike<number>, shape: Shape3, mask: Uint8Array, heavy: QuantElement, light: QuantElement, gamma: number, spec: CalibrationSpec, interiorDepth = 2): Calibration {
  const gA = Math.pow(heavy.Z, gamma), gB = Math.pow(light.Z, gamma);
  if (spec.kind === 'k') {
    if (!(spec.k > 0 && Number.isFinite(spec.k))) throw new ConfigError('calibration.k', `must be finite and > 0, got ${spec.k}`);
    return { kind: 'k', k: spec.k, detail: `k = ${spec.k.toPrecision(4)} (${spec.source ?? 'given'})`, warnings: [] };
  }
  let nMask = 0;
  for (let i = 0; i < mask.length; i++) nMask += mask[i];
  if (nMask === 0) throw new ConfigError('threshold', 'no voxel of the reconstruction lies above the particle threshold: nothing to calibrate on (is the HAADF empty, or the threshold too high?)');
  if (spec.kind === 'composition') {
    const f = spec.element === undefined || spec.element === heavy.symbol ? spec.fraction : 1 - spec.fraction;
    if (!(f >= 0 && f <= 1)) throw new ConfigError('calibration.fraction', `must be in [0, 1], got ${spec.fraction}`);
    const wide = dilate(mask, shape, 2);
    let S = 0;
    for (let i = 0; i < wide.length; i++) if (wide[i]) S += volume[i];
    const k = S / (nMask * (f * gA + (1 - f) * gB));
    return { kind: 'composition', k, detail: `k = ${k.toPrecision(4)} from the particle's total HAADF ${S.toPrecision(4)} over its ${nMask} voxels at a mean ${heavy.symbol} fraction ${f}`, warnings: [] };
  }
  // The interior at the requested depth; a speckled low-dose mask may have none, then shallower (said in a warning).
  const warnings: string[] = [];
  let vals: number[] = [], depth = interiorDepth;
  for (; depth >= 0; depth--) {
    const interior = depth > 0 ? erode(mask, shape, depth) : mask;
    vals = [];
    for (let i = 0; i < interior.length; i++) if (interior[i]) vals.push(volume[i]);
    if (vals.length >= 2) break;
  }
  if (vals.length < 2) throw new ConfigError('calibration', `'pure' needs at least 2 voxels in the particle, found ${nMask}; use 'composition:F' or 'k:VALUE'`);
  if (depth < interiorDepth) warnings.push(`calibration 'pure': the particle has no interior ${interiorDepth} voxels in from its surface (a noisy or thin segmentation); read the pure levels ${depth} voxel(s) in`);
  const nIn = vals.length;
  const t = otsuThreshold(vals);
  const mA = medianWhere(vals, (x) => x > t), mB = medianWhere(vals, (x) => x <= t);
  const hi = Number.isFinite(mA) ? mA : mB, lo = Number.isFinite(mB) ? mB : mA;
  const k = (hi * gA + lo * gB) / (gA * gA + gB * gB);
  const readA = (hi / k - gB) / (gA - gB), readB = (lo / k - gB) / (gA - gB);
  if (Math.abs(readA - 1) > 0.1 || Math.abs(readB) > 0.1) {
    warnings.push(`calibration 'pure': the interior's bright and dark classes read as ${heavy.symbol} fractions ${readA.toFixed(2)} and ${readB.toFixed(2)} instead of 1 and 0: the particle seems to have no pure ${Math.abs(readA - 1) > 0.1 ? heavy.symbol : ''}${Math.abs(readA - 1) > 0.1 && Math.abs(readB) > 0.1 ? ' or ' : ''}${Math.abs(readB) > 0.1 ? light.symbol : ''} region (an alloy?), or gamma is off; give 'composition:F' or 'k:VALUE'`);
  }
  return { kind: 'pure', k, detail: `k = ${k.toPrecision(4)} from the interior's bright class (median ${hi.toPrecision(4)}, taken as pure ${heavy.symbol}) and dark class (median ${lo.toPrecision(4)}, pure ${light.symbol}), ${nIn} interior voxels`, warnings };
}
