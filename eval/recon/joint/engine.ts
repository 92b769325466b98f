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
import { gradient3, divergence3, type Shape3 } from '../tv.ts';
import { projectSpectralBall, gramEigenvalues } from './prox.ts';

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
export function jointObjective(inp: EngineInput, u: Float32Array[], Pu: Float32Array[], shape: Shape3): { objective: number; terms: Record<string, number> } {
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
  if (inp.regulariser !== 'none' && inp.regWeight > 0) reg = inp.regWeight * regValue(inp, u, shape);
  return { objective: haadf + edx + reg, terms: { haadf, edx, reg } };
}

function edxVarianceWeight(b: Float32Array): number {
  let s = 0, n = 0;
  for (let i = 0; i < b.length; i++) if (b[i] > 0) { s += b[i]; n++; }
  return n ? n / s : 1;
}

function hScale(c: number[]): number { let s = 0; for (const v of c) s += v; return c.length / s; }

function regValue(inp: EngineInput, u: Float32Array[], shape: Shape3): number {
  const n = u[0].length, nE = u.length;
  const g = u.map((x) => { const t = new Float32Array(3 * n); gradient3(x, shape, t); return t; });
  const withH = inp.regulariser === 'tnv-haadf', sh = hScale(inp.c);
  const q = new Float64Array(3 * (nE + 1)), work = new Float64Array(2 * (nE + 1) ** 2);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (inp.regulariser === 'tv') { for (let e = 0; e < nE; e++) total += Math.hypot(g[e][i], g[e][n + i], g[e][2 * n + i]); continue; }
    const rows = fillJacobian(q, g, i, n, inp.c, withH, sh);
    total += nuclearNorm(q, rows, work);
  }
  return total;
}

function fillJacobian(q: Float64Array, g: Float32Array[], i: number, n: number, c: number[], withH: boolean, sh: number): number {
  const nE = g.length;
  let hz = 0, hy = 0, hx = 0;
  for (let e = 0; e < nE; e++) {
    q[3 * e] = g[e][i]; q[3 * e + 1] = g[e][n + i]; q[3 * e + 2] = g[e][2 * n + i];
    hz += c[e] * g[e][i]; hy += c[e] * g[e][n + i]; hx += c[e] * g[e][2 * n + i];
  }
  if (!withH) return nE;
  q[3 * nE] = sh * hz; q[3 * nE + 1] = sh * hy; q[3 * nE + 2] = sh * hx;
  return nE + 1;
}

/**
 * Sum of singular values of the m x 3 matrix q: sum sqrt(eigenvalues of the Gram q q^T), in closed
 * form for m <= 3 (prox.ts gramEigenvalues), else by projectSpectralBall's Jacobi at r = 0.
 */
function nuclearNorm(q: Float64Array, m: number, work: Float64Array): number {
  let fro = 0;
  for (let k = 0; k < 3 * m; k++) fro += q[k] * q[k];
  if (fro === 0) return 0;
  const G = work.subarray(0, m * m);
  if (m <= 3) {
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) G[i * m + j] = q[3 * i] * q[3 * j] + q[3 * i + 1] * q[3 * j + 1] + q[3 * i + 2] * q[3 * j + 2];
    gramEigenvalues(G, m, eig);
    let s = 0;
    for (let k = 0; k < m; k++) s += Math.sqrt(Math.max(eig[k], 0));
    return s;
  }
  const tmp = Float64Array.from(q.subarray(0, 3 * m));
  projectSpectralBall(tmp, m, 0, work, false); // leaves the diagonalised Gram in work
  let s = 0;
  for (let k = 0; k < m; k++) s += Math.sqrt(Math.max(G[k * m + k], 0));
  return s;
}
const eig = new Float64Array(3);

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
  const u = Array.from({ length: nE }, () => new Float32Array(n));
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
  const prox = reg === 'none' ? null : new RegulariserProx(reg, inp.c, shape, proxIt);
  const history: IterationRecord[] = [];
  const record = (iteration: number) => {
    const r = jointObjective({ ...inp, regulariser: reg, lambdaEdx: lam, edx: hasEdx ? inp.edx : [] }, u, Pu, shape);
    const rec = { iteration, ...r };
    history.push(rec);
    inp.onIteration?.(rec);
  };
  for (let it = 1; it <= inp.iterations; it++) {
    for (let e = 0; e < nE; e++) await op.forward(u[e], Pu[e]);
    if (it > 1) record(it - 1);
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
      prox.apply(u, (inp.regWeight * su) / Math.max(1, nE * sumC));
    }
    inp.progress?.increment(1);
  }
  if (inp.iterations > 0) { for (let e = 0; e < nE; e++) await op.forward(u[e], Pu[e]); record(inp.iterations); }
  const haadfVolume = new Float32Array(n);
  for (let e = 0; e < nE; e++) for (let j = 0; j < n; j++) haadfVolume[j] += inp.c[e] * u[e][j];
  return { volumes: u, haadfVolume, history };
}

/**
 * prox_{t R}(w) = argmin_v 1/2 ||v - w||^2 + t R(v), then a clip at 0, with R = sum_e TV(v_e) or the TNV
 * sum_voxels ||J(v)||_* (rows grad v_e, and s grad sum_e c_e v_e with the HAADF channel), by FGP on the dual:
 * v = w - t K^T p, p <- Proj(p + K v / (t L)), L = ||K||^2 <= 12 (1 + s^2 sum c_e^2) (3D forward differences),
 * Proj onto the unit l2 ball per element and voxel (TV) or the unit spectral-norm ball per voxel (TNV).
 * The dual p is kept between calls (warm start; the momentum restarts).
 */
class RegulariserProx {
  private rows: number;
  private p: Float32Array[];
  private r: Float32Array[];
  private pn: Float32Array[];
  private grad: Float32Array[];
  private w: Float32Array[];
  private div: Float32Array;
  private divH: Float32Array;
  private L: number;
  private sh: number;
  constructor(private kind: 'tv' | 'tnv' | 'tnv-haadf', private c: number[], private shape: Shape3, private iterations: number) {
    const nE = c.length, n = shape[0] * shape[1] * shape[2];
    this.rows = kind === 'tnv-haadf' ? nE + 1 : nE;
    const mk = () => Array.from({ length: this.rows }, () => new Float32Array(3 * n));
    this.p = mk(); this.r = mk(); this.pn = mk();
    this.grad = Array.from({ length: nE }, () => new Float32Array(3 * n));
    this.w = Array.from({ length: nE }, () => new Float32Array(n));
    this.div = new Float32Array(n); this.divH = new Float32Array(n);
    this.sh = hScale(c);
    let c2 = 0; for (const v of c) c2 += v * v;
    this.L = 12 * (1 + (kind === 'tnv-haadf' ? this.sh * this.sh * c2 : 0));
  }

  /** v = w - t K^T q into out. */
  private primal(q: Float32Array[], t: number, out: Float32Array[]): void {
    const nE = this.c.length, withH = this.kind === 'tnv-haadf';
    if (withH) divergence3(q[nE], this.shape, this.divH);
    for (let e = 0; e < nE; e++) {
      divergence3(q[e], this.shape, this.div);
      const w = this.w[e], o = out[e], f = withH ? this.sh * this.c[e] : 0;
      for (let j = 0; j < w.length; j++) o[j] = w[j] + t * (this.div[j] + f * this.divH[j]);
    }
  }

  apply(u: Float32Array[], t: number): void {
    if (!(t > 0)) return;
    const nE = this.c.length, n = u[0].length, withH = this.kind === 'tnv-haadf', rows = this.rows;
    for (let e = 0; e < nE; e++) this.w[e].set(u[e]);
    for (let r = 0; r < rows; r++) this.r[r].set(this.p[r]);
    const step = 1 / (t * this.L);
    const qv = new Float64Array(3 * rows), work = new Float64Array(2 * rows * rows);
    let tk = 1;
    for (let k = 0; k < this.iterations; k++) {
      this.primal(this.r, t, u);
      for (let e = 0; e < nE; e++) gradient3(u[e], this.shape, this.grad[e]);
      const R = this.r, Pn = this.pn, G = this.grad;
      if (this.kind === 'tv') for (let e = 0; e < nE; e++) {
        // element-outer with local arrays (the same arithmetic as per voxel, fewer lookups in the hot loop)
        const Re = R[e], Ge = G[e], Pe = Pn[e], n2 = 2 * n;
        for (let i = 0; i < n; i++) {
          const a = Re[i] + step * Ge[i], b = Re[n + i] + step * Ge[n + i], c = Re[n2 + i] + step * Ge[n2 + i];
          const mag = Math.sqrt(a * a + b * b + c * c), f = mag > 1 ? 1 / mag : 1;
          Pe[i] = a * f; Pe[n + i] = b * f; Pe[n2 + i] = c * f;
        }
      }
      else for (let i = 0; i < n; i++) {
        fillJacobian(qv, G, i, n, this.c, withH, this.sh);
        for (let r = 0; r < rows; r++) for (let d = 0; d < 3; d++) qv[3 * r + d] = R[r][d * n + i] + step * qv[3 * r + d];
        projectSpectralBall(qv, rows, 1, work);
        for (let r = 0; r < rows; r++) for (let d = 0; d < 3; d++) Pn[r][d * n + i] = qv[3 * r + d];
      }
      const tn = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2, mom = (tk - 1) / tn;
      for (let r = 0; r < rows; r++) {
        const pn = Pn[r], p = this.p[r], rr = this.r[r];
        for (let i = 0; i < pn.length; i++) { rr[i] = pn[i] + mom * (pn[i] - p[i]); }
        this.p[r] = pn; this.pn[r] = p;
      }
      tk = tn;
    }
    this.primal(this.p, t, u);
    for (let e = 0; e < nE; e++) { const x = u[e]; for (let j = 0; j < n; j++) if (x[j] < 0) x[j] = 0; }
  }
}
