/**
 * The joint engine's per-voxel and per-ray array passes (engine.ts) as one slab kernel, so they run on
 * the projector's workers beside the projections and the prox instead of in the main thread (at 2 workers
 * they were about a third of a fused iteration at 128^3, and they would not shrink with more cores).
 * A slab [z0, z1) of z slices covers the volume's voxels [z0 plane, z1 plane) and, of every tilt-series
 * array [angle, z, column], the rows z0..z1 of each angle. Every value is computed by the same arithmetic
 * as the engine's former inline loops (float64, stored in float32 where they stored it, element sums from
 * 0 in element order), each voxel or ray on its own, so the results are the same bits for any number of
 * workers or slabs. Self-contained (its source goes to the workers: operator.ts SlabKernel).
 */
import type { SlabKernel, SlabRunner } from '../operator.ts';

/** The passes (PassArgs.op). */
export const PASS = {
  /** tilt series: out_i = b_i / p_i (0 where p_i <= 0); arrays [b, p] (ML-EM's ratio). */
  emRatio: 0,
  /** volume: out_j = out_j bp_j / C_j on the support (C_j > 1e-6), else 0; arrays [bp, C] (ML-EM's update). */
  emUpdate: 1,
  /** tilt series: out_i = invRow_i (sum_e c_e Pu_e,i - bH_i); vols Pu, arrays [bH, invRow] (SIRT's HAADF residual). */
  haadfResidual: 2,
  /** volume: out_j = f out_j / C_j on the support, else 0; arrays [C]. */
  scaleByColumnSums: 3,
  /** volume: out_j = sum_e c_e u_e,j accumulated in float32 from 0 in element order; vols u. */
  haadfVolume: 4,
  /** volume: out_j = f (sum_e c_e u_e,j - out_j), the sum in float64; vols u. */
  haadfChange: 5,
  /**
   * volume: lifts a change dh = out of the HAADF volume h = sum_e c_e u_e to the elements by each one's
   * share of h at the voxel: u_e += dh (u_e + eps g_e) / (h + eps), then a clip at 0 (so sum_e c_e du_e =
   * dh before the clip); u = 0 off the support. The HAADF decides the total, the EDX the composition: an
   * element the EDX puts at zero stays at zero, where the minimum-norm split along c (du_e = c_e dh /
   * sum c^2) would hand most of any HAADF signal to the heavier element whatever the EDX says. eps (1 % of
   * the mean h) with the global composition g (each element's share of the EDX totals) decides where the
   * volume is still empty. vols u, arrays [C], g, eps.
   */
  liftH: 6,
  /** tilt series: out_i = invRow_i (p_i - b_i); arrays [p, b, invRow] (SIRT's residual). */
  sirtResidual: 7,
  /** volume: out_j = max(0, out_j - bp_j / C_j) on the support, else 0; arrays [bp, C] (SIRT's update with the clip). */
  sirtUpdate: 8,
  /**
   * reduction over the tilt series (passReducer): the data sums of engine.ts jointObjective (the objective),
   * into sums[s (1 + nE) + k]: k = 0 sum_i wH_i (sum_e c_e Pu_e,i - bH_i)^2, k = 1 + e element e's EDX term
   * (Poisson: sum_i Pu_e,i - b_e,i log max(Pu_e,i, 1e-30) where b_e,i > 0, else Pu_e,i; least squares, v[e]
   * set: sum_i v_e (Pu_e,i - b_e,i)^2 / 2). vols Pu, arrays [bH, wH, b_0 .. b_nE-1] (an empty bH: no HAADF sum; an
   * empty b_e: no EDX sum, 0).
   */
  objective: 9,
  /** reduction over the volume: sums[s] = sum_e c_e sum_j u_e,j (c empty: every c_e = 1), element by element; vols u. */
  weightedTotal: 10,
} as const;

/** The passes over tilt-series arrays (the others run over the volume). */
export const TILT_SERIES_PASSES: ReadonlySet<number> = new Set([PASS.emRatio, PASS.haadfResidual, PASS.sirtResidual, PASS.objective]);

/** The reductions (passReducer; the others write arrays): how many sums each writes per slab, for nE elements. */
export const REDUCTIONS: ReadonlyMap<number, (nE: number) => number> = new Map([[PASS.objective, (nE: number) => 1 + nE], [PASS.weightedTotal, () => 1]]);

export interface PassArgs {
  op: number;
  /** True for a tilt-series pass (TILT_SERIES_PASSES; passRunner and passReducer set it). */
  rays: boolean;
  /** True for a reduction (REDUCTIONS; passReducer sets it). */
  reduce: boolean;
  /** Slice size ny nx, slices nz, tilts, detector columns. */
  plane: number; nz: number; nA: number; nCols: number;
  /** The array written (read too where the pass updates it). */
  out: Float32Array;
  /** The pass's other inputs, in the order PASS lists them. */
  arrays: Float32Array[];
  /** Per-element arrays (u or P u). */
  vols: Float32Array[];
  /** Per-element coefficients c_e, the lift's composition g_e, a factor f, the lift's eps. */
  c: number[]; g: number[]; f: number; eps: number;
  /** Reductions: the sums per slab (passReducer), the least-squares EDX weights (empty: Poisson). */
  sums: Float64Array; v: number[];
}

/** The kernel body on [lo, hi) of one array span (voxels, or one angle's rows). */
function passRange(a: PassArgs, lo: number, hi: number): void {
  const out = a.out, A = a.arrays, V = a.vols, c = a.c, nE = V.length;
  switch (a.op) {
    case 0: { const b = A[0], p = A[1]; for (let i = lo; i < hi; i++) out[i] = p[i] > 0 ? b[i] / p[i] : 0; return; }
    case 1: { const bp = A[0], C = A[1]; for (let j = lo; j < hi; j++) out[j] = C[j] > 1e-6 ? (out[j] * bp[j]) / C[j] : 0; return; }
    case 2: {
      const bH = A[0], inv = A[1];
      if (nE === 2) {
        const P0 = V[0], P1 = V[1], c0 = c[0], c1 = c[1];
        for (let i = lo; i < hi; i++) { let h = 0; h += c0 * P0[i]; h += c1 * P1[i]; out[i] = inv[i] * (h - bH[i]); }
      } else for (let i = lo; i < hi; i++) { let h = 0; for (let e = 0; e < nE; e++) h += c[e] * V[e][i]; out[i] = inv[i] * (h - bH[i]); }
      return;
    }
    case 3: { const C = A[0], f = a.f; for (let j = lo; j < hi; j++) out[j] = C[j] > 1e-6 ? (f * out[j]) / C[j] : 0; return; }
    case 4: { out.fill(0, lo, hi); for (let e = 0; e < nE; e++) { const x = V[e], ce = c[e]; for (let j = lo; j < hi; j++) out[j] += ce * x[j]; } return; }
    case 5: {
      const f = a.f;
      if (nE === 2) {
        const u0 = V[0], u1 = V[1], c0 = c[0], c1 = c[1];
        for (let j = lo; j < hi; j++) { let s = 0; s += c0 * u0[j]; s += c1 * u1[j]; out[j] = f * (s - out[j]); }
      } else for (let j = lo; j < hi; j++) { let s = 0; for (let e = 0; e < nE; e++) s += c[e] * V[e][j]; out[j] = f * (s - out[j]); }
      return;
    }
    case 6: {
      // PASS.liftH
      const C = A[0], eps = a.eps, g = a.g;
      for (let j = lo; j < hi; j++) {
        if (!(C[j] > 1e-6)) { for (let e = 0; e < nE; e++) V[e][j] = 0; continue; }
        const d = out[j];
        if (d === 0) continue;
        let h = 0;
        for (let e = 0; e < nE; e++) h += c[e] * V[e][j];
        const fj = d / (h + eps);
        for (let e = 0; e < nE; e++) { const v = V[e][j] + fj * (V[e][j] + eps * g[e]); V[e][j] = v > 0 ? v : 0; }
      }
      return;
    }
    case 7: { const p = A[0], b = A[1], inv = A[2]; for (let i = lo; i < hi; i++) out[i] = inv[i] * (p[i] - b[i]); return; }
    case 8: { const bp = A[0], C = A[1]; for (let j = lo; j < hi; j++) out[j] = C[j] > 1e-6 ? Math.max(0, out[j] - bp[j] / C[j]) : 0; return; }
    default: throw new RangeError(`joint pass: unknown op ${a.op}`);
  }
}

/**
 * A reduction on slab s, slices [z0, z1): its sums in float64, over the slab's rays angle by angle (rows z0..z1
 * of each) or its voxels, each from 0; the caller adds the slabs in slab order, so the totals are the same
 * bits for any number of workers.
 */
function reduceSlab(a: PassArgs, z0: number, z1: number, s: number): void {
  const V = a.vols, A = a.arrays, c = a.c, nE = V.length, sums = a.sums;
  if (a.op === 10) {
    let t = 0;
    for (let e = 0; e < nE; e++) {
      const x = V[e], ce = c.length ? c[e] : 1;
      let se = 0;
      for (let j = z0 * a.plane; j < z1 * a.plane; j++) se += x[j];
      t += c.length ? ce * se : se;
    }
    sums[s] = t;
    return;
  }
  // op 9: the objective's data sums
  const w = 1 + nE, bH = A[0], wH = A[1], hasH = bH.length > 0, ls = a.v.length > 0;
  let haadf = 0;
  for (let k = 0; k < w; k++) sums[s * w + k] = 0;
  for (let t = 0; t < a.nA; t++) {
    const lo = (t * a.nz + z0) * a.nCols, hi = (t * a.nz + z1) * a.nCols;
    if (hasH) for (let i = lo; i < hi; i++) { let h = 0; for (let e = 0; e < nE; e++) h += c[e] * V[e][i]; const d = h - bH[i]; haadf += wH[i] * d * d; }
    for (let e = 0; e < nE; e++) {
      const P = V[e], b = A[2 + e];
      if (b.length === 0) continue;
      let edx = 0;
      if (ls) { const ve = a.v[e]; for (let i = lo; i < hi; i++) { const d = P[i] - b[i]; edx += (ve * d * d) / 2; } }
      else for (let i = lo; i < hi; i++) { const z = P[i]; edx += b[i] > 0 ? z - b[i] * Math.log(Math.max(z, 1e-30)) : z; }
      sums[s * w + 1 + e] += edx;
    }
  }
  sums[s * w] = haadf;
}

/** Slices [z0, z1) of the pass: the voxels of those slices, or those rows of every angle of a tilt series. */
function passSlab(a: PassArgs, z0: number, z1: number, s: number): void {
  if (a.reduce) { reduceSlab(a, z0, z1, s); return; }
  if (a.rays) {
    for (let t = 0; t < a.nA; t++) passRange(a, (t * a.nz + z0) * a.nCols, (t * a.nz + z1) * a.nCols);
  } else passRange(a, z0 * a.plane, z1 * a.plane);
}

const KERNEL: SlabKernel<PassArgs> = { name: 'joint.pass', fn: passSlab, prelude: `const passRange = ${passRange.toString()};\nconst reduceSlab = ${reduceSlab.toString()};` };

/** Slices per slab of a pass. */
const SLAB = 8;

/** Runs the engine's passes on `runner` for a volume [nz, ny, nx] and tilt series [nA, nz, nCols]. */
export function passRunner(runner: SlabRunner, geom: { nz: number; ny: number; nx: number; nA: number; nCols: number }): (op: number, o: Partial<Omit<PassArgs, 'op' | 'rays' | 'reduce'>> & { out: Float32Array }) => Promise<void> {
  const base = passBase(geom);
  return (op, o) => {
    if (REDUCTIONS.has(op)) throw new RangeError(`joint pass ${op} is a reduction: run it with passReducer`);
    return runner.runSlabs(KERNEL, { ...base, ...o, op, rays: TILT_SERIES_PASSES.has(op), reduce: false }, SLAB);
  };
}

function passBase(geom: { nz: number; ny: number; nx: number; nA: number; nCols: number }): Omit<PassArgs, 'op' | 'rays' | 'reduce'> {
  return { plane: geom.ny * geom.nx, nz: geom.nz, nA: geom.nA, nCols: geom.nCols, out: new Float32Array(0), arrays: [], vols: [], c: [], g: [], f: 0, eps: 0, sums: new Float64Array(0), v: [] };
}

/**
 * Runs the engine's reductions (REDUCTIONS) on `runner`: each returns its totals, the slabs' sums added in
 * slab order (the same bits for any number of workers; not the bits of one loop over the whole array).
 */
export function passReducer(runner: SlabRunner, geom: { nz: number; ny: number; nx: number; nA: number; nCols: number }): (op: number, o: Partial<Omit<PassArgs, 'op' | 'rays' | 'reduce' | 'sums'>>) => Promise<number[]> {
  const base = passBase(geom), nSlabs = Math.ceil(geom.nz / SLAB);
  const buffers = new Map<number, Float64Array>();
  return async (op, o) => {
    const width = REDUCTIONS.get(op)?.((o.vols ?? []).length);
    if (width === undefined) throw new RangeError(`joint pass ${op} is not a reduction`);
    let sums = buffers.get(width);
    if (!sums) { sums = new Float64Array(new SharedArrayBuffer(8 * width * nSlabs)); buffers.set(width, sums); }
    await runner.runSlabs(KERNEL, { ...base, ...o, op, rays: TILT_SERIES_PASSES.has(op), reduce: true, sums }, SLAB);
    const tot = new Array<number>(width).fill(0);
    for (let s = 0; s < nSlabs; s++) for (let k = 0; k < width; k++) tot[k] += sums[s * width + k];
    return tot;
  };
}
