/**
 * The preconditioned Chambolle-Pock iteration behind the joint methods (index.ts has the models):
 * Chambolle & Pock 2011 (J. Math. Imaging Vis. 40:120, doi:10.1007/s10851-010-0251-1) with the
 * diagonal steps of Pock & Chambolle 2011 (ICCV, doi:10.1109/ICCV.2011.6126441, alpha = 1):
 * sigma_i = 1 / sum_j |K_ij|, tau_j = 1 / sum_i |K_ij|, which needs no operator norm (the row and
 * column sums of P are the SIRT weights the projector has). K = [P sum_e c_e . ; P (per element); grad].
 *   y <- prox_{sigma F*}(y + sigma K xbar);  x' <- max(0, x - tau K^T y);  xbar <- 2 x' - x.
 * One iteration costs one forward and one back projection per element (the HAADF rows reuse the
 * element projections: P sum c_e u_e = sum c_e P u_e; the adjoint P^T (y_e + c_e y_H) is one back).
 * The start is `warmStart` ML-EM iterations on the EDX alone (Shepp & Vardi 1982, IEEE TMI 1:113).
 * Objective per iteration: of the iterate after the update, computed from the next iteration's
 * projections (P x_k = (P xbar_k + P x_{k-1}) / 2), the last with one extra projection.
 */
import type { ProjectionOperator, IterationRecord } from '../operator.ts';
import type { Progress } from '../../../generators/common/progress.ts';
import { gradient3, divergence3, type Shape3 } from '../tv.ts';
import { proxLeastSquaresConj, proxPoissonConj, projectSpectralBall } from './prox.ts';

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

/** Sum of singular values of the m x 3 matrix q, via the Gram matrix's eigenvalues (projectSpectralBall's Jacobi at r = 0 gives them). */
function nuclearNorm(q: Float64Array, m: number, work: Float64Array): number {
  const G = work.subarray(0, m * m);
  const tmp = Float64Array.from(q.subarray(0, 3 * m));
  projectSpectralBall(tmp, m, 0, work); // leaves the diagonalised Gram in work
  let s = 0;
  for (let k = 0; k < m; k++) s += Math.sqrt(Math.max(G[k * m + k], 0));
  let fro = 0;
  for (let k = 0; k < 3 * m; k++) fro += q[k] * q[k];
  return fro === 0 ? 0 : s;
}

export async function jointPrimalDual(op: ProjectionOperator, inp: EngineInput): Promise<{ volumes: Float32Array[]; haadfVolume: Float32Array; history: IterationRecord[] }> {
  const g = op.geom, shape: Shape3 = [g.nz, g.ny, g.nx];
  const nE = inp.c.length, n = op.volumeSize, m = op.tiltSeriesSize;
  const hasEdx = inp.edx.length === nE && inp.lambdaEdx > 0;
  const hasH = inp.alphaH > 0;
  const reg = inp.regWeight > 0 ? inp.regulariser : 'none';
  const rowP = await op.rowSums(), colP = await op.colSums();
  let cSum = 0; for (const v of inp.c) cSum += v;
  const sh = hScale(inp.c), withH = reg === 'tnv-haadf';
  // Warm start: ML-EM on each element's EDX alone.
  const u = Array.from({ length: nE }, () => new Float32Array(n));
  if (inp.edx.length === nE) {
    for (let e = 0; e < nE; e++) {
      const b = inp.edx[e];
      let sb = 0, sc = 0;
      for (let i = 0; i < m; i++) sb += b[i];
      for (let j = 0; j < n; j++) sc += colP[j];
      u[e].fill(sc > 0 ? sb / sc : 0);
      const ratio = new Float32Array(m);
      for (let k = 0; k < inp.warmStart; k++) {
        const p = await op.forward(u[e]);
        for (let i = 0; i < m; i++) ratio[i] = p[i] > 0 ? b[i] / p[i] : 0;
        const bp = await op.back(ratio);
        for (let j = 0; j < n; j++) u[e][j] = colP[j] > 1e-6 ? (u[e][j] * bp[j]) / colP[j] : 0;
      }
    }
  }
  // Diagonal steps.
  const sigH = new Float32Array(m), sigE = new Float32Array(m);
  for (let i = 0; i < m; i++) { sigH[i] = rowP[i] > 1e-6 ? 1 / (cSum * rowP[i]) : 0; sigE[i] = rowP[i] > 1e-6 ? 1 / rowP[i] : 0; }
  const regRow = reg === 'none' ? 0 : 2, sigR = regRow ? 1 / (withH ? 2 * Math.max(1, sh * cSum) : 2) : 0;
  const tau = inp.c.map((ce) => {
    const t = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      const s = (hasH ? ce * colP[j] : 0) + (hasEdx ? colP[j] : 0) + (reg === 'none' ? 0 : 6 + (withH ? 6 * sh * ce : 0));
      t[j] = s > 1e-6 && colP[j] > 1e-6 ? 1 / s : 0;
    }
    return t;
  });
  const yH = new Float32Array(m), yE = Array.from({ length: nE }, () => new Float32Array(m));
  const rowsQ = reg === 'tv' || reg === 'none' ? nE : nE + (withH ? 1 : 0);
  const qd = reg === 'none' ? [] : Array.from({ length: rowsQ }, () => new Float32Array(3 * n));
  const ubar = u.map((x) => Float32Array.from(x));
  const Pbar = u.map(() => new Float32Array(m));
  let Pprev: Float32Array[] | null = null;
  const grad = u.map(() => new Float32Array(3 * n));
  const div = new Float32Array(n), back = new Float32Array(n), adj = new Float32Array(m);
  const qv = new Float64Array(3 * (nE + 1)), work = new Float64Array(2 * (nE + 1) ** 2);
  const history: IterationRecord[] = [];
  const record = (iteration: number, Pu: Float32Array[]) => {
    const r = jointObjective({ ...inp, regulariser: reg, lambdaEdx: hasEdx ? inp.lambdaEdx : 0, edx: hasEdx ? inp.edx : [] }, u, Pu, shape);
    const rec = { iteration, ...r };
    history.push(rec);
    inp.onIteration?.(rec);
  };
  for (let it = 1; it <= inp.iterations; it++) {
    for (let e = 0; e < nE; e++) await op.forward(ubar[e], Pbar[e]);
    if (Pprev) { for (let e = 0; e < nE; e++) for (let i = 0; i < m; i++) Pprev[e][i] = (Pbar[e][i] + Pprev[e][i]) / 2; if (it > 1) record(it - 1, Pprev); }
    else Pprev = Pbar.map((p) => Float32Array.from(p));
    // dual: HAADF rows
    if (hasH) for (let i = 0; i < m; i++) {
      let h = 0; for (let e = 0; e < nE; e++) h += inp.c[e] * Pbar[e][i];
      yH[i] = proxLeastSquaresConj(yH[i] + sigH[i] * h, sigH[i], inp.haadf[i], inp.alphaH * inp.haadfWeight[i]);
    }
    if (hasEdx) for (let e = 0; e < nE; e++) {
      const b = inp.edx[e], y = yE[e], P = Pbar[e];
      if (inp.edxModel === 'poisson') for (let i = 0; i < m; i++) y[i] = sigE[i] > 0 ? proxPoissonConj(y[i] + sigE[i] * P[i], sigE[i], b[i], inp.lambdaEdx) : 0;
      else { const v = edxVarianceWeight(b) * inp.lambdaEdx; for (let i = 0; i < m; i++) y[i] = proxLeastSquaresConj(y[i] + sigE[i] * P[i], sigE[i], b[i], v); }
    }
    // dual: regulariser
    if (reg !== 'none') {
      for (let e = 0; e < nE; e++) gradient3(ubar[e], shape, grad[e]);
      const lam = inp.regWeight;
      for (let i = 0; i < n; i++) {
        if (reg === 'tv') {
          for (let e = 0; e < nE; e++) {
            const q = qd[e], a = q[i] + sigR * grad[e][i], bq = q[n + i] + sigR * grad[e][n + i], cq = q[2 * n + i] + sigR * grad[e][2 * n + i];
            const mag = Math.sqrt(a * a + bq * bq + cq * cq), f = mag > lam ? lam / mag : 1;
            q[i] = a * f; q[n + i] = bq * f; q[2 * n + i] = cq * f;
          }
          continue;
        }
        fillJacobian(qv, grad, i, n, inp.c, withH, sh);
        for (let r = 0; r < rowsQ; r++) for (let d = 0; d < 3; d++) qv[3 * r + d] = qd[r][d * n + i] + sigR * qv[3 * r + d];
        projectSpectralBall(qv, rowsQ, lam, work);
        for (let r = 0; r < rowsQ; r++) for (let d = 0; d < 3; d++) qd[r][d * n + i] = qv[3 * r + d];
      }
    }
    // primal
    for (let e = 0; e < nE; e++) {
      for (let i = 0; i < m; i++) adj[i] = (hasEdx ? yE[e][i] : 0) + (hasH ? inp.c[e] * yH[i] : 0);
      await op.back(adj, back);
      if (reg !== 'none') {
        divergence3(qd[e], shape, div);
        if (withH) { const dh = new Float32Array(n); divergence3(qd[nE], shape, dh); for (let j = 0; j < n; j++) div[j] += sh * inp.c[e] * dh[j]; }
      }
      const x = u[e], xb = ubar[e], t = tau[e];
      for (let j = 0; j < n; j++) {
        const old = x[j];
        let v = old - t[j] * (back[j] - (reg !== 'none' ? div[j] : 0));
        if (v < 0) v = 0;
        x[j] = v; xb[j] = 2 * v - old;
      }
    }
    inp.progress?.increment(1);
  }
  if (inp.iterations > 0) record(inp.iterations, await Promise.all(u.map((x) => op.forward(x))));
  const haadfVolume = new Float32Array(n);
  for (let e = 0; e < nE; e++) for (let j = 0; j < n; j++) haadfVolume[j] += inp.c[e] * u[e][j];
  return { volumes: u, haadfVolume, history };
}
