/**
 * Joint HAADF + EDX reconstruction: fused multi-modal, bimodal and TNV, one alternating iteration
 * (engine.ts) on the model
 *
 *   b_H = P sum_e c_e u_e          linearised HAADF, -ln(1 - I/N0), per ray (generators/signal
 *                                  haadfLinearise); c_e = r_e / k_e with r_e = mu_e a the HAADF
 *                                  coefficient per voxel length of pure element e (mu_e = mu_Au (Z_e/79)^gamma),
 *   E[b_e] = P u_e                 EDX counts of element e; u_e = k_e x_e, x_e the volume fraction,
 *                                  k_e the EDX counts per voxel length of pure element (unknown on real data),
 *
 * so u_e is in the units SIRT of the EDX series gives, and the HAADF model volume h = sum_e c_e u_e
 * is sum_e mu_e a x_e. The k_e are relative k-factors rho_e (default all 1: the simulator uses one
 * yield for every element) times one scale k fitted by conservation of mass: summed over all rays,
 * sum b_H = sum_e (r_e / (k rho_e)) sum b_e, so 1/k = sum b_H / sum_e (r_e / rho_e) sum b_e
 * (unbiased under Poisson noise, and under any denoiser that keeps the counts).
 *
 * The methods (x >= 0); the objective reported per iteration is
 *   alpha_H/2 ||P h - b_H||^2_W  +  lambda_chem sum_e (1^T P u_e - b_e^T ln P u_e)  +  lambda_TV R(u),
 * W = 1/Var(b_H) per ray (Var of -ln(1 - I/N0) for Poisson I: (e^{b_H} - 1)/N0), so both data terms are
 * negative log-likelihoods:
 *  - fused (Schwartz et al., npj Comput. Mater. 8, 16 (2022), doi:10.1038/s41524-021-00692-5; 3D:
 *    Nat. Commun. 15, 3555 (2024), doi:10.1038/s41467-024-47558-0): per iteration a SIRT step on the
 *    HAADF (lifted to the elements along c), an ML-EM step on each element's EDX, a clip at 0 and TV by
 *    FGP; the two data steps are balanced by the gain omega from their noise levels (engine.ts;
 *    lambda_chem -> infinity: ML-EM on the EDX alone), the HAADF step lifted by each element's share of h.
 *    The published HAADF term raises concentrations to a power gamma (HAADF ~ sum (Z_e x_e)^gamma); in
 *    nanodose's simulator the linearised HAADF is linear in the element amounts (Z^gamma is inside
 *    mu_e), so the exponent on x is 1 here. Like the paper's scheme, the iteration is balanced by step
 *    sizes: its fixed point is stationary for each data term in its own metric, not exactly the minimiser
 *    of the weighted sum above (which is reported to follow convergence).
 *  - bimodal (Zhong et al., Ultramicroscopy 174, 35 (2017), doi:10.1016/j.ultramic.2016.12.008): both
 *    data terms least squares (SIRT steps on the HAADF and on each EDX series), weight alpha between them
 *    (alpha_H = alpha, lambda_chem = 1 - alpha in omega); no regulariser.
 *  - TNV (Zhong et al., Ultramicroscopy 191, 34 (2018), doi:10.1016/j.ultramic.2018.04.007): fused's data
 *    steps with lambda sum_voxels ||J(u)||_* (nuclear norm of the Jacobian whose rows are grad u_e and,
 *    with the HAADF channel, s grad h, s = 1 / mean_e c_e putting h in the u units), its prox by FGP on
 *    the dual with the spectral-ball projection (the paper solves it by Chambolle-Pock).
 *
 * Hyper-parameters scale with the data: the HAADF weights from N0 (dose x pixel area), the EDX terms are
 * in counts, the TV/TNV prox is taken at the EM step scale mean(u)/mean(P^T 1), and the default weight is
 * lambda = 6 / sqrt(m) (TNV: 18 / sqrt(m)), m the mean EDX count per element on the HAADF's support (the data's relative
 * Poisson noise, so lower doses are smoothed more; defaultRegularisation). The evaluation tunes a factor on
 * it per dose on validation phantoms; on real data `--weight auto` chooses one by the discrepancy principle
 * (weight.ts; held-out thinning splits picked the smallest weight and are not offered; see eval/README.md).
 */
import type { ProjectionOperator, IterationRecord } from '../operator.ts';
import { checkTiltSeries } from '../operator.ts';
import type { Progress } from '../../../core/progress.ts';
import { jointSolve } from './engine.ts';
import { ConfigError } from '../../../core/validate.ts';

export const JOINT_METHODS = ['fused', 'bimodal', 'tnv'] as const;
export type JointMethod = (typeof JOINT_METHODS)[number];

export interface JointSpec {
  kind: JointMethod;
  iterations: number;
  /** EM (Poisson ML) iterations on the EDX alone for the starting point (default 10). */
  warmStart?: number;
  /** Weight of the HAADF term (fused/tnv: alpha_H, default 1; bimodal: alpha in [0, 1], default 0.5). */
  alpha?: number;
  /** Weight of the EDX Poisson term (fused/tnv, default 1). */
  lambdaChem?: number;
  /** TV (fused) or TNV (tnv) weight, in units of the Poisson log-likelihood (default 6 (TV) or 18 (TNV) / sqrt(mean EDX count per element on the HAADF support): defaultRegularisation). */
  regularisation?: number;
  /** TNV: couple the HAADF model volume's gradient too (default true). */
  haadfChannel?: boolean;
}

const DEFAULTS = { fused: { iterations: 100 }, bimodal: { iterations: 100, p: 0.5 }, tnv: { iterations: 100 } } as const;

/** 'fused[:iterations[:tv]]', 'bimodal[:iterations[:alpha]]', 'tnv[:iterations[:weight]]'. */
export function parseJointSpec(spec: string): JointSpec {
  const [kind, a, b, extra] = spec.split(':');
  if (!(JOINT_METHODS as readonly string[]).includes(kind)) throw new ConfigError('recon', `unknown joint method '${kind}'; allowed: ${JOINT_METHODS.join(', ')}`);
  const k = kind as JointMethod;
  if (extra !== undefined) throw new ConfigError('recon', `${k} takes at most 2 parameters (${k}:iterations:${k === 'bimodal' ? 'alpha' : 'weight'}), got '${spec}'`);
  const it = a === undefined || a === '' ? DEFAULTS[k].iterations : Number(a);
  if (!Number.isInteger(it) || it < 1 || it > 10000) throw new ConfigError('recon', `${k} iterations must be an integer in [1, 10000], got '${a}'`);
  if (k === 'bimodal') {
    const p = b === undefined || b === '' ? DEFAULTS.bimodal.p : Number(b);
    if (!(p >= 0 && p <= 1)) throw new ConfigError('recon', `bimodal alpha (HAADF weight) must be in [0, 1], got '${b}'`);
    return { kind: k, iterations: it, alpha: p };
  }
  if (b === undefined || b === '') return { kind: k, iterations: it };
  const p = Number(b);
  if (!(p >= 0) || !Number.isFinite(p)) throw new ConfigError('recon', `${k} ${k === 'fused' ? 'TV' : 'TNV'} weight must be a finite number >= 0, got '${b}'`);
  return { kind: k, iterations: it, regularisation: p };
}

/** What a joint method reconstructs from. */
export interface JointTiltSeries {
  /** EDX counts, one tilt series per element (empty: HAADF only). */
  edx: Float32Array[];
  /** Element names (for messages), as many as HAADF weights. */
  elements: string[];
  /** Linearised HAADF tilt series -ln(1 - I/N0) (generators/signal haadfLinearise). */
  haadf: Float32Array;
  /** r_e = mu_e a: linearised HAADF per voxel length of pure element e (generators/signal haadfCoefficients x pixel size). */
  haadfWeights: number[];
  /** Incident electrons per pixel N0 = dose x a^2 (sets the HAADF noise weights). */
  incident: number;
  /** Relative EDX k-factors rho_e (default all 1). */
  edxRelativeScale?: number[];
  /** EDX counts per voxel length of pure element (k); default fitted by conservation of mass. */
  edxScale?: number;
}

export interface JointVolumes {
  /** u_e per element (EDX counts per voxel length; x_e = u_e / k_e). */
  volumes: Float32Array[];
  /** HAADF model volume h = sum_e c_e u_e (linearised HAADF per voxel length). */
  haadfVolume: Float32Array;
  /** The k used (fitted or given) and c_e. */
  edxScale: number;
  haadfCoupling: number[];
  history: IterationRecord[];
}

/**
 * The EDX data's count scale for the default weight: the mean count per element over the object's
 * projected support, m = sum_e sum_{i in S} b_e,i / (nE |S|), S = the rays whose linearised HAADF is at
 * least 10 % of its 99.5th percentile (the HAADF carries ~100x the EDX's counts, so its support is sharp
 * at any dose and unchanged by denoising the EDX). Without a HAADF support (none given, or all zero) S is
 * the rays with EDX counts. The support matters: at the demo's doses most lit EDX pixels hold one count,
 * so the mean over lit pixels stayed ~1.0-1.25 from 30 to 3000 e/A^2 and a weight built on it did not
 * follow the dose at all (the tuned factors on it were 30-100x for raw counts and 1-3x for Gaussian-
 * denoised maps, whose every pixel is lit).
 */
export function edxCountScale(edx: Float32Array[], haadf?: Float32Array): number {
  if (edx.length === 0) return 0;
  let thr = Infinity;
  if (haadf && haadf.length === edx[0].length) {
    const sorted = Float32Array.from(haadf).sort();
    const p = sorted[Math.min(sorted.length - 1, Math.floor(0.995 * sorted.length))];
    if (p > 0) thr = 0.1 * p;
  }
  let s = 0, n = 0;
  if (thr < Infinity) {
    for (let i = 0; i < haadf!.length; i++) if (haadf![i] >= thr) { n++; for (const b of edx) s += b[i]; }
    n *= edx.length;
  } else for (const b of edx) for (let i = 0; i < b.length; i++) if (b[i] > 0) { s += b[i]; n++; }
  return n ? s / n : 0;
}

/**
 * Default TV/TNV weight: lambda = K / sqrt(m), m = edxCountScale (the mean EDX count per element on the
 * object's support): the data's relative Poisson noise 1 / sqrt(m) times a constant K chosen where the
 * demo's validation PSNR peaked (joint-eval, 64^3, 29 tilts, 30-3000 e/A^2, one validation phantom per dose;
 * the figures are in eval/README.md): K = 6 for TV (fused:20 on raw counts and on Gaussian-denoised maps),
 * K = 18 for TNV (tnv:20 peaked at 3-30x the TV constant and is 1-3 dB under its best at 1x); 0.02 with no
 * EDX. The evaluation still tunes a factor on it per dose; `--weight auto` chooses one on real data (weight.ts).
 */
export function defaultRegularisation(edx: Float32Array[], haadf?: Float32Array, kind: JointMethod = 'fused'): number {
  return regularisationForCountScale(edxCountScale(edx, haadf), kind);
}

/** defaultRegularisation from the count scale m (for a caller that also reports m): K / sqrt(m), 0.02 where m is 0. */
export function regularisationForCountScale(m: number, kind: JointMethod = 'fused'): number {
  return m > 0 ? defaultWeightConstant(kind) / Math.sqrt(m) : 0.02;
}

/** The constant K of defaultRegularisation: 18 for TNV, 6 for TV (fused; bimodal has no such weight). */
export function defaultWeightConstant(kind: JointMethod): number {
  return kind === 'tnv' ? 3 * DEFAULT_WEIGHT_CONSTANT : DEFAULT_WEIGHT_CONSTANT;
}

/** The TV constant of defaultRegularisation. */
export const DEFAULT_WEIGHT_CONSTANT = 6;

function checkFinite(a: Float32Array, what: string): void {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new ConfigError(what, `value ${a[i]} at index ${i}; every value must be finite`);
}

/** Validates the data, derives c_e and the HAADF weights, runs the engine. */
export async function reconstructJoint(op: ProjectionOperator, data: JointTiltSeries, spec: JointSpec, o: { progress?: Progress; onIteration?: (r: IterationRecord) => void } = {}): Promise<JointVolumes> {
  const nE = data.haadfWeights.length;
  if (nE < 1) throw new ConfigError(`${spec.kind}.haadfWeights`, 'empty; need one HAADF weight per element, at least one element');
  if (data.elements.length !== nE) throw new ConfigError(`${spec.kind}.elements`, `${data.elements.length} element names for ${nE} HAADF weights; need one name per weight`);
  if (data.edx.length !== 0 && data.edx.length !== nE) throw new ConfigError(`${spec.kind}.edx`, `${data.edx.length} EDX tilt series for ${nE} elements; need ${nE} (one per element) or none`);
  if (data.haadfWeights.some((r) => !(r > 0) || !Number.isFinite(r))) throw new ConfigError(`${spec.kind}.haadfWeights`, `got ${data.haadfWeights.join(', ')}; each must be finite and > 0`);
  if (!(data.incident > 0) || !Number.isFinite(data.incident)) throw new ConfigError(`${spec.kind}.incident`, `incident electrons per pixel ${data.incident}; must be finite and > 0`);
  checkTiltSeries(op, data.haadf, `${spec.kind} HAADF`);
  checkFinite(data.haadf, `${spec.kind} HAADF`);
  data.edx.forEach((b, e) => { checkTiltSeries(op, b, `${spec.kind} EDX ${data.elements[e]}`); checkFinite(b, `${spec.kind} EDX ${data.elements[e]}`); for (let i = 0; i < b.length; i++) if (b[i] < 0) throw new ConfigError(`${spec.kind} EDX ${data.elements[e]}`, `negative count ${b[i]} at index ${i}; counts must be >= 0`); });
  const rho = data.edxRelativeScale ?? new Array(nE).fill(1);
  if (rho.length !== nE || rho.some((r) => !(r > 0))) throw new ConfigError(`${spec.kind}.edxRelativeScale`, `got ${rho.join(', ')}; need ${nE} values > 0 (one per element)`);
  const it = spec.iterations, warm = spec.warmStart ?? 10;
  if (!Number.isInteger(it) || it < 0) throw new ConfigError(`${spec.kind}.iterations`, `got ${it}; must be an integer >= 0`);
  if (!Number.isInteger(warm) || warm < 0) throw new ConfigError(`${spec.kind}.warmStart`, `got ${warm}; must be an integer >= 0`);
  let k = data.edxScale;
  if (k === undefined) {
    if (data.edx.length === 0) k = 1;
    else {
      let sH = 0, sE = 0;
      for (let i = 0; i < data.haadf.length; i++) sH += data.haadf[i];
      data.edx.forEach((b, e) => { let s = 0; for (let i = 0; i < b.length; i++) s += b[i]; sE += (data.haadfWeights[e] / rho[e]) * s; });
      if (!(sH > 0) || !(sE > 0)) throw new ConfigError(`${spec.kind}.edxScale`, `cannot fit it by conservation of mass: HAADF sum ${sH}, weighted EDX sum ${sE}; need signal (> 0) in both, or give edxScale`);
      k = sE / sH;
    }
  }
  if (!(k > 0) || !Number.isFinite(k)) throw new ConfigError(`${spec.kind}.edxScale`, `got ${k}; must be finite and > 0`);
  const c = data.haadfWeights.map((r, e) => r / (k! * rho[e]));
  // HAADF noise weights: Var(-ln(1 - I/N0)) = (e^{b} - 1)/N0 to first order, floored at one electron's worth.
  const N0 = data.incident;
  const wH = new Float32Array(data.haadf.length);
  for (let i = 0; i < wH.length; i++) wH[i] = N0 / Math.max(Math.expm1(Math.max(data.haadf[i], 0)), 1 / N0);
  const kind = spec.kind;
  const alphaH = kind === 'bimodal' ? (spec.alpha ?? 0.5) : (spec.alpha ?? 1);
  const lambdaEdx = kind === 'bimodal' ? 1 - alphaH : (spec.lambdaChem ?? 1);
  if (!(alphaH >= 0) || !(lambdaEdx >= 0)) throw new ConfigError(`${kind}.${alphaH >= 0 ? 'lambdaChem' : 'alpha'}`, `data-term weights alpha ${alphaH}, lambdaChem ${lambdaEdx}; each must be >= 0`);
  const reg = kind === 'bimodal' ? 0 : (spec.regularisation ?? defaultRegularisation(data.edx, data.haadf, kind));
  if (!(reg >= 0) || !Number.isFinite(reg)) throw new ConfigError(`${kind}.regularisation`, `got ${reg}; must be finite and >= 0`);
  const r = await jointSolve(op, {
    edx: data.edx, haadf: data.haadf, c, haadfWeight: wH, alphaH, lambdaEdx,
    edxModel: kind === 'bimodal' ? 'least-squares' : 'poisson',
    regulariser: kind === 'tnv' ? (spec.haadfChannel ?? true ? 'tnv-haadf' : 'tnv') : reg > 0 ? 'tv' : 'none',
    regWeight: reg, iterations: it, warmStart: warm, progress: o.progress, onIteration: o.onIteration,
  });
  return { ...r, edxScale: k, haadfCoupling: c };
}
