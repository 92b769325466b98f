/**
 * Quantitative HAADF tomography: two-element concentrations from the HAADF alone (Skorikov et al.,
 * ACS Nano 13, 13421 (2019), doi:10.1021/acsnano.9b05593).
 *
 *   1. linearise the HAADF tilt series, L = -ln(1 - I / N0) = sum_e mu_e t_e (generators/signal/haadf.ts;
 *      N0 = D a^2 incident electrons per pixel), or take a tilt series already linear in the projected amount;
 *   2. reconstruct L with any per-channel method (eval/recon reconstruct: SIRT, FBP, TV) to v;
 *   3. segment the particle (a given threshold, or Otsu lowered so the light element stays in: segment.ts);
 *   4. calibrate k (calibrate.ts: pure regions, the particle's total HAADF against its volume at a known
 *      mean composition, or a given / physical k);
 *   5. per voxel of the particle solve v = k (c_A Z_A^gamma + c_B Z_B^gamma), c_A + c_B = 1:
 *      c_A = (v / k - Z_B^gamma) / (Z_A^gamma - Z_B^gamma), clipped to [0, 1]; outside the particle both 0.
 *
 * Assumptions (each biases the answer where it fails):
 *  - full density, no voids: every particle voxel is filled by A and B alone (a void or a lighter third
 *    element reads as more B), except the surface layer, whose partial volume is read as a density with
 *    its neighbours' composition (`surface`, default 'partial-volume'; with 'full-density' a voxel partly
 *    filled with A reads as B);
 *  - linear projection: the linearised HAADF is the line integral of sum_e mu_e x_e (incoherent single
 *    scattering, no channelling; the exponential absorption is undone by step 1 only if the HAADF is in
 *    counts with the incident dose known, otherwise the user's tilt series is taken as linear);
 *  - contrast Z^gamma with one known gamma (default 1.7; 1.6-1.8 measured, Krivanek et al., Nature 464, 571
 *    (2010), doi:10.1038/nature08879): a wrong gamma shifts every intermediate concentration;
 *  - the reconstruction is quantitative inside the particle (enough tilts and iterations; the missing wedge
 *    and noise enter v directly and are amplified by F = 1 / (1 - (Z_B/Z_A)^gamma), elements.ts);
 *  - exactly two elements of different Z. Where F exceeds MAX_AMPLIFICATION (Au/Pt: Z ratio 0.987,
 *    F = 46.7) the result carries a warning instead of being presented as an answer.
 */
import type { ProjectionOperator } from '../recon/operator.ts';
import { reconstruct, type ChannelReconSpec, type ReconOptions } from '../recon/reconstruct.ts';
import { haadfLinearise } from '../../generators/signal/index.ts';
import { ConfigError, checkNumber } from '../../core/validate.ts';
import { checkQuantElements, conditioning, type Conditioning, type QuantElement } from './elements.ts';
import { calibrate, type Calibration, type CalibrationSpec } from './calibrate.ts';
import { dilate, erode, particleThreshold, segmentParticle, type Shape3 } from './segment.ts';

export interface QuantOptions {
  /** The two elements, in the order the concentration volumes come back. */
  elements: readonly (string | QuantElement)[];
  /** Contrast exponent (default 1.7). */
  gamma?: number;
  calibration: CalibrationSpec;
  /** Particle threshold on the reconstruction; default: Otsu, lowered (segment.ts), or half the light element's level when k is given. */
  threshold?: number;
  /** Depth (voxels) of the interior the 'pure' calibration reads (default 2). */
  interiorDepth?: number;
  /** Noise amplification above which the answer is flagged ill-conditioned (default 10). */
  maxAmplification?: number;
  /**
   * 'partial-volume' (default): full density is assumed one voxel in from the particle's surface; the
   * surface layer (the mask's outer voxel and one voxel beyond) takes the composition of its nearest
   * full-density neighbours and a density rho = v / (k (c_A Z_A^g + c_B Z_B^g)) in [0, 1], so a voxel
   * partly filled with A does not read as full of B. 'full-density': every mask voxel is full.
   */
  surface?: 'partial-volume' | 'full-density';
}

/**
 * The surface layer (`layer` minus `full`): composition spread outwards from the full-density voxels
 * (mean of the already set 6-neighbours, up to 4 passes, else the mean composition), density from v.
 */
function partialVolumeSurface(v: ArrayLike<number>, shape: Shape3, full: Uint8Array, layer: Uint8Array, k: number, gA: number, gB: number, cA: Float32Array, cB: Float32Array): void {
  const [nz, ny, nx] = shape, n = v.length;
  const comp = new Float32Array(n), set = Uint8Array.from(full);
  let mean = 0, nFull = 0;
  for (let i = 0; i < n; i++) if (full[i]) { comp[i] = cA[i]; mean += cA[i]; nFull++; }
  mean /= Math.max(1, nFull);
  const todo: number[] = [];
  for (let i = 0; i < n; i++) if (layer[i] && !full[i]) todo.push(i);
  const next = new Float32Array(n);
  for (let pass = 0; pass < 4; pass++) {
    const newly: number[] = [];
    for (const i of todo) {
      if (set[i]) continue;
      const x = i % nx, y = Math.floor(i / nx) % ny, z = Math.floor(i / (nx * ny));
      let s = 0, c = 0;
      if (x > 0 && set[i - 1]) { s += comp[i - 1]; c++; }
      if (x < nx - 1 && set[i + 1]) { s += comp[i + 1]; c++; }
      if (y > 0 && set[i - nx]) { s += comp[i - nx]; c++; }
      if (y < ny - 1 && set[i + nx]) { s += comp[i + nx]; c++; }
      if (z > 0 && set[i - nx * ny]) { s += comp[i - nx * ny]; c++; }
      if (z < nz - 1 && set[i + nx * ny]) { s += comp[i + nx * ny]; c++; }
      if (c) { next[i] = s / c; newly.push(i); }
    }
    for (const i of newly) { comp[i] = next[i]; set[i] = 1; }
    if (!newly.length) break;
  }
  for (const i of todo) {
    const c = set[i] ? comp[i] : mean;
    const rho = Math.min(1, Math.max(0, v[i] / (k * (c * gA + (1 - c) * gB))));
    cA[i] = rho * c; cB[i] = rho * (1 - c);
  }
}

export interface QuantResult {
  /** Concentration volumes [z, y, x] in [0, 1], in the order of `elements`. */
  concentrations: Float32Array[];
  elements: [QuantElement, QuantElement];
  /** 1 inside the segmented particle (before the partial-volume layer beyond it). */
  mask: Uint8Array;
  calibration: Calibration & { gamma: number; threshold: number; thresholdSource: 'given' | 'otsu' | 'light-element level' };
  conditioning: Conditioning;
  /** Ill-conditioning and calibration warnings (empty when the answer is well posed). */
  warnings: string[];
}

/** Steps 3-5 on a reconstructed HAADF volume v (module comment). */
export function quantifyVolume(volume: ArrayLike<number>, shape: Shape3, o: QuantOptions): QuantResult {
  const [e0, e1] = checkQuantElements(o.elements);
  const gamma = o.gamma ?? 1.7;
  checkNumber('gamma', gamma, 1, 2.5);
  if (o.maxAmplification !== undefined) checkNumber('maxAmplification', o.maxAmplification, 1, 1e6);
  const n = shape[0] * shape[1] * shape[2];
  if (!shape.every((d) => Number.isInteger(d) && d >= 1) || volume.length !== n) throw new ConfigError('volume', `has ${volume.length} values; shape ${shape.join(' x ')} needs ${n}`);
  for (let i = 0; i < n; i++) if (!Number.isFinite(volume[i])) throw new ConfigError('volume', `holds a non-finite value (${volume[i]} at index ${i}); the reconstruction must be finite`);
  if (o.threshold !== undefined && !Number.isFinite(o.threshold)) throw new ConfigError('threshold', `must be a finite number, got ${o.threshold}`);
  const depth = o.interiorDepth ?? 2;
  checkNumber('interiorDepth', depth, 0, 64, { integer: true });
  const [heavy, light] = e0.Z > e1.Z ? [e0, e1] : [e1, e0];
  const cond = conditioning(heavy, light, gamma, o.maxAmplification);
  const gA = Math.pow(heavy.Z, gamma), gB = Math.pow(light.Z, gamma);
  let threshold: number, thresholdSource: QuantResult['calibration']['thresholdSource'];
  if (o.threshold !== undefined) { threshold = o.threshold; thresholdSource = 'given'; }
  else if (o.calibration.kind === 'k') { threshold = 0.5 * o.calibration.k * gB; thresholdSource = 'light-element level'; }
  else { threshold = particleThreshold(volume, gB / gA).threshold; thresholdSource = 'otsu'; }
  const mask = segmentParticle(volume, shape, threshold);
  const cal = calibrate(volume, shape, mask, heavy, light, gamma, o.calibration, depth);
  const cHeavy = new Float32Array(n), cLight = new Float32Array(n);
  const inv = 1 / (cal.k * (gA - gB)), off = gB / (gA - gB);
  const surface = o.surface ?? 'partial-volume';
  const core = surface === 'partial-volume' ? erode(mask, shape, 1) : mask;
  let nCore = 0;
  for (let i = 0; i < n; i++) nCore += core[i];
  const full = nCore > 0 ? core : mask;
  for (let i = 0; i < n; i++) {
    if (!full[i]) continue;
    const c = Math.min(1, Math.max(0, volume[i] * inv - off));
    cHeavy[i] = c; cLight[i] = 1 - c;
  }
  if (surface === 'partial-volume' && full !== mask) partialVolumeSurface(volume, shape, full, dilate(mask, shape, 1), cal.k, gA, gB, cHeavy, cLight);
  const warnings = [...(cond.warning ? [cond.warning] : []), ...cal.warnings];
  return {
    concentrations: e0 === heavy ? [cHeavy, cLight] : [cLight, cHeavy],
    elements: [e0, e1], mask,
    calibration: { ...cal, gamma, threshold, thresholdSource },
    conditioning: cond, warnings,
  };
}

export interface TiltSeriesQuantOptions extends QuantOptions {
  /** Per-channel reconstruction (SIRT, FBP, TV). */
  recon: ChannelReconSpec;
  /**
   * N0 = D a^2 incident electrons per pixel: the tilt series is HAADF counts and is linearised first.
   * Absent: the tilt series is already linear in the projected amount (thin-sample HAADF, or linearised).
   */
  incident?: number;
  reconOptions?: ReconOptions;
}

/** Steps 1-5 on a HAADF tilt series [angle, row, col] on the operator's geometry; also returns the HAADF volume v. */
export async function quantifyTiltSeries(op: ProjectionOperator, tiltSeries: ArrayLike<number>, o: TiltSeriesQuantOptions): Promise<QuantResult & { haadfVolume: Float32Array }> {
  checkQuantElements(o.elements);
  if (tiltSeries.length !== op.tiltSeriesSize) throw new ConfigError('tilt series', `has ${tiltSeries.length} values; the geometry (${op.geom.angles.length} tilts x ${op.geom.nz} rows x ${op.geom.nCols} columns) needs ${op.tiltSeriesSize}`);
  if (o.incident !== undefined && !(o.incident > 0 && Number.isFinite(o.incident))) throw new ConfigError('incident', `electrons per pixel N0 = D a^2 must be finite and > 0, got ${o.incident}`);
  const linear = o.incident !== undefined ? haadfLinearise(tiltSeries, o.incident) : Float32Array.from(tiltSeries);
  const g = op.geom;
  const v = await reconstruct(op, linear, o.recon, o.reconOptions);
  return { ...quantifyVolume(v, [g.nz, g.ny, g.nx], o), haadfVolume: v };
}
