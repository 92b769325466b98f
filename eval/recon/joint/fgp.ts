/**
 * The TV / TNV prox of the joint methods (engine.ts), slab-parallel: fast gradient projection (FGP) on
 * the dual (Beck & Teboulle 2009, IEEE TIP 18:2419, doi:10.1109/TIP.2009.2028250; the TV dual of
 * Chambolle 2004, J. Math. Imaging Vis. 20:89, doi:10.1023/B:JMIV.0000011325.36760.1e):
 *
 *   prox_{t R}(w) = argmin_v 1/2 ||v - w||^2 + t R(v),  R(v) = sum_voxels ||K v||,  v = w + t K^* p  (K^* = div),
 *   p_{k+1} = Proj(r_k + (K v(r_k)) / (t L)),  r_{k+1} = p_{k+1} + ((s_k - 1) / s_{k+1}) (p_{k+1} - p_k),
 *   s_{k+1} = (1 + sqrt(1 + 4 s_k^2)) / 2,  L = ||K||^2 <= 12 (1 + s^2 sum_e c_e^2) (3D forward differences),
 *
 * K the forward-difference gradient (Neumann boundary) of each element (TV) or the per-voxel Jacobian
 * whose rows are grad u_e and, with the HAADF channel, s grad sum_e c_e u_e (TNV, Holt et al. 2014, IEEE TIP
 * 23:3134, doi:10.1109/TIP.2014.2325774); Proj onto the unit l2 ball per element and voxel (TV) or the unit
 * spectral-norm ball per voxel (TNV: prox.ts projectSpectralBall), then a clip at 0 of the result. The
 * dual p is kept between calls (warm start; the momentum restarts).
 *
 * Parallel and bit-identical for any number of workers: each FGP iteration is two slab kernels with a
 * barrier between them, (1) the primal v = w + t div(r) (a slice reads r of the slice below it) and (2)
 * the gradient of v (reads v of the slice above), the projection and the momentum, per voxel. Every voxel
 * is computed by the same arithmetic in the same order whatever the slabs (float64 arithmetic, values
 * stored in float32 where the sequential form stores them), so the slabs need no halo copies and the
 * result equals the single-threaded loop's bit for bit. The kernels are self-contained (workers get their
 * source, operator.ts SlabKernel) and allocate nothing per voxel.
 */
import type { SlabKernel, SlabRunner } from '../operator.ts';
import type { Shape3 } from '../tv.ts';
// the kernels call these in this thread; workers get their source in PROX_PRELUDE
import { PROX_PRELUDE, projectSpectralBall, gramEigenvalues } from './prox.ts';

export type ProxKind = 'tv' | 'tnv' | 'tnv-haadf';

/** What the FGP kernels read and write (typed arrays shared with the workers). */
export interface FgpArgs {
  /** 0 TV, 1 TNV, 2 TNV with the HAADF row. */
  kind: number;
  nz: number; ny: number; nx: number;
  c: number[];
  /** s: the HAADF row's scale (TNV with the HAADF channel). */
  sh: number;
  /** Prox input per element. */
  w: Float32Array[];
  /** Primal output per element (v = w + t div q). */
  u: Float32Array[];
  /** The dual whose primal is taken (rows of 3n: [z, y, x] components). */
  q: Float32Array[];
  /** Dual step: the extrapolated dual it starts from, the current dual, and the outputs. */
  R: Float32Array[]; P: Float32Array[]; Pn: Float32Array[]; Rn: Float32Array[];
  t: number; step: number; mom: number;
  /** Primal: clip at 0 (the last primal of a prox). */
  clip: number;
  /** Regulariser value: per-slab partial sums. */
  sums: Float64Array;
}

/** Kernel (1): u_e = w_e + t (div q_e + s c_e div q_H) on slices [z0, z1), clipped at 0 if asked. */
export function fgpPrimal(a: FgpArgs, z0: number, z1: number): void {
  const { nz, ny, nx, t } = a, plane = ny * nx, n = nz * plane, n2 = 2 * n, nE = a.w.length, fr = Math.fround;
  const clip = a.clip === 1;
  if (a.kind !== 2) {
    for (let e = 0; e < nE; e++) {
      const q = a.q[e], w = a.w[e], o = a.u[e];
      for (let z = z0; z < z1; z++) for (let y = 0; y < ny; y++) {
        const row = z * plane + y * nx;
        for (let x = 0; x < nx; x++) {
          const i = row + x;
          let d = 0;
          if (z < nz - 1) d += q[i];
          if (z > 0) d -= q[i - plane];
          if (y < ny - 1) d += q[n + i];
          if (y > 0) d -= q[n + i - nx];
          if (x < nx - 1) d += q[n2 + i];
          if (x > 0) d -= q[n2 + i - 1];
          // `+ 0 * 0` stands for the coupled path's `+ s c_e div q_H` with no HAADF: it turns a -0 into +0 exactly as
          // that path does, so both paths (and the pre-parallel loop) give the same bytes.
          const v = fr(w[i] + t * (fr(d) + 0 * 0));
          o[i] = clip && v < 0 ? 0 : v;
        }
      }
    }
    return;
  }
  const qH = a.q[nE];
  for (let z = z0; z < z1; z++) for (let y = 0; y < ny; y++) {
    const row = z * plane + y * nx;
    for (let x = 0; x < nx; x++) {
      const i = row + x;
      let dh = 0;
      if (z < nz - 1) dh += qH[i];
      if (z > 0) dh -= qH[i - plane];
      if (y < ny - 1) dh += qH[n + i];
      if (y > 0) dh -= qH[n + i - nx];
      if (x < nx - 1) dh += qH[n2 + i];
      if (x > 0) dh -= qH[n2 + i - 1];
      const fdh = fr(dh);
      for (let e = 0; e < nE; e++) {
        const q = a.q[e];
        let d = 0;
        if (z < nz - 1) d += q[i];
        if (z > 0) d -= q[i - plane];
        if (y < ny - 1) d += q[n + i];
        if (y > 0) d -= q[n + i - nx];
        if (x < nx - 1) d += q[n2 + i];
        if (x > 0) d -= q[n2 + i - 1];
        const v = fr(a.w[e][i] + t * (fr(d) + a.sh * a.c[e] * fdh));
        a.u[e][i] = clip && v < 0 ? 0 : v;
      }
    }
  }
}

/**
 * Kernel (2): on slices [z0, z1), g = K u (forward differences, float32 as stored), p' = Proj(R + step g),
 * Pn = p', Rn = p' + mom (p' - P).
 */
export function fgpDual(a: FgpArgs, z0: number, z1: number): void {
  const { nz, ny, nx, step, mom } = a, plane = ny * nx, n = nz * plane, n2 = 2 * n, nE = a.u.length, fr = Math.fround;
  if (a.kind === 0) {
    for (let e = 0; e < nE; e++) {
      const X = a.u[e], Re = a.R[e], Pe = a.P[e], Pn = a.Pn[e], Rn = a.Rn[e];
      for (let z = z0; z < z1; z++) for (let y = 0; y < ny; y++) {
        const row = z * plane + y * nx;
        for (let x = 0; x < nx; x++) {
          const i = row + x, v = X[i];
          const gz = z < nz - 1 ? fr(X[i + plane] - v) : 0, gy = y < ny - 1 ? fr(X[i + nx] - v) : 0, gx = x < nx - 1 ? fr(X[i + 1] - v) : 0;
          const p0 = Re[i] + step * gz, p1 = Re[n + i] + step * gy, p2 = Re[n2 + i] + step * gx;
          const mag = Math.sqrt(p0 * p0 + p1 * p1 + p2 * p2), f = mag > 1 ? 1 / mag : 1;
          const q0 = fr(p0 * f), q1 = fr(p1 * f), q2 = fr(p2 * f);
          // read the old dual before writing: Pn and P are distinct, Rn may be R (read above)
          const o0 = Pe[i], o1 = Pe[n + i], o2 = Pe[n2 + i];
          Pn[i] = q0; Pn[n + i] = q1; Pn[n2 + i] = q2;
          Rn[i] = q0 + mom * (q0 - o0); Rn[n + i] = q1 + mom * (q1 - o1); Rn[n2 + i] = q2 + mom * (q2 - o2);
        }
      }
    }
    return;
  }
  const withH = a.kind === 2, rows = withH ? nE + 1 : nE, sh = a.sh, c = a.c;
  const qv = new Float64Array(3 * rows), work = new Float64Array(2 * rows * rows);
  for (let z = z0; z < z1; z++) for (let y = 0; y < ny; y++) {
    const row = z * plane + y * nx;
    for (let x = 0; x < nx; x++) {
      const i = row + x;
      let hz = 0, hy = 0, hx = 0;
      for (let e = 0; e < nE; e++) {
        const X = a.u[e], v = X[i];
        const gz = z < nz - 1 ? fr(X[i + plane] - v) : 0, gy = y < ny - 1 ? fr(X[i + nx] - v) : 0, gx = x < nx - 1 ? fr(X[i + 1] - v) : 0;
        qv[3 * e] = gz; qv[3 * e + 1] = gy; qv[3 * e + 2] = gx;
        hz += c[e] * gz; hy += c[e] * gy; hx += c[e] * gx;
      }
      if (withH) { qv[3 * nE] = sh * hz; qv[3 * nE + 1] = sh * hy; qv[3 * nE + 2] = sh * hx; }
      for (let r = 0; r < rows; r++) { const Rr = a.R[r]; qv[3 * r] = Rr[i] + step * qv[3 * r]; qv[3 * r + 1] = Rr[n + i] + step * qv[3 * r + 1]; qv[3 * r + 2] = Rr[n2 + i] + step * qv[3 * r + 2]; }
      projectSpectralBall(qv, rows, 1, work);
      for (let r = 0; r < rows; r++) {
        const Pr = a.P[r], Pn = a.Pn[r], Rn = a.Rn[r];
        for (let d = 0, k = i; d < 3; d++, k += n) {
          const q = fr(qv[3 * r + d]), o = Pr[k];
          Pn[k] = q; Rn[k] = q + mom * (q - o);
        }
      }
    }
  }
}

/**
 * Kernel: the regulariser's value on slices [z0, z1) into sums[slab]: sum_voxels sum_e |grad u_e| (TV) or
 * sum_voxels ||J||_* (TNV: sum of the square roots of the Gram eigenvalues, prox.ts gramEigenvalues for
 * m <= 3, Jacobi beyond).
 */
function regulariserValue(a: FgpArgs, z0: number, z1: number, slab: number): void {
  const { nz, ny, nx } = a, plane = ny * nx, nE = a.u.length, fr = Math.fround;
  const withH = a.kind === 2, m = withH ? nE + 1 : nE, c = a.c, sh = a.sh;
  const qv = new Float64Array(3 * m), work = new Float64Array(2 * m * m), G = new Float64Array(m * m), ev = new Float64Array(3);
  let total = 0;
  for (let z = z0; z < z1; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const i = z * plane + y * nx + x;
    let hz = 0, hy = 0, hx = 0;
    for (let e = 0; e < nE; e++) {
      const X = a.u[e], v = X[i];
      const gz = z < nz - 1 ? fr(X[i + plane] - v) : 0, gy = y < ny - 1 ? fr(X[i + nx] - v) : 0, gx = x < nx - 1 ? fr(X[i + 1] - v) : 0;
      if (a.kind === 0) { total += Math.sqrt(gz * gz + gy * gy + gx * gx); continue; }
      qv[3 * e] = gz; qv[3 * e + 1] = gy; qv[3 * e + 2] = gx;
      hz += c[e] * gz; hy += c[e] * gy; hx += c[e] * gx;
    }
    if (a.kind === 0) continue;
    if (withH) { qv[3 * nE] = sh * hz; qv[3 * nE + 1] = sh * hy; qv[3 * nE + 2] = sh * hx; }
    let fro = 0;
    for (let k = 0; k < 3 * m; k++) fro += qv[k] * qv[k];
    if (fro === 0) continue;
    if (m <= 3) {
      for (let r = 0; r < m; r++) for (let s = 0; s < m; s++) G[r * m + s] = qv[3 * r] * qv[3 * s] + qv[3 * r + 1] * qv[3 * s + 1] + qv[3 * r + 2] * qv[3 * s + 2];
      gramEigenvalues(G, m, ev);
      for (let k = 0; k < m; k++) total += Math.sqrt(Math.max(ev[k], 0));
    } else {
      projectSpectralBall(qv, m, 0, work, false); // leaves the diagonalised Gram in work
      for (let k = 0; k < m; k++) total += Math.sqrt(Math.max(work[k * m + k], 0));
    }
  }
  a.sums[slab] = total;
}

const PRIMAL: SlabKernel<FgpArgs> = { name: 'joint.fgpPrimal', fn: fgpPrimal };
const DUAL: SlabKernel<FgpArgs> = { name: 'joint.fgpDual', fn: fgpDual, prelude: PROX_PRELUDE };
const VALUE: SlabKernel<FgpArgs> = { name: 'joint.regulariserValue', fn: regulariserValue, prelude: PROX_PRELUDE };

/** Slices per slab: fixed (not from the worker count), so per-slab sums are the same for any number of workers. */
const SLAB = 2;

/**
 * prox_{t R} by `iterations` FGP steps, then a clip at 0, in place on u; R = sum_e TV(u_e) or TNV, the dual
 * warm-started from the last call. Runs on `runner` (the projector's workers). `value(u)`: R(u) (for the objective).
 */
export class FgpProx {
  private rows: number;
  private p: Float32Array[];
  private r: Float32Array[];
  private pn: Float32Array[];
  private w: Float32Array[];
  private L: number;
  private base: Omit<FgpArgs, 'u' | 'q' | 'R' | 'P' | 'Pn' | 'Rn' | 't' | 'step' | 'mom' | 'clip'>;
  constructor(private runner: SlabRunner, kind: ProxKind, c: number[], shape: Shape3, private iterations: number, sh: number) {
    if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`joint prox: iterations must be an integer >= 1, got ${iterations}`);
    const nE = c.length, n = shape[0] * shape[1] * shape[2];
    this.rows = kind === 'tnv-haadf' ? nE + 1 : nE;
    const mk = (len: number, k: number) => Array.from({ length: k }, () => runner.sharedFloat32(len));
    this.p = mk(3 * n, this.rows); this.r = mk(3 * n, this.rows); this.pn = mk(3 * n, this.rows);
    this.w = mk(n, nE);
    let c2 = 0; for (const v of c) c2 += v * v;
    this.L = 12 * (1 + (kind === 'tnv-haadf' ? sh * sh * c2 : 0));
    const sums = new Float64Array(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(8 * Math.ceil(shape[0] / SLAB)) : new ArrayBuffer(8 * Math.ceil(shape[0] / SLAB)));
    this.base = { kind: kind === 'tv' ? 0 : kind === 'tnv' ? 1 : 2, nz: shape[0], ny: shape[1], nx: shape[2], c: [...c], sh, w: this.w, sums };
  }

  private args(u: Float32Array[], o: Partial<FgpArgs>): FgpArgs {
    return { ...this.base, u, q: [], R: [], P: [], Pn: [], Rn: [], t: 0, step: 0, mom: 0, clip: 0, ...o };
  }

  /** u <- max(0, prox_{t R}(u)); u's arrays must be the runner's shared arrays. */
  async apply(u: Float32Array[], t: number): Promise<void> {
    if (!(t > 0)) return;
    for (let e = 0; e < u.length; e++) this.w[e].set(u[e]);
    const step = 1 / (t * this.L);
    let tk = 1, R = this.p; // the extrapolated dual starts at the warm-started p
    for (let k = 0; k < this.iterations; k++) {
      await this.runner.runSlabs(PRIMAL, this.args(u, { q: R, t }), SLAB);
      const tn = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2, mom = (tk - 1) / tn;
      await this.runner.runSlabs(DUAL, this.args(u, { R, P: this.p, Pn: this.pn, Rn: this.r, step, mom }), SLAB);
      [this.p, this.pn] = [this.pn, this.p];
      R = this.r;
      tk = tn;
    }
    await this.runner.runSlabs(PRIMAL, this.args(u, { q: this.p, t, clip: 1 }), SLAB);
  }

  /** R(u), summed per slab in slab order (the same for any number of workers). */
  async value(u: Float32Array[]): Promise<number> {
    const a = this.args(u, {});
    await this.runner.runSlabs(VALUE, a, SLAB);
    let s = 0;
    for (const v of a.sums) s += v;
    return s;
  }
}

/** R(u) in this thread (jointObjective's fallback where no runner is at hand): sum_voxels of TV or TNV. */
export function regulariserValueLocal(kind: ProxKind, c: number[], sh: number, shape: Shape3, u: Float32Array[]): number {
  const nSlabs = Math.ceil(shape[0] / SLAB), sums = new Float64Array(nSlabs);
  const a = { kind: kind === 'tv' ? 0 : kind === 'tnv' ? 1 : 2, nz: shape[0], ny: shape[1], nx: shape[2], c, sh, w: [], u, q: [], R: [], P: [], Pn: [], Rn: [], t: 0, step: 0, mom: 0, clip: 0, sums };
  for (let s = 0; s < nSlabs; s++) regulariserValue(a, s * SLAB, Math.min(shape[0], (s + 1) * SLAB), s);
  let total = 0;
  for (const v of sums) total += v;
  return total;
}
