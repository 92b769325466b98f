/**
 * The evaluation method 'haadf-quant' for one (phantom, dose): quantitative HAADF tomography
 * (eval/quant; Skorikov et al., ACS Nano 13, 13421 (2019), doi:10.1021/acsnano.9b05593) on the HAADF
 * tilt series drawn at the sweep dose, no EDX at all, scored against the phantom's element volumes with
 * the harness's metrics (NRMSE and PSNR after the LS scale, 3D SSIM, Otsu Dice, and the shell-thickness
 * error of a core-shell).
 *
 * The HAADF is linearised with N0 = D a^2 at the sweep dose D (scattered-fraction model), or divided by
 * N0 (linear-legacy datasets, already linear in the projected amount), reconstructed with the run's
 * per-channel method, segmented and inverted voxel by voxel. k comes from the data ('pure', default: the
 * pure-element regions; right for core-shells and segregated particles, and flagged by a warning on an
 * alloy) or from the acquisition ('physical': a mu_Au / 79^gamma, a ln(1 - I/N0) in units of the beam;
 * legacy: a eta). gamma is the acquisition's. Elements the phantom lacks get no rows (as in the harness).
 */
import { ConfigError, InternalError } from '../../core/validate.ts';
import { validateAcquisitionConfig } from '../../generators/signal/index.ts';
import { incidentElectronsPerPixel, type HaadfParams } from '../../generators/signal/index.ts';
import type { ProjectionOperator } from '../recon/operator.ts';
import type { ChannelReconSpec } from '../recon/reconstruct.ts';
import { scaledScores, ssim3d, otsuDice, shellThicknessError } from '../metrics/index.ts';
import { quantifyTiltSeries, physicalK, type CalibrationSpec, type QuantResult } from '../quant/index.ts';
import type { VolumeMethod } from './methods.ts';

/** What haadf-quant needs of the acquisition (a dataset's simulation.acquisition; haadfAcquisition reads it). */
export interface HaadfQuantAcquisition extends HaadfParams {
  pixelSizeAngstrom: number;
  haadfModel: 'scattered-fraction' | 'linear-legacy';
  haadfEfficiency?: number;
}

export interface HaadfQuantInput {
  /** HAADF counts [angle, row, col] at the sweep dose (the harness's Poisson draw), on `op`'s geometry. */
  haadf: ArrayLike<number>;
  /** The sweep dose per projection, e/A^2. */
  dosePerProjection: number;
  /** The dataset's elements (two), in the order of `truth`. */
  elements: readonly { symbol: string; Z: number }[];
  /** The phantom's element volumes [z, y, x], one per element. */
  truth: readonly ArrayLike<number>[];
  op: ProjectionOperator;
  recon: ChannelReconSpec;
  acquisition: HaadfQuantAcquisition;
  /** 'pure' (default), 'physical' or any CalibrationSpec. */
  calibration?: 'pure' | 'physical' | CalibrationSpec;
  /** Score the shell-thickness error too (the phantom is a core-shell). */
  coreShell?: boolean;
  workers?: number;
}

export interface HaadfQuantRow { element: string; metric: 'nrmse' | 'psnr' | 'ssim3d' | 'dice' | 'shell_error'; value: number }

export interface HaadfQuantOutput {
  /** Concentration volumes in the order of `elements` (null for an element the phantom lacks, as the harness does). */
  volumes: (Float32Array | null)[];
  rows: HaadfQuantRow[];
  /** Ill-conditioning (Au/Pt) and calibration warnings: the report should show them beside the rows. */
  warnings: string[];
  quant: QuantResult;
}

/** The acquisition of a dataset config ({ simulation: { acquisition } }), validated; ConfigError if absent. */
export function haadfAcquisition(datasetConfig: unknown): HaadfQuantAcquisition {
  const sim = (datasetConfig as { simulation?: { acquisition?: unknown } } | null)?.simulation;
  if (!sim || typeof sim !== 'object') throw new ConfigError('config.simulation', 'the dataset config has no simulation.acquisition: haadf-quant needs the pixel size and the HAADF model');
  return validateAcquisitionConfig(sim.acquisition, 'config.simulation.acquisition');
}

/**
 * The concentration volumes of haadf-quant from one noisy HAADF tilt series (the one code path of
 * the method: haadfQuant below scores them for the quant bench, the harness's VolumeMethod
 * `haadfQuantMethod` hands them to the harness's scoring).
 */
export async function haadfQuantVolumes(op: ProjectionOperator, haadf: ArrayLike<number>, o: { dosePerProjection: number; elements: readonly { symbol: string; Z: number }[]; acquisition: HaadfQuantAcquisition; recon: ChannelReconSpec; calibration?: 'pure' | 'physical' | CalibrationSpec; workers?: number }): Promise<QuantResult> {
  const acq = o.acquisition;
  if (!(o.dosePerProjection > 0 && Number.isFinite(o.dosePerProjection))) throw new ConfigError('dose', `must be finite and > 0 e/A^2 per projection, got ${o.dosePerProjection}`);
  const N0 = incidentElectronsPerPixel(o.dosePerProjection, acq.pixelSizeAngstrom);
  const legacy = acq.haadfModel === 'linear-legacy';
  let series: ArrayLike<number> = haadf;
  if (legacy) {
    const s = new Float32Array(haadf.length);
    for (let i = 0; i < s.length; i++) s[i] = haadf[i] / N0;
    series = s;
  }
  const c = o.calibration ?? 'pure';
  let calibration: CalibrationSpec;
  if (c === 'pure') calibration = { kind: 'pure' };
  else if (c === 'physical') {
    const k = legacy ? acq.pixelSizeAngstrom * (acq.haadfEfficiency ?? NaN) : physicalK(acq.pixelSizeAngstrom, acq.haadfMuAu, acq.haadfGamma);
    calibration = { kind: 'k', k, source: legacy ? 'physical (legacy HAADF: a eta)' : 'physical: a mu_Au / 79^gamma' };
  } else calibration = c;
  return quantifyTiltSeries(op, series, {
    elements: o.elements, gamma: acq.haadfGamma, calibration, recon: o.recon,
    ...(legacy ? {} : { incident: N0 }), reconOptions: { workers: o.workers },
  });
}

/**
 * haadf-quant as an evaluation method of the harness (eval/harness/methods.ts VOLUME_METHODS):
 * `haadf-quant` (k from the pure regions of the data) or `haadf-quant:physical` (k from the
 * acquisition). It reads only the HAADF (edx: false), reconstructs it with the run's --recon, and
 * returns the concentration volumes with the quantification's warnings (Au/Pt ill-conditioning,
 * calibration doubts), which the harness records beside the method's rows.
 */
export const haadfQuantMethod: VolumeMethod = {
  edx: false,
  parse(args) {
    if (args.length > 1 || (args.length === 1 && !['pure', 'physical'].includes(args[0]))) throw new ConfigError('calibration', `expected 'haadf-quant' (k from the pure regions) or 'haadf-quant:physical' (k from the acquisition), got ':${args.join(':')}'`);
    return { method: 'haadf-quant', args };
  },
  async run(op, acq, spec, _param, o) {
    const q = await haadfQuantVolumes(op, acq.haadf, {
      dosePerProjection: acq.dose, elements: acq.elements, acquisition: acq.acquisition, recon: o.recon,
      calibration: spec.args[0] === 'physical' ? 'physical' : 'pure', workers: o.workers,
    });
    return { volumes: q.concentrations, warnings: q.warnings };
  },
};

/** haadf-quant for one (phantom, dose): concentration volumes and their scores (module comment). */
export async function haadfQuant(inp: HaadfQuantInput): Promise<HaadfQuantOutput> {
  if (inp.truth.length !== inp.elements.length) throw new InternalError(`haadf-quant: ${inp.truth.length} truth volumes for ${inp.elements.length} elements`);
  const quant = await haadfQuantVolumes(inp.op, inp.haadf, { dosePerProjection: inp.dosePerProjection, elements: inp.elements, acquisition: inp.acquisition, recon: inp.recon, calibration: inp.calibration, workers: inp.workers });
  const g = inp.op.geom, shape: [number, number, number] = [g.nz, g.ny, g.nx];
  const rows: HaadfQuantRow[] = [];
  const present = inp.truth.map((t) => { for (let i = 0; i < t.length; i++) if (t[i] > 0) return true; return false; });
  const volumes = quant.concentrations.map((v, e) => (present[e] ? v : null));
  inp.elements.forEach((el, e) => {
    if (!present[e]) return;
    const x = quant.concentrations[e], t = inp.truth[e];
    const sc = scaledScores(x, t);
    rows.push({ element: el.symbol, metric: 'nrmse', value: sc.nrmse });
    rows.push({ element: el.symbol, metric: 'psnr', value: sc.psnr });
    if (Math.min(...shape) >= 7) rows.push({ element: el.symbol, metric: 'ssim3d', value: ssim3d(x, t, shape) });
    rows.push({ element: el.symbol, metric: 'dice', value: otsuDice(x, t) });
  });
  if (inp.coreShell && present.every(Boolean)) {
    // the core is the element with fewer full voxels (the harness's rule)
    const vol = inp.truth.map((t) => { let n = 0; for (let i = 0; i < t.length; i++) if (t[i] > 0.5) n++; return n; });
    const core = vol[0] <= vol[1] ? 0 : 1, shell = 1 - core;
    rows.push({ element: `${inp.elements[core].symbol}/${inp.elements[shell].symbol}`, metric: 'shell_error', value: shellThicknessError(quant.concentrations[core], quant.concentrations[shell], inp.truth[core], inp.truth[shell]) });
  }
  return { volumes, rows, warnings: quant.warnings, quant };
}
