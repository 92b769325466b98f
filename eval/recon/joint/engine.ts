/**
 * The iteration behind the joint methods (index.ts has the models). Each iteration is one
 * majorise-minimise step on the data terms, then the regulariser's proximal step, as in Schwartz
 * et al.'s fused multi-modal scheme (a HAADF step, a Poisson step, a clip at 0, TV by FGP;
 * Nat. Commun. 15, 3555 (2024), doi:10.1038/s41467-024-47558-0), but with both data steps fused
 * into one separable surrogate so that no step size is hand-set and the data part is monotone:
 *  - HAADF and any least-squares term: the separable quadratic surrogate (Erdogan & Fessler 1999,
 *    Phys. Med. Biol. 44:2835, doi:10.1088/0031-9155/44/11/311) with curvature per voxel
 *    d_ej = alpha_H c_e sum_e' c_e' [P^T (W P 1)]_j, the diagonal majoriser of c_e c_e' P^T W P
 *    (SIRT's row/column-sum preconditioning applied to the joint HAADF system);
 *  - the Poisson EDX term: the EM surrogate (De Pierro 1995, IEEE TMI 14:132, doi:10.1109/42.370409),
 *    lambda sum_j [C_j u_j - u~_j bp_j ln u_j], C = P^T 1, bp = P^T (b / P u~);
 *  so the new u_j >= 0 is the positive root of  d u^2 + (lambda C + g_H - d u~) u - lambda u~ bp = 0
 *  (g_H the HAADF gradient at u~). lambda -> infinity gives ML-EM on the EDX alone (Shepp & Vardi 1982,
 *  IEEE TMI 1:113, doi:10.1109/TMI.1982.4307558); no EDX gives the SQS (SIRT-like) solution of the HAADF.
 *  - TV (per element) or TNV (nuclear norm of the Jacobian, optionally with the HAADF model volume's
 *    gradient): its prox at the step t = 1 / mean(surrogate curvature) by fast gradient projection on
 *    the dual (Beck & Teboulle 2009, IEEE TIP 18:2419, doi:10.1109/TIP.2009.2028250), the dual warm-started
 *    from the last iteration, then a clip at 0. The prox is taken in the scalar metric, not the
 *    surrogate's diagonal one (as in the paper): the regularised fixed point is close to, not exactly,
 *    the minimiser of the objective; with no regulariser the iteration is exactly monotone.
 * One iteration costs one forward projection per element and one back projection per element plus one
 * (the HAADF residual's back projection is shared: the HAADF gradient of u_e is c_e P^T r_H).
 * The start is `warmStart` ML-EM iterations on the EDX alone (the paper's warm start).
 * Objective per iteration: of the iterate after its update (one extra forward projection at the end).
 */
import type { ProjectionOperator, IterationRecord } from '../operator.ts';
import type { Progress } from '../../../core/progress.ts';
import { isSlabRunner, localSlabs } from '../operator.ts';
import type { Shape3 } from '../tv.ts';
import { FgpProx, regulariserValueLocal } from './fgp.ts';

export interface EngineInput {
  edx: Float32Array[];
  haadf: Float32Array;
  c: number[];
  haadfWeight: Float32Array;
  alphaH: number;
  lambdaEdx: number;
  edxModel: 'poisson' | 'least-squares';
  regulariser: 'none' | 'tv' | 'tnv' | 'tnv-haadf';
  regWeight: number;
  iterations: number;
  warmStart: number;
  /**
   * FGP iterations of the regulariser's prox per outer iteration (default 10 for TV, 4 for TNV: its
   * per-voxel spectral projection dominates the cost, and the dual is warm-started from the last
   * outer iteration, so a few inner steps per outer iteration follow it).
   */
  proxIterations?: number;
  progress?: Progress;
  onIteration?: (r: IterationRecord) => void;
}

/** Smooth data terms and regulariser at u given its projections Pu (also used by the tests). */
export function jointObjective(inp: EngineInput, u: Float32Array[], Pu: Float32Array[], shape: Shape3, regValue?: number): { objective: number; terms: Record<string, number> } {
  const nE = u.length, m = inp.haadf.length;
  let haadf = 0;
  for (let i = 0; i < m; i++) { let h = 0; for (let e = 0; e < nE; e++) h += inp.c[e] * Pu[e][i]; const d = h - inp.haadf[i]; haadf += inp.haadfWeight[i] * d * d; }
  haadf *= inp.alphaH / 2;
  let edx = 0;
  inp.edx.forEach((b, e) => {
    if (inp.edxModel === 'poisson') { for (let i = 0; i < m; i++) { const z = Pu[e][i]; edx += b[i] > 0 ? z - b[i] * Math.log(Math.max(z, 1e-30)) : z; } }
    else { const v = edxVarianceWeight(b); for (let i = 0; i < m; i++) { const d = Pu[e][i] - b[i]; edx += (v * d * d) / 2; } }
  });
  edx *= inp.lambdaEdx;
  let reg = 0;
  if (inp.regulariser !== 'none' && inp.regWeight > 0) reg = inp.regWeight * (regValue ?? regulariserValueLocal(inp.regulariser, inp.c, hScale(inp.c), shape, u));
  return { objective: haadf + edx + reg, terms: { haadf, edx, reg } };
}

function edxVarianceWeight(b: Float32Array): number {
  let s = 0, n = 0;
  for (let i = 0; i < b.length; i++) if (b[i] > 0) { s += b[i]; n++; }
  return n ? n / s : 1;
}

function hScale(c: number[]): number { let s = 0; for (const v of c) s += v; return c.length / s; }

export async function jointSolve(op: ProjectionOperator, inp: EngineInput): Promise<{ volumes: Float32Array[]; haadfVolume: Float32Array; history: IterationRecord[] }> {
  const g = op.geom, shape: Shape3 = [g.nz, g.ny, g.nx];
  const nE = inp.c.length, n = op.volumeSize, m = op.tiltSeriesSize;
  const hasEdx = inp.edx.length === nE && inp.lambdaEdx > 0;
  const hasH = inp.alphaH > 0;
  const poisson = inp.edxModel === 'poisson';
  const reg = inp.regWeight > 0 ? inp.regulariser : 'none';
  const lam = hasEdx ? inp.lambdaEdx : 0;
  const proxIt = inp.proxIterations ?? (reg === 'tnv' || reg === 'tnv-haadf' ? 4 : 10);
  if (!Number.isInteger(proxIt) || proxIt < 1) throw new Error(`joint: proxIterations must be an integer >= 1, got ${proxIt}`);
  const rowP = await op.rowSums(), colP = await op.colSums();
  let cSum = 0; for (const v of inp.c) cSum += v;
  const tmp = new Float32Array(m);
  const vE = inp.edx.map((b) => (poisson ? 1 : edxVarianceWeight(b)));
  let c2 = 0; for (const v of inp.c) c2 += v * v;
  const invRow = new Float32Array(m);
  for (let i = 0; i < m; i++) invRow[i] = rowP[i] > 1e-6 ? 1 / rowP[i] : 0;
  let sumC = 0, nSupport = 0;
  for (let j = 0; j < n; j++) if (colP[j] > 1e-6) { sumC += colP[j]; nSupport++; }
  // the volumes and the prox's arrays live where the operator's workers can reach them (its slab kernels run the prox)
  const runner = isSlabRunner(op) ? op : localSlabs(g.nz);
  const u = Array.from({ length: nE }, () => runner.sharedFloat32(n));
  if (inp.edx.length === nE) {
    // Warm start: ML-EM on each element's EDX alone, from the uniform volume with the measured counts.
    const ratio = new Float32Array(m), bp = new Float32Array(n), p = new Float32Array(m);
    for (let e = 0; e < nE; e++) {
      const b = inp.edx[e];
      let sb = 0; for (let i = 0; i < m; i++) sb += b[i];
      for (let j = 0; j < n; j++) u[e][j] = colP[j] > 1e-6 && sumC > 0 ? sb / sumC : 0;
      for (let k = 0; k < inp.warmStart; k++) {
        await op.forward(u[e], p);
        for (let i = 0; i < m; i++) ratio[i] = p[i] > 0 ? b[i] / p[i] : 0;
        await op.back(ratio, bp);
        for (let j = 0; j < n; j++) u[e][j] = colP[j] > 1e-6 ? (u[e][j] * bp[j]) / colP[j] : 0;
      }
    }
  } else {
    // HAADF alone: the uniform volume whose HAADF projections have the measured sum.
    let sb = 0; for (let i = 0; i < m; i++) sb += inp.haadf[i];
    for (let e = 0; e < nE; e++) for (let j = 0; j < n; j++) u[e][j] = colP[j] > 1e-6 && sumC > 0 && cSum > 0 ? Math.max(sb, 0) / (cSum * sumC) : 0;
  }
  const Pu = u.map(() => new Float32Array(m));
  // Balance (a Kalman gain per ray, averaged): of the change of h = sum c_e u_e an EDX step makes, keep
  // omega = Var_H / (Var_H + Var_E(h)), Var_H = 1 / (alpha_H W), Var_E(h) = sum_e c_e^2 Var(b_e) / lambda
  // (Poisson: Var(b_e) = P u_e at the warm start; least squares: 1 / V_e); the HAADF step is relaxed by
  // 1 - omega. The h-preserving part of the EDX step (the split between elements, which the HAADF cannot
  // see) is always taken in full. lambda_chem -> infinity: omega -> 1, ML-EM; no EDX: omega = 0, SIRT of the HAADF.
  let omega = hasH ? 0 : 1;
  if (hasH && hasEdx) {
    for (let e = 0; e < nE; e++) await op.forward(u[e], Pu[e]);
    let s = 0, cnt = 0;
    for (let i = 0; i < m; i++) {
      if (!(rowP[i] > 1e-6)) continue;
      let ve = 0;
      for (let e = 0; e < nE; e++) ve += inp.c[e] * inp.c[e] * (poisson ? Math.max(Pu[e][i], 0) : 1 / vE[e]);
      ve /= lam;
      const vh = 1 / (inp.alphaH * inp.haadfWeight[i]);
      if (ve + vh > 0) { s += vh / (vh + ve); cnt++; }
    }
    omega = cnt ? s / cnt : 0.5;
  }
  const gH = hasH ? 1 - omega : 0;
  const hPrev = new Float32Array(hasH && hasEdx ? n : 0);
  const rH = new Float32Array(m), bH = new Float32Array(n), bp = new Float32Array(n);
  const prox = reg === 'none' ? null : new FgpProx(runner, reg, inp.c, shape, proxIt, hScale(inp.c));
  const history: IterationRecord[] = [];
  const record = async (iteration: number) => {
    const rv = prox ? await prox.value(u) : 0;
    const r = jointObjective({ ...inp, regulariser: reg, lambdaEdx: lam, edx: hasEdx ? inp.edx : [] }, u, Pu, shape, rv);
    const rec = { iteration, ...r };
    history.push(rec);
    inp.onIteration?.(rec);
  };
  for (let it = 1; it <= inp.iterations; it++) {
    for (let e = 0; e < nE; e++) await op.forward(u[e], Pu[e]);
    if (it > 1) await record(it - 1);
    // HAADF step: SIRT on h = sum_e c_e u_e, lifted to the elements along c (the minimum-norm split):
    // u_e <- u_e - gH (c_e / sum c^2) C^-1 P^T R^-1 (P h - b_H); the projections of the new u_e follow linearly.
    if (hasH) {
      for (let i = 0; i < m; i++) { let h = 0; for (let e = 0; e < nE; e++) h += inp.c[e] * Pu[e][i]; rH[i] = invRow[i] * (h - inp.haadf[i]); }
      await op.back(rH, bH);
      for (let e = 0; e < nE; e++) {
        const x = u[e], f = (gH * inp.c[e]) / c2;
        for (let j = 0; j < n; j++) x[j] = colP[j] > 1e-6 ? Math.max(0, x[j] - (f * bH[j]) / colP[j]) : 0;
      }
      if (hasEdx) for (let e = 0; e < nE; e++) await op.forward(u[e], Pu[e]);
    }
    // EDX step per element: ML-EM (Poisson) or SIRT (least squares); then 1 - omega of its change of h taken back along c.
    if (hPrev.length) { hPrev.fill(0); for (let e = 0; e < nE; e++) { const x = u[e], ce = inp.c[e]; for (let j = 0; j < n; j++) hPrev[j] += ce * x[j]; } }
    if (hasEdx) for (let e = 0; e < nE; e++) {
      const x = u[e], b = inp.edx[e], P = Pu[e];
      if (poisson) {
        for (let i = 0; i < m; i++) tmp[i] = P[i] > 0 ? b[i] / P[i] : 0;
        await op.back(tmp, bp);
        for (let j = 0; j < n; j++) x[j] = colP[j] > 1e-6 ? (x[j] * bp[j]) / colP[j] : 0;
      } else {
        for (let i = 0; i < m; i++) tmp[i] = invRow[i] * (P[i] - b[i]);
        await op.back(tmp, bp);
        for (let j = 0; j < n; j++) x[j] = colP[j] > 1e-6 ? Math.max(0, x[j] - bp[j] / colP[j]) : 0;
      }
    }
    if (hPrev.length && omega < 1) {
      for (let j = 0; j < n; j++) { let h = 0; for (let e = 0; e < nE; e++) h += inp.c[e] * u[e][j]; hPrev[j] = (1 - omega) * (h - hPrev[j]); }
      for (let e = 0; e < nE; e++) { const x = u[e], f = inp.c[e] / c2; for (let j = 0; j < n; j++) { const v = x[j] - f * hPrev[j]; x[j] = v > 0 ? v : 0; } }
    }
    // The regulariser's prox at the EM step scale mean(u) / mean(C) (in units of the Poisson log-likelihood).
    if (prox) {
      let su = 0;
      for (let e = 0; e < nE; e++) for (let j = 0; j < n; j++) su += u[e][j];
      await prox.apply(u, (inp.regWeight * su) / Math.max(1, nE * sumC));
    }
    inp.progress?.increment(1);
  }
  if (inp.iterations > 0) { for (let e = 0; e < nE; e++) await op.forward(u[e], Pu[e]); await record(inp.iterations); }
  const haadfVolume = new Float32Array(n);
  for (let e = 0; e < nE; e++) for (let j = 0; j < n; j++) haadfVolume[j] += inp.c[e] * u[e][j];
  return { volumes: u, haadfVolume, history };
}
