/**
 * Slice-parallel SIRT on the Joseph system matrix (the fast path for full volumes).
 *
 * Same update and weights as reference.ts (ASTRA semantics: x += lambda C A^T R (b - A x), zero
 * denominators give weight 0, min/max constraint), exploiting that every z-slice is an independent
 * 2D problem with the same matrix A (geometry.ts): chunks of zc slices are interleaved ([voxel][z],
 * [ray][z]) so each matrix entry, read once, updates zc slices in a contiguous inner loop, and the
 * chunks are spread over worker_threads (SharedArrayBuffer in and out, no synchronisation between
 * workers but an atomic chunk counter). A chunk runs all its iterations before the next one, so
 * its working set stays in cache. Masks are not supported here (use reference.ts). Kernels:
 *  - 'wasm' (default): the fused one-pass-per-iteration kernel of rays.ts on the compact ray
 *    table, in WebAssembly SIMD (wasm.ts), two slices per vector operation;
 *  - 'rays': the same fused kernel in JavaScript (the readable statement of what the wasm kernel
 *    computes, the reference the tests hold it to, and the fallback where WebAssembly SIMD is missing).
 * Both give bit-identical iterates (each slice gets the same float64 sums in the same order,
 * float32 rounding at the same points), whatever the chunking or the number of workers; the
 * earlier two-pass CSR kernel gave the same iterates (tested before it was removed) and is gone.
 */
import { SharedPool, kernelSource } from '../../../core/pool.ts';
import { resolveThreads } from '../../../core/threads.ts';
import { josephRayTable, rayTableWeights, sirtRayChunks, type RayTable } from './rays.ts';
import { sirtWasmModule, sirtWasmChunks, wasmSimdAvailable } from './wasm.ts';
import { checkSirtOptions } from './reference.ts';
import type { Progress } from '../../../core/progress.ts';
import { ConfigError } from '../../../core/validate.ts';

export type SirtKernel = 'wasm' | 'rays';

export interface FastSirtOptions {
  nz: number; ny: number; nx: number; nCols: number;
  angles: ArrayLike<number>;
  /** Tilt-axis column minus the detector centre (generators/projection/geometry.ts), default 0. */
  axisOffset?: number;
  iterations: number;
  relaxation?: number;
  minConstraint?: number;
  maxConstraint?: number;
  /** Worker threads (default core/threads.ts: --threads, NANODOSE_THREADS or the cores); 1 runs in this thread. */
  workers?: number;
  /** Slices interleaved per chunk (default 8; the rays kernel is unrolled for 8, the wasm kernel runs chunk rounded up to even lanes). */
  chunk?: number;
  /** Kernel (default 'wasm' where WebAssembly SIMD runs, else 'rays'); both give the same iterates. */
  kernel?: SirtKernel;
  progress?: Progress;
}

/**
 * Worker sources: each kernel's own (already transpiled) JavaScript (core/pool.ts kernelSource),
 * so workers start without registering tsx (which costs about a second per thread). The kernels
 * refer only to their arguments and globals (typed arrays, Atomics, WebAssembly). Each worker
 * takes chunks from the shared counter until none is left, then answers.
 */
const workerSources = new Map<SirtKernel, string>();
function WORKER_SOURCE(kernel: SirtKernel): string {
  let src = workerSources.get(kernel);
  if (src) return src;
  src = kernel === 'rays'
    ? kernelSource({ sirtRayChunks }, 'const { table, R, C, b, x, o, counter } = workerData;', 'sirtRayChunks(table, { R, C }, b, x, o, counter, tick);')
    : kernelSource({ sirtWasmChunks }, 'const { mod, table, R, C, b, x, o, counter } = workerData;', 'sirtWasmChunks(mod, table, { R, C }, b, x, o, counter, tick);');
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

/** SIRT of a whole tilt series [angle, z, col] into a volume [z, y, x], slices split over worker_threads. */
export async function sirtFast(b: Float32Array, o: FastSirtOptions): Promise<Float32Array> {
  const nA = o.angles.length;
  if (b.length !== nA * o.nz * o.nCols) throw new ConfigError('sirt', `tilt series length ${b.length} != ${nA} x ${o.nz} x ${o.nCols}`);
  checkSirtOptions(o);
  const chunk = o.chunk ?? 8;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 64) throw new ConfigError('sirt', `chunk must be an integer in [1, 64], got ${chunk}`);
  const lo = o.minConstraint ?? -Infinity, hi = o.maxConstraint ?? Infinity;
  const kernel: SirtKernel = o.kernel ?? (wasmSimdAvailable() ? 'wasm' : 'rays');
  if (kernel !== 'wasm' && kernel !== 'rays') throw new ConfigError('sirt', `kernel must be 'wasm' or 'rays', got ${String(kernel)}`);
  const workers = Math.max(1, Math.min(resolveThreads(o.workers, 'workers'), Math.ceil(o.nz / chunk)));
  const tick = (n: number) => o.progress?.increment(n / o.nz);
  const nVox = o.nz * o.ny * o.nx;
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
  const pool = new SharedPool(workers, { kernel: WORKER_SOURCE(kernel) }, () => data, 'sirt');
  try {
    await pool.all(() => ({}), { onTick: tick });
  } finally {
    await pool.close();
  }
  return Float32Array.from(data.x);
}
