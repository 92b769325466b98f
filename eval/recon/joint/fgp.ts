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
 * Parallel and bit-identical for any number of workers: each FGP iteration is one slab kernel (`fgpSlab`
 * mode 0). A slab of slices [z0, z1) rolls through its slices with a two-slice ring of the primal
 * v = w + t div(r): v of slice z + 1 (which needs r of slices z and z + 1) is computed into the ring, then
 * the dual of slice z (the gradient of v at z reads v at z and z + 1), its projection and the momentum. The
 * slab's last v (slice z1, the next slab's first) is computed twice, by the same arithmetic, so the slabs
 * need no barrier inside an FGP iteration; the extrapolated dual is double-buffered (a slab reads r of the
 * slice above its own while the next slab writes its own slices). After the last iteration mode 1 writes the
 * clipped primal and, from the same ring, the regulariser's value of the result (for the objective); mode 2
 * is the value alone (where the iterations run on the wasm kernel, mode 1's primal does too:
 * fgpWasmResultSlab). Every voxel is computed by the same arithmetic in the same order whatever the slabs
 * (TV: float32 arithmetic; TNV: float64, values stored in float32 where the sequential form stores them), so the result
 * equals the single-threaded loop's bit for bit, and the value is summed per block of 2 slices in slice
 * order (VALUE_BLOCK) for any slab size. The kernel is self-contained (workers get its source, operator.ts
 * SlabKernel) and allocates nothing per voxel.
 */
import type { SlabKernel, SlabRunner } from '../operator.ts';
import type { Shape3 } from '../tv.ts';
// the kernel calls these in this thread; workers get their source in PROX_PRELUDE
import { InternalError } from '../../../core/validate.ts';
import { PROX_PRELUDE, projectSpectralBall, gramEigenvalues } from './prox.ts';
import { FGP_WASM_KERNEL, FGP_WASM_PRELUDE, fgpWasmExports, fgpWasmLayout, fgpWasmModule, type FgpWasmArgs } from './fgp-wasm.ts';

export type ProxKind = 'tv' | 'tnv' | 'tnv-haadf';

/** What the FGP kernel reads and writes (typed arrays shared with the workers). */
export interface FgpArgs {
  /** 0: one FGP iteration; 1: the last primal, clipped at 0, into u and the regulariser's value of it into sums; 2: the value of u into sums. */
  mode: number;
  /** 0 TV, 1 TNV, 2 TNV with the HAADF row. */
  kind: number;
  nz: number; ny: number; nx: number;
  c: number[];
  /** s: the HAADF row's scale (TNV with the HAADF channel). */
  sh: number;
  /** Prox input per element. */
  w: Float32Array[];
  /** The prox's result per element (mode 1 writes it, mode 2 reads it). */
  u: Float32Array[];
  /**
   * Rows of 3n ([z, y, x] components): R the extrapolated dual whose primal v = w + t div R the step
   * takes, P the current dual, Pn and Rn the step's outputs (Rn distinct from R). Mode 1 takes the primal of P.
   */
  R: Float32Array[]; P: Float32Array[]; Pn: Float32Array[]; Rn: Float32Array[];
  t: number; step: number; mom: number;
  /** The regulariser's value: partial sums per block of VALUE_BLOCK slices. */
  sums: Float64Array;
  /** TNV with two elements: run the general element loop instead of its unrolled form (tests; the same bits). */
  general?: boolean;
}

/** The kernel's scratch (the primal's two-slice ring per element, a slice of the HAADF row's divergence), grown on demand; one per thread. */
const fgpScratch = { ring: new Float32Array(0), hRow: new Float32Array(0) };

/**
 * The forward-difference divergence (Neumann boundary) of the dual q (rows [z, y, x] of n values) at voxel
 * i = (z, y, x), in float64: the one stencil of every primal (plane = ny nx, n = nz plane).
 */
function fgpDiv(q: Float32Array, i: number, z: number, y: number, x: number, nz: number, ny: number, nx: number, plane: number, n: number): number {
  let d = 0;
  if (z < nz - 1) d += q[i];
  if (z > 0) d -= q[i - plane];
  if (y < ny - 1) d += q[n + i];
  if (y > 0) d -= q[n + i - nx];
  if (x < nx - 1) d += q[2 * n + i];
  if (x > 0) d -= q[2 * n + i - 1];
  return d;
}

/** fgpDiv in float32 arithmetic (each sum rounded to float32): TV's stencil, as the f32x4 kernel (fgp-kernel.wat) computes it. */
function fgpDiv32(q: Float32Array, i: number, z: number, y: number, x: number, nz: number, ny: number, nx: number, plane: number, n: number): number {
  const fr = Math.fround;
  let d = 0;
  if (z < nz - 1) d = fr(d + q[i]);
  if (z > 0) d = fr(d - q[i - plane]);
  if (y < ny - 1) d = fr(d + q[n + i]);
  if (y > 0) d = fr(d - q[n + i - nx]);
  if (x < nx - 1) d = fr(d + q[2 * n + i]);
  if (x > 0) d = fr(d - q[2 * n + i - 1]);
  return d;
}

/**
 * Slice z of the primal w_e + t (div q_e + s c_e div q_H) (the HAADF row only for kind 2; without it
 * + 0 * 0, which turns a -0 into +0 as the coupled form does) into the ring (element e's slice z at
 * ring[2 e plane + (z & 1) plane]) and, if asked, into u; clipped at 0 if asked.
 */
function fgpPrimalSlice(a: FgpArgs, q: Float32Array[], z: number, clip: boolean, toU: boolean, ring: Float32Array, hRow: Float32Array): void {
  const { nz, ny, nx, t, w, u, c, sh } = a, plane = ny * nx, n = nz * plane, nE = w.length, off = z * plane, s = (z & 1) * plane, fr = Math.fround;
  const withH = a.kind === 2;
  if (a.kind === 0) {
    // TV: float32 arithmetic, every operation rounded (the f32x4 kernel's bits)
    const tf = fr(t);
    for (let e = 0; e < nE; e++) {
      const qe = q[e], we = w[e], ue = u[e], o = 2 * e * plane + s;
      for (let y = 0, yx = 0; y < ny; y++) for (let x = 0; x < nx; x++, yx++) {
        const i = off + yx;
        const v = fr(we[i] + fr(tf * fgpDiv32(qe, i, z, y, x, nz, ny, nx, plane, n)));
        const r = clip && v < 0 ? 0 : v;
        ring[o + yx] = r;
        if (toU) ue[i] = r;
      }
    }
    return;
  }
  if (withH) {
    const qH = q[nE];
    for (let y = 0, yx = 0; y < ny; y++) for (let x = 0; x < nx; x++, yx++) hRow[yx] = fr(fgpDiv(qH, off + yx, z, y, x, nz, ny, nx, plane, n));
  }
  for (let e = 0; e < nE; e++) {
    const qe = q[e], we = w[e], ue = u[e], se = withH ? sh * c[e] : 0, o = 2 * e * plane + s;
    for (let y = 0, yx = 0; y < ny; y++) for (let x = 0; x < nx; x++, yx++) {
      const i = off + yx;
      const v = fr(we[i] + t * (fr(fgpDiv(qe, i, z, y, x, nz, ny, nx, plane, n)) + se * (withH ? hRow[yx] : 0)));
      const r = clip && v < 0 ? 0 : v;
      ring[o + yx] = r;
      if (toU) ue[i] = r;
    }
  }
}

/**
 * The dual step on slice z, the gradient of v (float32 as stored) from the ring's slices z and z + 1:
 * p' = Proj(R + step g), Pn = p', Rn = p' + mom (p' - P). qv, work: 3 rows and 2 rows^2 numbers.
 */
function fgpDualSlice(a: FgpArgs, z: number, ring: Float32Array, qv: Float64Array, work: Float64Array): void {
  const { nz, ny, nx, step, mom, c, sh, R, P, Pn, Rn } = a, plane = ny * nx, n = nz * plane, n2 = 2 * n, nE = a.w.length, fr = Math.fround;
  const kind = a.kind, withH = kind === 2, rows = withH ? nE + 1 : nE, lastZ = z === nz - 1;
  const s0 = (z & 1) * plane, s1 = ((z + 1) & 1) * plane, off = z * plane;
  if (kind === 0) {
    // TV: float32 arithmetic, every operation rounded (the f32x4 kernel's bits; a float32 result of one
    // float64 operation on float32 operands is the correctly rounded float32 operation)
    const sf = fr(step), mf = fr(mom);
    for (let e = 0; e < nE; e++) {
      const Re = R[e], Pe = P[e], Pne = Pn[e], Rne = Rn[e], b0 = 2 * e * plane + s0, b1 = 2 * e * plane + s1;
      for (let y = 0, yx = 0; y < ny; y++) for (let x = 0; x < nx; x++, yx++) {
        const i = off + yx, k0 = b0 + yx, v = ring[k0];
        const gz = !lastZ ? fr(ring[b1 + yx] - v) : 0, gy = y < ny - 1 ? fr(ring[k0 + nx] - v) : 0, gx = x < nx - 1 ? fr(ring[k0 + 1] - v) : 0;
        const p0 = fr(Re[i] + fr(sf * gz)), p1 = fr(Re[n + i] + fr(sf * gy)), p2 = fr(Re[n2 + i] + fr(sf * gx));
        const mag = fr(Math.sqrt(fr(fr(fr(p0 * p0) + fr(p1 * p1)) + fr(p2 * p2)))), f = mag > 1 ? fr(1 / mag) : 1;
        const q0 = fr(p0 * f), q1 = fr(p1 * f), q2 = fr(p2 * f);
        const o0 = Pe[i], o1 = Pe[n + i], o2 = Pe[n2 + i];
        Pne[i] = q0; Pne[n + i] = q1; Pne[n2 + i] = q2;
        Rne[i] = q0 + fr(mf * fr(q0 - o0)); Rne[n + i] = q1 + fr(mf * fr(q1 - o1)); Rne[n2 + i] = q2 + fr(mf * fr(q2 - o2));
      }
    }
    return;
  }
  if (nE === 2 && !a.general) {
    // two elements (the usual case), unrolled: the same arithmetic in the same order as the general loop below
    const R0 = R[0], R1 = R[1], RH = withH ? R[2] : R[0], c0 = c[0], c1 = c[1], b1 = 2 * plane;
    for (let y = 0, yx = 0; y < ny; y++) for (let x = 0; x < nx; x++, yx++) {
      const i = off + yx, k0 = s0 + yx, k1 = b1 + s0 + yx, v0 = ring[k0], v1 = ring[k1];
      const hasY = y < ny - 1, hasX = x < nx - 1;
      const gz0 = !lastZ ? fr(ring[s1 + yx] - v0) : 0, gy0 = hasY ? fr(ring[k0 + nx] - v0) : 0, gx0 = hasX ? fr(ring[k0 + 1] - v0) : 0;
      const gz1 = !lastZ ? fr(ring[b1 + s1 + yx] - v1) : 0, gy1 = hasY ? fr(ring[k1 + nx] - v1) : 0, gx1 = hasX ? fr(ring[k1 + 1] - v1) : 0;
      qv[0] = R0[i] + step * gz0; qv[1] = R0[n + i] + step * gy0; qv[2] = R0[n2 + i] + step * gx0;
      qv[3] = R1[i] + step * gz1; qv[4] = R1[n + i] + step * gy1; qv[5] = R1[n2 + i] + step * gx1;
      if (withH) {
        let hz = 0, hy = 0, hx = 0;
        hz += c0 * gz0; hy += c0 * gy0; hx += c0 * gx0;
        hz += c1 * gz1; hy += c1 * gy1; hx += c1 * gx1;
        qv[6] = RH[i] + step * (sh * hz); qv[7] = RH[n + i] + step * (sh * hy); qv[8] = RH[n2 + i] + step * (sh * hx);
      }
      projectSpectralBall(qv, rows, 1, work);
      for (let r = 0; r < rows; r++) {
        const Pr = P[r], Pnr = Pn[r], Rnr = Rn[r], q0 = fr(qv[3 * r]), q1 = fr(qv[3 * r + 1]), q2 = fr(qv[3 * r + 2]);
        const o0 = Pr[i], o1 = Pr[n + i], o2 = Pr[n2 + i];
        Pnr[i] = q0; Rnr[i] = q0 + mom * (q0 - o0);
        Pnr[n + i] = q1; Rnr[n + i] = q1 + mom * (q1 - o1);
        Pnr[n2 + i] = q2; Rnr[n2 + i] = q2 + mom * (q2 - o2);
      }
    }
    return;
  }
  for (let y = 0, yx = 0; y < ny; y++) for (let x = 0; x < nx; x++, yx++) {
    const i = off + yx;
    let hz = 0, hy = 0, hx = 0;
    for (let e = 0; e < nE; e++) {
      const b = 2 * e * plane, k0 = b + s0 + yx, v = ring[k0];
      const gz = !lastZ ? fr(ring[b + s1 + yx] - v) : 0, gy = y < ny - 1 ? fr(ring[k0 + nx] - v) : 0, gx = x < nx - 1 ? fr(ring[k0 + 1] - v) : 0;
      qv[3 * e] = gz; qv[3 * e + 1] = gy; qv[3 * e + 2] = gx;
      hz += c[e] * gz; hy += c[e] * gy; hx += c[e] * gx;
    }
    if (withH) { qv[3 * nE] = sh * hz; qv[3 * nE + 1] = sh * hy; qv[3 * nE + 2] = sh * hx; }
    for (let r = 0; r < rows; r++) { const Rr = R[r]; qv[3 * r] = Rr[i] + step * qv[3 * r]; qv[3 * r + 1] = Rr[n + i] + step * qv[3 * r + 1]; qv[3 * r + 2] = Rr[n2 + i] + step * qv[3 * r + 2]; }
    projectSpectralBall(qv, rows, 1, work);
    for (let r = 0; r < rows; r++) {
      const Pr = P[r], Pnr = Pn[r], Rnr = Rn[r];
      for (let d = 0, k = i; d < 3; d++, k += n) {
        const q = fr(qv[3 * r + d]), o = Pr[k];
        Pnr[k] = q; Rnr[k] = q + mom * (q - o);
      }
    }
  }
}

/**
 * total + the regulariser's value on the ring's slice z (voxels in order): sum_e |grad u_e| (TV) or ||J||_*
 * (TNV: the square roots of the Gram eigenvalues, prox.ts gramEigenvalues for m <= 3, Jacobi beyond).
 */
function fgpValueSlice(a: FgpArgs, z: number, total: number, ring: Float32Array, qv: Float64Array, work: Float64Array, G: Float64Array, ev: Float64Array): number {
  const { nz, ny, nx, c, sh } = a, plane = ny * nx, nE = a.w.length, fr = Math.fround;
  const kind = a.kind, withH = kind === 2, rows = withH ? nE + 1 : nE, lastZ = z === nz - 1;
  const s0 = (z & 1) * plane, s1 = ((z + 1) & 1) * plane;
  for (let y = 0, yx = 0; y < ny; y++) for (let x = 0; x < nx; x++, yx++) {
    let hz = 0, hy = 0, hx = 0;
    for (let e = 0; e < nE; e++) {
      const b = 2 * e * plane, k0 = b + s0 + yx, v = ring[k0];
      const gz = !lastZ ? fr(ring[b + s1 + yx] - v) : 0, gy = y < ny - 1 ? fr(ring[k0 + nx] - v) : 0, gx = x < nx - 1 ? fr(ring[k0 + 1] - v) : 0;
      if (kind === 0) { total += Math.sqrt(gz * gz + gy * gy + gx * gx); continue; }
      qv[3 * e] = gz; qv[3 * e + 1] = gy; qv[3 * e + 2] = gx;
      hz += c[e] * gz; hy += c[e] * gy; hx += c[e] * gx;
    }
    if (kind === 0) continue;
    if (withH) { qv[3 * nE] = sh * hz; qv[3 * nE + 1] = sh * hy; qv[3 * nE + 2] = sh * hx; }
    let fro = 0;
    for (let k = 0; k < 3 * rows; k++) fro += qv[k] * qv[k];
    if (fro === 0) continue;
    if (rows <= 3) {
      for (let r = 0; r < rows; r++) for (let s = 0; s < rows; s++) G[r * rows + s] = qv[3 * r] * qv[3 * s] + qv[3 * r + 1] * qv[3 * s + 1] + qv[3 * r + 2] * qv[3 * s + 2];
      gramEigenvalues(G, rows, ev);
      for (let k = 0; k < rows; k++) total += Math.sqrt(Math.max(ev[k], 0));
    } else {
      projectSpectralBall(qv, rows, 0, work, false); // leaves the diagonalised Gram in work
      for (let k = 0; k < rows; k++) total += Math.sqrt(Math.max(work[k * rows + k], 0));
    }
  }
  return total;
}

/**
 * The FGP kernel on slices [z0, z1) (z0 even), rolling through them with the two-slice ring: mode 0 one
 * FGP iteration (the primal of R, the dual step); mode 1 u = max(0, w + t div P) and R(u); mode 2 R(u).
 * R(u) is summed per VALUE_BLOCK (2) slices into sums[z >> 1].
 */
export function fgpSlab(a: FgpArgs, z0: number, z1: number): void {
  const { nz, ny, nx, u } = a, plane = ny * nx, nE = a.w.length, rows = a.kind === 2 ? nE + 1 : nE;
  if (fgpScratch.ring.length < 2 * nE * plane) fgpScratch.ring = new Float32Array(2 * nE * plane);
  if (fgpScratch.hRow.length < plane) fgpScratch.hRow = new Float32Array(plane);
  const ring = fgpScratch.ring, hRow = fgpScratch.hRow;
  const qv = new Float64Array(3 * rows), work = new Float64Array(2 * rows * rows), G = new Float64Array(rows * rows), ev = new Float64Array(3);
  if (a.mode === 0) {
    fgpPrimalSlice(a, a.R, z0, false, false, ring, hRow);
    for (let z = z0; z < z1; z++) {
      if (z + 1 < nz) fgpPrimalSlice(a, a.R, z + 1, false, false, ring, hRow);
      fgpDualSlice(a, z, ring, qv, work);
    }
    return;
  }
  const load = (z: number): void => { for (let e = 0; e < nE; e++) ring.set(u[e].subarray(z * plane, (z + 1) * plane), 2 * e * plane + (z & 1) * plane); };
  if (a.mode === 1) fgpPrimalSlice(a, a.P, z0, true, true, ring, hRow); else load(z0);
  let total = 0;
  for (let z = z0; z < z1; z++) {
    if (z + 1 < nz) { if (a.mode === 1) fgpPrimalSlice(a, a.P, z + 1, true, z + 1 < z1, ring, hRow); else load(z + 1); }
    total = fgpValueSlice(a, z, total, ring, qv, work, G, ev);
    if ((z & 1) === 1 || z === z1 - 1) { a.sums[z >> 1] = total; total = 0; }
  }
}

/** Slices per block of the regulariser value's partial sums (the same blocks for any slab size and number of workers). */
const VALUE_BLOCK = 2;
/** Slices per slab of the kernel (even: a whole number of value blocks). */
const SLAB = 8;

const KERNEL: SlabKernel<FgpArgs> = {
  name: 'joint.fgpSlab', fn: fgpSlab,
  prelude: [PROX_PRELUDE, 'const fgpScratch = { ring: new Float32Array(0), hRow: new Float32Array(0) };', ...[fgpDiv, fgpDiv32, fgpPrimalSlice, fgpDualSlice, fgpValueSlice].map((f) => `const ${f.name} = ${f.toString()};`)].join('\n'),
};

/** Mode 1 on the wasm kernel's memory: its module, memory and byte offsets (fgp-wasm.ts layout). */
interface FgpWasmResultArgs extends FgpArgs {
  mod: WebAssembly.Module; mem: WebAssembly.Memory; memId: number;
  wOff: number; pOff: number; outOff: number; ringOff: number; ringBytes: number;
}

/**
 * Mode 1 where the iterations ran on the wasm kernel: the clipped primal of P by fgpTvResultSlice (the
 * wasm kernel's float32 arithmetic, the JavaScript mode 1's bits) rolled through slab s's ring, the
 * regulariser's value from the ring by fgpValueSlice (as mode 1 sums it), the result copied into u.
 */
function fgpWasmResultSlab(a: FgpWasmResultArgs, z0: number, z1: number, s: number): void {
  const { nz, ny, nx, u } = a, plane = ny * nx, n = nz * plane, nE = a.w.length;
  const run = fgpWasmExports(a.mod, a.mem, a.memId).fgpTvResultSlice;
  const ringOff = a.ringOff + s * a.ringBytes, ring = new Float32Array(a.mem.buffer, ringOff, 2 * nE * plane);
  const qv = new Float64Array(3 * nE), work = new Float64Array(2 * nE * nE), G = new Float64Array(nE * nE), ev = new Float64Array(3);
  run(nz, ny, nx, nE, z0, a.wOff, a.pOff, ringOff, a.outOff, a.t);
  let total = 0;
  for (let z = z0; z < z1; z++) {
    if (z + 1 < nz) run(nz, ny, nx, nE, z + 1, a.wOff, a.pOff, ringOff, z + 1 < z1 ? a.outOff : 0, a.t);
    total = fgpValueSlice(a, z, total, ring, qv, work, G, ev);
    if ((z & 1) === 1 || z === z1 - 1) { a.sums[z >> 1] = total; total = 0; }
  }
  for (let e = 0; e < nE; e++) u[e].set(new Float32Array(a.mem.buffer, a.outOff + 4 * (e * n + z0 * plane), (z1 - z0) * plane), z0 * plane);
}

const WASM_RESULT_KERNEL: SlabKernel<FgpWasmResultArgs> = {
  name: 'joint.fgpWasmResult', fn: fgpWasmResultSlab,
  prelude: [PROX_PRELUDE, FGP_WASM_PRELUDE, `const fgpValueSlice = ${fgpValueSlice.toString()};`].join('\n'),
};

function sumBlocks(sums: Float64Array): number {
  let s = 0;
  for (const v of sums) s += v;
  return s;
}

/**
 * prox_{t R} by `iterations` FGP steps, then a clip at 0, in place on u; R = sum_e TV(u_e) or TNV, the dual
 * warm-started from the last call. Runs on `runner` (the projector's workers). `value(u)`: R(u) (for the objective).
 */
export class FgpProx {
  private rows: number;
  private p: Float32Array[];
  private r: Float32Array[];
  private r2: Float32Array[];
  private pn: Float32Array[];
  private w: Float32Array[];
  private L: number;
  private base: Omit<FgpArgs, 'mode' | 'u' | 'R' | 'P' | 'Pn' | 'Rn' | 't' | 'step' | 'mom'>;
  /** TV with nx a multiple of 4 where WebAssembly SIMD runs: the iterations on fgp-kernel.wat, the arrays in its shared memory (fgp-wasm.ts). */
  private wasm: { args: Omit<FgpWasmArgs, 'R' | 'P' | 'Pn' | 'Rn' | 't' | 'step' | 'mom'>; off: Map<Float32Array[], number>; outOff: number } | null = null;
  /** Which kernel runs the FGP iterations (the results are the same bits). */
  readonly kernel: 'wasm' | 'js';
  constructor(private runner: SlabRunner, kind: ProxKind, c: number[], shape: Shape3, private iterations: number, sh: number, kernel: 'auto' | 'js' = 'auto') {
    if (!Number.isInteger(iterations) || iterations < 1) throw new InternalError(`joint prox: iterations must be an integer >= 1, got ${iterations}`);
    const nE = c.length, n = shape[0] * shape[1] * shape[2];
    this.rows = kind === 'tnv-haadf' ? nE + 1 : nE;
    const mod = kernel === 'auto' && kind === 'tv' && shape[2] % 4 === 0 ? fgpWasmModule() : null;
    const lay = mod ? fgpWasmLayout(shape[0], shape[1], shape[2], nE, Math.ceil(shape[0] / SLAB)) : null;
    if (mod && lay) {
      const [p, r, r2, pn] = lay.blocks;
      this.p = p.rows; this.r = r.rows; this.r2 = r2.rows; this.pn = pn.rows; this.w = lay.w;
      this.wasm = {
        args: { mod, mem: lay.mem, memId: lay.memId, nz: shape[0], ny: shape[1], nx: shape[2], nE, w: lay.w[0].byteOffset, ring: lay.ring, ringBytes: lay.ringBytes },
        off: new Map(lay.blocks.map((b) => [b.rows, b.off])),
        outOff: lay.outOff,
      };
    } else {
      const mk = (len: number, k: number) => Array.from({ length: k }, () => runner.sharedFloat32(len));
      this.p = mk(3 * n, this.rows); this.r = mk(3 * n, this.rows); this.r2 = mk(3 * n, this.rows); this.pn = mk(3 * n, this.rows);
      this.w = mk(n, nE);
    }
    this.kernel = this.wasm ? 'wasm' : 'js';
    let c2 = 0; for (const v of c) c2 += v * v;
    this.L = 12 * (1 + (kind === 'tnv-haadf' ? sh * sh * c2 : 0));
    const nb = Math.ceil(shape[0] / VALUE_BLOCK), sums = new Float64Array(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(8 * nb) : new ArrayBuffer(8 * nb));
    this.base = { kind: kind === 'tv' ? 0 : kind === 'tnv' ? 1 : 2, nz: shape[0], ny: shape[1], nx: shape[2], c: [...c], sh, w: this.w, sums };
  }

  private args(o: Partial<FgpArgs>): FgpArgs {
    return { ...this.base, mode: 0, u: [], R: [], P: [], Pn: [], Rn: [], t: 0, step: 0, mom: 0, ...o };
  }

  /** One FGP iteration (mode 0) on the wasm kernel or the JavaScript one. */
  private async iterate(R: Float32Array[], Rn: Float32Array[], t: number, step: number, mom: number): Promise<void> {
    if (this.wasm) {
      const off = this.wasm.off;
      await this.runner.runSlabs(FGP_WASM_KERNEL, { ...this.wasm.args, R: off.get(R)!, P: off.get(this.p)!, Pn: off.get(this.pn)!, Rn: off.get(Rn)!, t, step, mom }, SLAB);
      return;
    }
    await this.runner.runSlabs(KERNEL, this.args({ mode: 0, R, P: this.p, Pn: this.pn, Rn, t, step, mom }), SLAB);
  }

  /**
   * u <- max(0, prox_{t R}(u)); u's arrays must be the runner's shared arrays. Returns R of the result
   * (computed with the last primal), or null where t <= 0 leaves u as it was.
   */
  async apply(u: Float32Array[], t: number): Promise<number | null> {
    if (!(t > 0)) return null;
    for (let e = 0; e < u.length; e++) this.w[e].set(u[e]);
    const step = 1 / (t * this.L);
    let tk = 1, R = this.p, Rn = this.r; // the extrapolated dual starts at the warm-started p
    for (let k = 0; k < this.iterations; k++) {
      const tn = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2, mom = (tk - 1) / tn;
      await this.iterate(R, Rn, t, step, mom);
      [this.p, this.pn] = [this.pn, this.p];
      R = Rn;
      Rn = Rn === this.r ? this.r2 : this.r;
      tk = tn;
    }
    if (this.wasm) {
      const wa = this.wasm.args;
      await this.runner.runSlabs(WASM_RESULT_KERNEL, { ...this.args({ mode: 1, u, P: this.p, t }), mod: wa.mod, mem: wa.mem, memId: wa.memId, wOff: wa.w, pOff: this.wasm.off.get(this.p)!, outOff: this.wasm.outOff, ringOff: wa.ring, ringBytes: wa.ringBytes }, SLAB);
    } else await this.runner.runSlabs(KERNEL, this.args({ mode: 1, u, P: this.p, t }), SLAB);
    return sumBlocks(this.base.sums);
  }

  /** R(u), summed per block in slice order (the same for any number of workers). */
  async value(u: Float32Array[]): Promise<number> {
    await this.runner.runSlabs(KERNEL, this.args({ mode: 2, u }), SLAB);
    return sumBlocks(this.base.sums);
  }
}

/** R(u) in this thread (jointObjective's fallback where no runner is at hand): sum_voxels of TV or TNV. */
export function regulariserValueLocal(kind: ProxKind, c: number[], sh: number, shape: Shape3, u: Float32Array[]): number {
  const sums = new Float64Array(Math.ceil(shape[0] / VALUE_BLOCK));
  const a: FgpArgs = { mode: 2, kind: kind === 'tv' ? 0 : kind === 'tnv' ? 1 : 2, nz: shape[0], ny: shape[1], nx: shape[2], c, sh, w: u, u, R: [], P: [], Pn: [], Rn: [], t: 0, step: 0, mom: 0, sums };
  for (let z0 = 0; z0 < shape[0]; z0 += SLAB) fgpSlab(a, z0, Math.min(shape[0], z0 + SLAB));
  return sumBlocks(sums);
}
