/**
 * The iteration behind the joint methods (index.ts has the models): Schwartz et al.'s alternating fused
 * multi-modal scheme (a HAADF step, a Poisson step, a clip at 0, TV by FGP; Nat. Commun. 15, 3555 (2024),
 * doi:10.1038/s41467-024-47558-0) with preconditioned steps, so that no step size is hand-set:
 *  1. HAADF step: SIRT on h = sum_e c_e u_e (Gilbert 1972, J. Theor. Biol. 36:105, doi:10.1016/0022-5193(72)90180-4),
 *     dh = -(1 - omega) C^-1 P^T R^-1 (P h - b_H), C = P^T 1, R = P 1, lifted to the elements by each one's
 *     share of h at the voxel (liftH: the HAADF sets the total, the EDX the composition);
 *  2. EDX step: one ML-EM step per element (Shepp & Vardi 1982, IEEE TMI 1:113, doi:10.1109/TMI.1982.4307558;
 *     SIRT for bimodal's least squares), then 1 - omega of the change it made to h taken back (liftH), so
 *     h moves by omega of the EDX's pull and the composition by all of it;
 *  3. the regulariser's prox: TV per element or TNV (nuclear norm of the per-voxel Jacobian, optionally with
 *     the HAADF volume's gradient) at the EM step scale t = lambda mean(u) / mean(C), by FGP on the dual
 *     (fgp.ts; Beck & Teboulle 2009, doi:10.1109/TIP.2009.2028250), dual warm-started, clip at 0.
 * omega = Var_H / (Var_H + Var_E(h)) from the noise model (a Kalman gain, averaged over rays): lambda_chem ->
 * infinity gives omega = 1 and ML-EM on the EDX alone; no EDX gives omega = 0 and SIRT of the HAADF.
 * The start is `warmStart` ML-EM iterations on the EDX alone (the paper's warm start) whose HAADF volume is
 * then moved 1 - omega of the way to `warmStart` SIRT iterations of the HAADF from 0 (the EM start's noise in
 * the projector's null space would otherwise stay in h for good). Like the paper's scheme the iteration is
 * balanced by steps: its fixed point is not exactly the minimiser of the objective it reports.
 * One iteration costs 2 forward projections per element (one after the HAADF step, which the clip makes
 * non-linear) and one back projection per element plus one; the prox runs on the operator's workers.
 * Objective per iteration: of the iterate after its update.
 */
import type { ProjectionOperator, IterationRecord } from '../operator.ts';
import type { Progress } from '../../../core/progress.ts';
import { isSlabRunner, localSlabs } from '../operator.ts';
import type { Shape3 } from '../tv.ts';
import { FgpProx, regulariserValueLocal } from './fgp.ts';
import { InternalError } from '../../../core/validate.ts';
import { PASS, passReducer, passRunner } from './passes.ts';

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

/** The volume and tilt-series sizes the objective's reduction slices by (a TiltGeometry has them all). */
export interface ObjectiveGeometry { nz: number; ny: number; nx: number; nA: number; nCols: number }

/**
 * Smooth data terms and regulariser at u given its projections Pu: the data sums by passes.ts PASS.objective
 * on `reduce` (jointSolve's runs on the projector's workers, its arrays in shared memory; the default in this
 * thread), the regulariser's value `regValue` or computed here. `vEdx`: the least-squares EDX weights where
 * the caller has them (else computed from inp.edx).
 */
export async function jointObjective(inp: EngineInput, u: Float32Array[], Pu: Float32Array[], g: ObjectiveGeometry, regValue?: number,
  reduce = passReducer(localSlabs(g.nz), g), vEdx?: number[]): Promise<{ objective: number; terms: Record<string, number> }> {
  const nE = Pu.length, none = new Float32Array(0), hasEdx = inp.edx.length > 0;
  const v = hasEdx && inp.edxModel !== 'poisson' ? (vEdx ?? inp.edx.map(edxVarianceWeight)) : [];
  const t = await reduce(PASS.objective, { vols: Pu, arrays: [inp.alphaH > 0 ? inp.haadf : none, inp.haadfWeight, ...(hasEdx ? inp.edx : Pu.map(() => none))], c: inp.c, v });
  const haadf = (t[0] * inp.alphaH) / 2;
  let edx = 0;
  for (let e = 0; e < nE; e++) edx += t[1 + e];
  edx *= inp.lambdaEdx;
  const reg = inp.regulariser !== 'none' && inp.regWeight > 0 ? inp.regWeight * (regValue ?? regulariserValueLocal(inp.regulariser, inp.c, hScale(inp.c), [g.nz, g.ny, g.nx], u)) : 0;
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
  if (!Number.isInteger(proxIt) || proxIt < 1) throw new InternalError(`joint: proxIterations must be an integer >= 1, got ${proxIt}`);
  const rowP = await op.rowSums(), colP = await op.colSums();
  let cSum = 0; for (const v of inp.c) cSum += v;
  const vE = inp.edx.map((b) => (poisson ? 1 : edxVarianceWeight(b)));
  let c2 = 0; for (const v of inp.c) c2 += v * v;
  // the volumes, the data and the prox's arrays live where the operator's workers can reach them (its slab
  // kernels run the prox and the array passes, passes.ts)
  const runner = isSlabRunner(op) ? op : localSlabs(g.nz);
  const sizes: ObjectiveGeometry = { nz: g.nz, ny: g.ny, nx: g.nx, nA: g.angles.length, nCols: g.nCols };
  const pass = passRunner(runner, sizes);
  // the sums (objective, totals of u) on the workers too, added per slab in slab order
  const reduce = passReducer(runner, sizes);
  const shared = (a: Float32Array) => { const s = runner.sharedFloat32(a.length); s.set(a); return s; };
  const invRow = runner.sharedFloat32(m);
  for (let i = 0; i < m; i++) invRow[i] = rowP[i] > 1e-6 ? 1 / rowP[i] : 0;
  const C = shared(colP), bHaadf = shared(inp.haadf), bEdx = inp.edx.map(shared);
  let sumC = 0, nSupport = 0;
  for (let j = 0; j < n; j++) if (colP[j] > 1e-6) { sumC += colP[j]; nSupport++; }
  const u = Array.from({ length: nE }, () => runner.sharedFloat32(n));
  // what the projections read and write lives there too (no copies into the projector's own buffers)
  const tmp = runner.sharedFloat32(m);
  if (inp.edx.length === nE) {
    // Warm start: ML-EM on each element's EDX alone, from the uniform volume with the measured counts.
    const ratio = runner.sharedFloat32(m), bp = runner.sharedFloat32(n), p = runner.sharedFloat32(m);
    for (let e = 0; e < nE; e++) {
      const b = bEdx[e];
      let sb = 0; for (let i = 0; i < m; i++) sb += b[i];
      for (let j = 0; j < n; j++) u[e][j] = colP[j] > 1e-6 && sumC > 0 ? sb / sumC : 0;
      for (let k = 0; k < inp.warmStart; k++) {
        await op.forward(u[e], p);
        await pass(PASS.emRatio, { out: ratio, arrays: [b, p] });
        await op.back(ratio, bp);
        await pass(PASS.emUpdate, { out: u[e], arrays: [bp, C] });
      }
    }
  } else {
    // HAADF alone: the uniform volume whose HAADF projections have the measured sum.
    let sb = 0; for (let i = 0; i < m; i++) sb += inp.haadf[i];
    for (let e = 0; e < nE; e++) for (let j = 0; j < n; j++) u[e][j] = colP[j] > 1e-6 && sumC > 0 && cSum > 0 ? Math.max(sb, 0) / (cSum * sumC) : 0;
  }
  const Pu = u.map(() => runner.sharedFloat32(m));
  // Balance (a Kalman gain per ray, averaged): of the change of h = sum c_e u_e an EDX step makes, keep
  // omega = Var_H / (Var_H + Var_E(h)), Var_H = 1 / (alpha_H W), Var_E(h) = sum_e c_e^2 Var(b_e) / lambda;
  // the HAADF step is relaxed by 1 - omega. The h-preserving part of the EDX step (the split between
  // elements, which the HAADF cannot see) is always taken in full. Poisson: Var(b_e) = E[b_e], estimated
  // from the HAADF (its counts are ~100x the EDX's, so its shape is far less noisy than any fit to the EDX)
  // and the element totals S_e: E[b_e,i] ~ b_H,i S_e / S_H (S_H = sum_i b_H,i = sum_e c_e S_e by the fit of k),
  // so Var_E(h)_i = b_H,i sum_e c_e^2 S_e / (S_H lambda); least squares: Var(b_e) = 1 / V_e. The mean over
  // rays is weighted by b_H,i (rays that carry signal). (An earlier estimate from the warm start's P u_e
  // gave omega ~ 0.8 at a few EDX counts per projection: the EM fit to so few counts is ~0 on most rays,
  // which read as an exact EDX there, and the HAADF was all but ignored.)
  // lambda_chem -> infinity: omega -> 1, ML-EM; no EDX: omega = 0, SIRT of the HAADF.
  let omega = hasH ? 0 : 1;
  if (hasH && hasEdx) {
    let sH = 0, sc2 = 0;
    for (let i = 0; i < m; i++) if (rowP[i] > 1e-6 && inp.haadf[i] > 0) sH += inp.haadf[i];
    for (let e = 0; e < nE; e++) { let se = 0; const b = inp.edx[e]; for (let i = 0; i < m; i++) if (rowP[i] > 1e-6) se += b[i]; sc2 += inp.c[e] * inp.c[e] * se; }
    let s = 0, wsum = 0;
    for (let i = 0; i < m; i++) {
      const bh = inp.haadf[i];
      if (!(rowP[i] > 1e-6) || !(bh > 0)) continue;
      let ve = 0;
      if (poisson) ve = sH > 0 ? (bh * sc2) / sH : 0;
      else for (let e = 0; e < nE; e++) ve += (inp.c[e] * inp.c[e]) / vE[e];
      ve /= lam;
      const vh = 1 / (inp.alphaH * inp.haadfWeight[i]);
      if (ve + vh > 0) { s += (bh * vh) / (vh + ve); wsum += bh; }
    }
    omega = wsum > 0 ? s / wsum : 0.5;
  }
  const gH = hasH ? 1 - omega : 0;
  // The composition where the volume has none yet: each element's share of the EDX totals, sum_e c_e g_e = 1
  // (without EDX the minimum-norm split along c, g_e = c_e / sum c^2).
  const share = { g: inp.c.map((ce) => ce / c2), eps: 0 };
  if (hasEdx) {
    const S = inp.edx.map((b) => { let t = 0; for (let i = 0; i < m; i++) if (rowP[i] > 1e-6) t += b[i]; return t; });
    let cs = 0; for (let e = 0; e < nE; e++) cs += inp.c[e] * S[e];
    if (cs > 0) share.g = S.map((v) => v / cs);
  }
  const hPrev = hasH && hasEdx ? runner.sharedFloat32(n) : new Float32Array(0);
  const rH = runner.sharedFloat32(m), bH = runner.sharedFloat32(n), bp = runner.sharedFloat32(n);
  const setEps = async () => { share.eps = (1e-2 * (await reduce(PASS.weightedTotal, { vols: u, c: inp.c }))[0]) / Math.max(1, nSupport); };
  if (hasH && hasEdx && inp.warmStart > 0) {
    // The HAADF part of the warm start: h0 = SIRT of the HAADF from 0 (warmStart iterations, clip at 0), lifted
    // onto the EDX warm start's composition. The EDX ML-EM start alone carries its noise in the null space of
    // the projector (29-61 tilts leave most of it), which the HAADF steps can never remove: from it fused's
    // HAADF volume stayed ~10 dB below SIRT of the HAADF alone (demo data, 3000 e/A^2).
    const h0 = runner.sharedFloat32(n), p = runner.sharedFloat32(m);
    for (let k = 0; k < inp.warmStart; k++) {
      await op.forward(h0, p);
      await pass(PASS.sirtResidual, { out: rH, arrays: [p, bHaadf, invRow] });
      await op.back(rH, bH);
      await pass(PASS.sirtUpdate, { out: h0, arrays: [bH, C] });
    }
    // balanced as every iteration is: 1 - omega of the way from the EDX's h to the HAADF's (lambda_chem -> infinity: EM alone)
    // h0 <- gH (h0 - h) = -gH (h - h0)
    await pass(PASS.haadfChange, { out: h0, vols: u, c: inp.c, f: -gH });
    await setEps();
    await pass(PASS.liftH, { out: h0, vols: u, c: inp.c, g: share.g, eps: share.eps, arrays: [C] });
  }
  const prox = reg === 'none' ? null : new FgpProx(runner, reg, inp.c, shape, proxIt, hScale(inp.c));
  const history: IterationRecord[] = [];
  let regValue: number | null = null; // R(u) as the last prox left u (its last kernel computes it), null once u has changed
  // the objective's arrays in shared memory, for its reduction on the workers
  const objectiveInput: EngineInput = { ...inp, regulariser: reg, lambdaEdx: lam, edx: hasEdx ? bEdx : [], haadf: bHaadf, haadfWeight: hasH ? shared(inp.haadfWeight) : new Float32Array(0) };
  const record = async (iteration: number) => {
    const rv = prox ? (regValue ?? (await prox.value(u))) : 0;
    regValue = null;
    const r = await jointObjective(objectiveInput, u, Pu, sizes, rv, reduce, poisson ? undefined : vE);
    const rec = { iteration, ...r };
    history.push(rec);
    inp.onIteration?.(rec);
  };
  for (let it = 1; it <= inp.iterations; it++) {
    for (let e = 0; e < nE; e++) await op.forward(u[e], Pu[e]);
    await setEps();
    if (it > 1) await record(it - 1);
    // HAADF step: SIRT on h = sum_e c_e u_e, dh = -gH C^-1 P^T R^-1 (P h - b_H), lifted to the elements by
    // their share of h at the voxel (liftH: the HAADF sets the total, the composition is the EDX's).
    if (hasH) {
      await pass(PASS.haadfResidual, { out: rH, vols: Pu, c: inp.c, arrays: [bHaadf, invRow] });
      await op.back(rH, bH);
      await pass(PASS.scaleByColumnSums, { out: bH, arrays: [C], f: -gH });
      await pass(PASS.liftH, { out: bH, vols: u, c: inp.c, g: share.g, eps: share.eps, arrays: [C] });
      if (hasEdx) for (let e = 0; e < nE; e++) await op.forward(u[e], Pu[e]);
    }
    // EDX step per element: ML-EM (Poisson) or SIRT (least squares); then 1 - omega of its change of h taken
    // back, by each element's share of h (liftH again: the EDX step's composition is kept).
    if (hPrev.length) await pass(PASS.haadfVolume, { out: hPrev, vols: u, c: inp.c });
    if (hasEdx) for (let e = 0; e < nE; e++) {
      const x = u[e], b = bEdx[e], P = Pu[e];
      if (poisson) {
        await pass(PASS.emRatio, { out: tmp, arrays: [b, P] });
        await op.back(tmp, bp);
        await pass(PASS.emUpdate, { out: x, arrays: [bp, C] });
      } else {
        await pass(PASS.sirtResidual, { out: tmp, arrays: [P, b, invRow] });
        await op.back(tmp, bp);
        await pass(PASS.sirtUpdate, { out: x, arrays: [bp, C] });
      }
    }
    if (hPrev.length && omega < 1) {
      await pass(PASS.haadfChange, { out: hPrev, vols: u, c: inp.c, f: -(1 - omega) });
      await pass(PASS.liftH, { out: hPrev, vols: u, c: inp.c, g: share.g, eps: share.eps, arrays: [C] });
    }
    // The regulariser's prox at the EM step scale mean(u) / mean(C) (in units of the Poisson log-likelihood).
    if (prox) {
      const su = (await reduce(PASS.weightedTotal, { vols: u }))[0];
      regValue = await prox.apply(u, (inp.regWeight * su) / Math.max(1, nE * sumC));
    }
    inp.progress?.increment(1);
  }
  if (inp.iterations > 0) { for (let e = 0; e < nE; e++) await op.forward(u[e], Pu[e]); await record(inp.iterations); }
  const haadfVolume = runner.sharedFloat32(n);
  await pass(PASS.haadfVolume, { out: haadfVolume, vols: u, c: inp.c });
  return { volumes: u, haadfVolume, history };
}
