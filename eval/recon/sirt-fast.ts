/**
 * Slice-parallel SIRT on a precomputed Joseph system matrix (the fast path for full volumes).
 *
 * Same update and weights as sirt.ts (ASTRA semantics: x += lambda C A^T R (b - A x), zero
 * denominators give weight 0, min/max constraint), exploiting that every z-slice is an independent
 * 2D problem with the same matrix A (geometry.ts): slices are split into contiguous blocks over
 * worker_threads (SharedArrayBuffer in and out, no synchronisation between workers), and inside a
 * worker a chunk of zc slices is interleaved ([voxel][z], [ray][z]) so each matrix entry, read once,
 * updates zc slices in a contiguous inner loop (unrolled for zc = 8, accumulators in registers);
 * the back-projection gathers over the transposed matrix. Each slice gets the same arithmetic
 * whatever the chunking, so results are byte-identical for any number of workers. The chunk runs all its iterations before the next
 * chunk, so its working set stays in cache. Masks are not supported here (use sirt.ts).
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { josephMatrix } from './sparse.ts';
import type { Progress } from '../../generators/common/progress.ts';

export interface Csr { rowPtr: Int32Array; col: Int32Array; val: Float32Array; nRows: number; nColsM: number }

export interface FastSirtOptions {
  nz: number; ny: number; nx: number; nCols: number;
  angles: ArrayLike<number>;
  iterations: number;
  relaxation?: number;
  minConstraint?: number;
  maxConstraint?: number;
  /** Worker threads (default min(2, cores)); 1 runs in this thread. */
  workers?: number;
  /** Slices interleaved per chunk (default 8, which has an unrolled kernel). */
  chunk?: number;
  progress?: Progress;
}

/** R = 1/(A 1) and lambda C = lambda/(A^T 1) of the slice matrix, zero-guarded. */
export function sirtWeights(m: Csr, lambda: number): { R: Float32Array; C: Float32Array } {
  const R = new Float32Array(m.nRows), C = new Float32Array(m.nColsM);
  for (let r = 0; r < m.nRows; r++) {
    let s = 0;
    for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) { s += m.val[k]; C[m.col[k]] += m.val[k]; }
    R[r] = s > 1e-6 ? 1 / s : 0;
  }
  for (let j = 0; j < C.length; j++) C[j] = C[j] > 1e-6 ? lambda / C[j] : 0;
  return { R, C };
}

/**
 * Runs SIRT on slices z0..z1 of tilt series b ([angle, z, col], nz rows) into x ([z, y, x]),
 * chunk by chunk; `tick(n)` reports n slice-iterations done.
 */
export function sirtSliceRange(m: Csr, w: { R: Float32Array; C: Float32Array }, b: Float32Array, x: Float32Array, o: { nz: number; nA: number; nCols: number; z0: number; z1: number; iterations: number; lo: number; hi: number; chunk: number }, t: Csr, tick?: (n: number) => void): void {
  const { rowPtr, col, val, nRows, nColsM } = m;
  const { R, C } = w;
  const zcMax = o.chunk;
  const bi = new Float32Array(nRows * zcMax), xi = new Float32Array(nColsM * zcMax), res = new Float32Array(nRows * zcMax), bp = new Float32Array(nColsM * zcMax);
  const acc = new Float64Array(Math.max(zcMax, 1));
  for (let zs = o.z0; zs < o.z1; zs += zcMax) {
    const zc = Math.min(zcMax, o.z1 - zs);
    // gather: bi[r][z] from b[a, z, u] with r = a nCols + u
    for (let a = 0; a < o.nA; a++) for (let u = 0; u < o.nCols; u++) {
      const r = a * o.nCols + u;
      for (let z = 0; z < zc; z++) bi[r * zc + z] = b[(a * o.nz + zs + z) * o.nCols + u];
    }
    for (let k = 0; k < nColsM; k++) for (let z = 0; z < zc; z++) xi[k * zc + z] = x[(zs + z) * nColsM + k];
    for (let it = 0; it < o.iterations; it++) {
      // residual r = R (b - A x)
      if (zc === 8) {
        // unrolled over 8 slices: accumulators live in registers
        for (let r = 0; r < nRows; r++) {
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
          for (let k = rowPtr[r], e = rowPtr[r + 1]; k < e; k++) {
            const v = val[k], q = col[k] << 3;
            a0 += v * xi[q]; a1 += v * xi[q + 1]; a2 += v * xi[q + 2]; a3 += v * xi[q + 3];
            a4 += v * xi[q + 4]; a5 += v * xi[q + 5]; a6 += v * xi[q + 6]; a7 += v * xi[q + 7];
          }
          const rr = R[r], ob = r << 3;
          res[ob] = (bi[ob] - a0) * rr; res[ob + 1] = (bi[ob + 1] - a1) * rr; res[ob + 2] = (bi[ob + 2] - a2) * rr; res[ob + 3] = (bi[ob + 3] - a3) * rr;
          res[ob + 4] = (bi[ob + 4] - a4) * rr; res[ob + 5] = (bi[ob + 5] - a5) * rr; res[ob + 6] = (bi[ob + 6] - a6) * rr; res[ob + 7] = (bi[ob + 7] - a7) * rr;
        }
      } else {
        for (let r = 0; r < nRows; r++) {
          for (let z = 0; z < zc; z++) acc[z] = 0;
          for (let k = rowPtr[r], e = rowPtr[r + 1]; k < e; k++) {
            const v = val[k], base = col[k] * zc;
            for (let z = 0; z < zc; z++) acc[z] += v * xi[base + z];
          }
          const rr = R[r], ob = r * zc;
          for (let z = 0; z < zc; z++) res[ob + z] = (bi[ob + z] - acc[z]) * rr;
        }
      }
      // back-projection in gather form on the transposed matrix (rows = voxels): each voxel sums
      // its rays in ascending order in double precision, so every slice gets the same arithmetic
      // whatever the chunking or the number of workers.
      const tp = t.rowPtr, tc = t.col, tv = t.val;
      if (zc === 8) {
        for (let j = 0; j < nColsM; j++) {
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
          for (let k = tp[j], e = tp[j + 1]; k < e; k++) {
            const v = tv[k], q = tc[k] << 3;
            a0 += v * res[q]; a1 += v * res[q + 1]; a2 += v * res[q + 2]; a3 += v * res[q + 3];
            a4 += v * res[q + 4]; a5 += v * res[q + 5]; a6 += v * res[q + 6]; a7 += v * res[q + 7];
          }
          const q = j << 3;
          bp[q] = a0; bp[q + 1] = a1; bp[q + 2] = a2; bp[q + 3] = a3; bp[q + 4] = a4; bp[q + 5] = a5; bp[q + 6] = a6; bp[q + 7] = a7;
        }
      } else {
        for (let j = 0; j < nColsM; j++) {
          for (let z = 0; z < zc; z++) acc[z] = 0;
          for (let k = tp[j], e = tp[j + 1]; k < e; k++) {
            const v = tv[k], q = tc[k] * zc;
            for (let z = 0; z < zc; z++) acc[z] += v * res[q + z];
          }
          const q = j * zc;
          for (let z = 0; z < zc; z++) bp[q + z] = acc[z];
        }
      }
      // x += lambda C A^T r, constrained
      for (let k = 0; k < nColsM; k++) {
        const c = C[k], base = k * zc;
        for (let z = 0; z < zc; z++) {
          let v = xi[base + z] + c * bp[base + z];
          if (v < o.lo) v = o.lo; else if (v > o.hi) v = o.hi;
          xi[base + z] = v;
        }
      }
      tick?.(zc);
    }
    for (let k = 0; k < nColsM; k++) for (let z = 0; z < zc; z++) x[(zs + z) * nColsM + k] = xi[k * zc + z];
  }
}

/**
 * Worker source: the kernel's own (already transpiled) JavaScript via Function.prototype.toString,
 * so workers start without registering tsx (which costs about a second per thread). The kernel
 * refers only to its arguments and typed-array globals.
 */
let workerSource: string | null = null;
function WORKER_SOURCE(): string {
  workerSource ??= `const { parentPort, workerData } = require('node:worker_threads');
const sirtSliceRange = ${sirtSliceRange.toString()};
const { m, t, R, C, b, x, o } = workerData;
sirtSliceRange(m, { R, C }, b, x, o, t, (n) => parentPort.postMessage({ tick: n }));
parentPort.postMessage({ done: true });`;
  return workerSource;
}

function shareCsr(m: Csr): Csr {
  const copy = <T extends Int32Array | Float32Array>(a: T, C: new (b: SharedArrayBuffer) => T): T => { const s = new C(new SharedArrayBuffer(a.byteLength)); s.set(a as never); return s; };
  return { rowPtr: copy(m.rowPtr, Int32Array), col: copy(m.col, Int32Array), val: copy(m.val, Float32Array), nRows: m.nRows, nColsM: m.nColsM };
}

/** SIRT of a whole tilt series [angle, z, col] into a volume [z, y, x], slices split over worker_threads. */
export async function sirtFast(b: Float32Array, o: FastSirtOptions): Promise<Float32Array> {
  const nA = o.angles.length;
  if (b.length !== nA * o.nz * o.nCols) throw new Error(`sirt: tilt series length ${b.length} != ${nA} x ${o.nz} x ${o.nCols}`);
  if (!Number.isInteger(o.iterations) || o.iterations < 0) throw new Error(`sirt: iterations must be an integer >= 0, got ${o.iterations}`);
  const workers = Math.max(1, Math.min(o.workers ?? Math.min(2, availableParallelism()), o.nz));
  const chunk = o.chunk ?? 8;
  const lo = o.minConstraint ?? -Infinity, hi = o.maxConstraint ?? Infinity;
  const m = josephMatrix(o.ny, o.nx, o.angles, o.nCols);
  const w = sirtWeights(m, o.relaxation ?? 1);
  const tick = (n: number) => o.progress?.increment(n / o.nz);
  if (workers === 1) {
    const x = new Float32Array(o.nz * o.ny * o.nx);
    sirtSliceRange(m, w, b, x, { nz: o.nz, nA, nCols: o.nCols, z0: 0, z1: o.nz, iterations: o.iterations, lo, hi, chunk }, transposeCsr(m), tick);
    return x;
  }
  const sm = shareCsr(m), st = shareCsr(transposeCsr(m));
  const sb = new Float32Array(new SharedArrayBuffer(b.byteLength)); sb.set(b);
  const sx = new Float32Array(new SharedArrayBuffer(o.nz * o.ny * o.nx * 4));
  const sR = new Float32Array(new SharedArrayBuffer(w.R.byteLength)); sR.set(w.R);
  const sC = new Float32Array(new SharedArrayBuffer(w.C.byteLength)); sC.set(w.C);
  const jobs: Promise<void>[] = [];
  for (let k = 0; k < workers; k++) {
    const z0 = Math.floor((k * o.nz) / workers), z1 = Math.floor(((k + 1) * o.nz) / workers);
    const wk = new Worker(WORKER_SOURCE(), {
      eval: true,
      workerData: { m: sm, t: st, R: sR, C: sC, b: sb, x: sx, o: { nz: o.nz, nA, nCols: o.nCols, z0, z1, iterations: o.iterations, lo, hi, chunk } },
    });
    jobs.push(new Promise<void>((resolve, reject) => {
      wk.on('message', (msg: { tick?: number; done?: boolean }) => { if (msg.tick) tick(msg.tick); if (msg.done) { void wk.terminate(); resolve(); } });
      wk.on('error', reject);
      wk.on('exit', (c) => { if (c !== 0 && c !== 1) reject(new Error(`sirt worker exited with code ${c}`)); });
    }));
  }
  await Promise.all(jobs);
  return Float32Array.from(sx);
}

/** The transposed CSR matrix (rows = voxels), entries of each row in ascending ray order. */
export function transposeCsr(m: Csr): Csr {
  const rowPtr = new Int32Array(m.nColsM + 1);
  for (let k = 0; k < m.col.length; k++) rowPtr[m.col[k] + 1]++;
  for (let j = 0; j < m.nColsM; j++) rowPtr[j + 1] += rowPtr[j];
  const fill = rowPtr.slice(0, m.nColsM);
  const col = new Int32Array(m.col.length), val = new Float32Array(m.val.length);
  for (let r = 0; r < m.nRows; r++) for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) { const p = fill[m.col[k]]++; col[p] = r; val[p] = m.val[k]; }
  return { rowPtr, col, val, nRows: m.nColsM, nColsM: m.nRows };
}
