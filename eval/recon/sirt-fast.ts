/**
 * Slice-parallel SIRT on the Joseph system matrix (the fast path for full volumes).
 *
 * Same update and weights as sirt.ts (ASTRA semantics: x += lambda C A^T R (b - A x), zero
 * denominators give weight 0, min/max constraint), exploiting that every z-slice is an independent
 * 2D problem with the same matrix A (geometry.ts): chunks of zc slices are interleaved ([voxel][z],
 * [ray][z]) so each matrix entry, read once, updates zc slices in a contiguous inner loop, and the
 * chunks are spread over worker_threads (SharedArrayBuffer in and out, no synchronisation between
 * workers but an atomic chunk counter). A chunk runs all its iterations before the next one, so
 * its working set stays in cache. Masks are not supported here (use sirt.ts). Kernels:
 *  - 'wasm' (default): the fused one-pass-per-iteration kernel of sirt-rays.ts on the compact ray
 *    table, in WebAssembly SIMD (sirt-wasm.ts), two slices per vector operation;
 *  - 'rays': the same fused kernel in JavaScript (the readable statement of what the wasm kernel
 *    computes; in V8 about as fast as, or a little slower than, 'csr': the saved matrix reads do not
 *    pay for the scatter's read-modify-writes in scalar code);
 *  - 'csr': the earlier two-pass kernel (forward over the CSR matrix, back-projection gathered over
 *    its transpose, unrolled for zc = 8, static z-blocks per worker), kept as the reference and as
 *    the default where WebAssembly SIMD is missing.
 * All three give bit-identical iterates (each slice gets the same float64 sums in the same order,
 * float32 rounding at the same points), whatever the chunking or the number of workers.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { josephMatrix } from './sparse.ts';
import { josephRayTable, rayTableWeights, sirtRayChunks, type RayTable } from './sirt-rays.ts';
import { sirtWasmModule, sirtWasmChunks, wasmSimdAvailable } from './sirt-wasm.ts';
import type { Progress } from '../../generators/common/progress.ts';

export interface Csr { rowPtr: Int32Array; col: Int32Array; val: Float32Array; nRows: number; nColsM: number }

export type SirtKernel = 'wasm' | 'rays' | 'csr';

export interface FastSirtOptions {
  nz: number; ny: number; nx: number; nCols: number;
  angles: ArrayLike<number>;
  /** Tilt-axis column minus the detector centre (generators/projection/geometry.ts), default 0. */
  axisOffset?: number;
  iterations: number;
  relaxation?: number;
  minConstraint?: number;
  maxConstraint?: number;
  /** Worker threads (default min(2, cores)); 1 runs in this thread. */
  workers?: number;
  /** Slices interleaved per chunk (default 8; the csr and rays kernels are unrolled for 8, the wasm kernel runs chunk rounded up to even lanes). */
  chunk?: number;
  /** Kernel (default 'wasm' where WebAssembly SIMD runs, else 'csr', the faster JavaScript one); all give the same iterates. */
  kernel?: SirtKernel;
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
 * Worker sources: each kernel's own (already transpiled) JavaScript via Function.prototype.toString,
 * so workers start without registering tsx (which costs about a second per thread). The kernels
 * refer only to their arguments and globals (typed arrays, Atomics, WebAssembly).
 */
const workerSources = new Map<SirtKernel, string>();
function WORKER_SOURCE(kernel: SirtKernel): string {
  let src = workerSources.get(kernel);
  if (src) return src;
  // __name: the helper tsx's esbuild (keepNames) wraps inner named functions with.
  const head = "const { parentPort, workerData } = require('node:worker_threads');\nconst __name = (f) => f;\nconst tick = (n) => parentPort.postMessage({ tick: n });\n";
  if (kernel === 'csr') src = `${head}const sirtSliceRange = ${sirtSliceRange.toString()};
const { m, t, R, C, b, x, o } = workerData;
sirtSliceRange(m, { R, C }, b, x, o, t, tick);`;
  else if (kernel === 'rays') src = `${head}const sirtRayChunks = ${sirtRayChunks.toString()};
const { table, R, C, b, x, o, counter } = workerData;
sirtRayChunks(table, { R, C }, b, x, o, counter, tick);`;
  else src = `${head}const sirtWasmChunks = ${sirtWasmChunks.toString()};
const { mod, table, R, C, b, x, o, counter } = workerData;
sirtWasmChunks(mod, table, { R, C }, b, x, o, counter, tick);`;
  src += "\nparentPort.postMessage({ done: true });";
  workerSources.set(kernel, src);
  return src;
}

function shared<T extends Int32Array | Float32Array>(a: T): T {
  const s = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  s.set(a as never);
  return s;
}

function shareTable(t: RayTable): RayTable {
  return { ...t, rayPtr: shared(t.rayPtr), stride: shared(t.stride), idx: shared(t.idx), w0: shared(t.w0), w1: shared(t.w1) };
}

function shareCsr(m: Csr): Csr {
  const copy = <T extends Int32Array | Float32Array>(a: T, C: new (b: SharedArrayBuffer) => T): T => { const s = new C(new SharedArrayBuffer(a.byteLength)); s.set(a as never); return s; };
  return { rowPtr: copy(m.rowPtr, Int32Array), col: copy(m.col, Int32Array), val: copy(m.val, Float32Array), nRows: m.nRows, nColsM: m.nColsM };
}

/** Runs `n` workers on `source`, forwarding progress ticks; resolves when all are done. */
function runWorkers(n: number, source: string, data: (k: number) => unknown, tick: (n: number) => void): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (let k = 0; k < n; k++) {
    const wk = new Worker(source, { eval: true, workerData: data(k) });
    jobs.push(new Promise<void>((resolve, reject) => {
      wk.on('message', (msg: { tick?: number; done?: boolean }) => { if (msg.tick) tick(msg.tick); if (msg.done) { void wk.terminate(); resolve(); } });
      wk.on('error', reject);
      wk.on('exit', (c) => { if (c !== 0 && c !== 1) reject(new Error(`sirt worker exited with code ${c}`)); });
    }));
  }
  return Promise.all(jobs).then(() => undefined);
}

/** SIRT of a whole tilt series [angle, z, col] into a volume [z, y, x], slices split over worker_threads. */
export async function sirtFast(b: Float32Array, o: FastSirtOptions): Promise<Float32Array> {
  const nA = o.angles.length;
  if (b.length !== nA * o.nz * o.nCols) throw new Error(`sirt: tilt series length ${b.length} != ${nA} x ${o.nz} x ${o.nCols}`);
  if (!Number.isInteger(o.iterations) || o.iterations < 0) throw new Error(`sirt: iterations must be an integer >= 0, got ${o.iterations}`);
  const chunk = o.chunk ?? 8;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 64) throw new Error(`sirt: chunk must be an integer in [1, 64], got ${chunk}`);
  const lo = o.minConstraint ?? -Infinity, hi = o.maxConstraint ?? Infinity;
  if (!(lo <= hi)) throw new Error(`sirt: minConstraint (${lo}) must be <= maxConstraint (${hi})`);
  const kernel: SirtKernel = o.kernel ?? (wasmSimdAvailable() ? 'wasm' : 'csr');
  if (kernel !== 'wasm' && kernel !== 'rays' && kernel !== 'csr') throw new Error(`sirt: kernel must be 'wasm', 'rays' or 'csr', got ${String(kernel)}`);
  const workers = Math.max(1, Math.min(o.workers ?? Math.min(2, availableParallelism()), Math.ceil(o.nz / chunk)));
  const tick = (n: number) => o.progress?.increment(n / o.nz);
  const nVox = o.nz * o.ny * o.nx;
  if (kernel === 'csr') return sirtFastCsr(b, o, nA, chunk, lo, hi, Math.max(1, Math.min(o.workers ?? Math.min(2, availableParallelism()), o.nz)), tick);
  const table = josephRayTable(o.ny, o.nx, o.angles, o.nCols, o.axisOffset ?? 0);
  const w = rayTableWeights(table, o.relaxation ?? 1);
  const lanes = chunk + (chunk % 2);
  const mod = kernel === 'wasm' ? new WebAssembly.Module(sirtWasmModule(lanes)) : null;
  const ko = { nz: o.nz, nA, nCols: o.nCols, iterations: o.iterations, lo, hi, chunk, lanes };
  if (workers === 1) {
    const x = new Float32Array(nVox), counter = new Int32Array(1);
    if (mod) sirtWasmChunks(mod, table, w, b, x, ko, counter, tick);
    else sirtRayChunks(table, w, b, x, ko, counter, tick);
    return x;
  }
  const data = { mod, table: shareTable(table), R: shared(w.R), C: shared(w.C), b: shared(b), x: new Float32Array(new SharedArrayBuffer(nVox * 4)), o: ko, counter: new Int32Array(new SharedArrayBuffer(4)) };
  await runWorkers(workers, WORKER_SOURCE(kernel), () => data, tick);
  return Float32Array.from(data.x);
}

/** The two-pass CSR kernel (reference), static z-blocks per worker. */
async function sirtFastCsr(b: Float32Array, o: FastSirtOptions, nA: number, chunk: number, lo: number, hi: number, workers: number, tick: (n: number) => void): Promise<Float32Array> {
  const m = josephMatrix(o.ny, o.nx, o.angles, o.nCols, o.axisOffset ?? 0);
  const w = sirtWeights(m, o.relaxation ?? 1);
  const base = { nz: o.nz, nA, nCols: o.nCols, iterations: o.iterations, lo, hi, chunk };
  if (workers === 1) {
    const x = new Float32Array(o.nz * o.ny * o.nx);
    sirtSliceRange(m, w, b, x, { ...base, z0: 0, z1: o.nz }, transposeCsr(m), tick);
    return x;
  }
  const sm = shareCsr(m), st = shareCsr(transposeCsr(m));
  const sb = shared(b), sx = new Float32Array(new SharedArrayBuffer(o.nz * o.ny * o.nx * 4));
  const sR = shared(w.R), sC = shared(w.C);
  await runWorkers(workers, WORKER_SOURCE('csr'), (k) => ({
    m: sm, t: st, R: sR, C: sC, b: sb, x: sx,
    o: { ...base, z0: Math.floor((k * o.nz) / workers), z1: Math.floor(((k + 1) * o.nz) / workers) },
  }), tick);
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
