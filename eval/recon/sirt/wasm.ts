/**
 * WebAssembly SIMD version of the fused ray-table SIRT kernel (rays.ts). Its source is the
 * WebAssembly text sirt-kernel.wat, assembled by wabt (kernel-source.ts, `npm run build:wasm`) into
 * the committed binaries of wasm-binaries.ts, which this file loads (Node 20's V8 has 128-bit SIMD).
 *
 * Same arithmetic as sirtRayChunks, lane by lane: each f64x2 lane is one slice of the chunk, the
 * forward sum is (acc + w0 x_q) + w1 x_p in float64 over the ray's steps in order, the residual
 * r = R (b - A x) is rounded to float32 (f32x4.demote_f64x2_zero, round-to-nearest like
 * Math.fround), the scatter adds the exact float64 products w r into the float64 back-projection in
 * ascending ray order, and the update x = clamp(x + lambda C fround(A^T r)) is rounded to float32
 * (f64x2.pmax / pmin give exactly `if (v < lo) v = lo; else if (v > hi) v = hi` for lo <= hi). No
 * fused multiply-add exists in WebAssembly SIMD, so every product and sum rounds as in JavaScript:
 * the iterates are bit-identical to the JavaScript kernels (tests check it). What it saves is
 * instructions: two slices per vector operation, no bounds checks, one address per step for both
 * the iterate and the back-projection (they are interleaved per voxel: W lanes of x, then W of A^T r).
 *
 * Memory layout (byte offsets, 16-aligned): ray pointers, strides (bytes), R, C, steps
 * {i32 voxel offset in bytes, f32 w0, f32 w1}, b lanes (f64 [ray][W]), voxel records
 * (f64 [voxel][x W | A^T r W], nx voxels of zero padding after the slice).
 */
import type { RayTable } from './rays.ts';
import { committedSirtModule } from './binaries.ts';
import { InternalError } from '../../../core/validate.ts';

/**
 * The module for W lanes (W even, 2 .. 64; sirt-kernel.wat): exports
 *   sweep(nRays, rayPtr, stride, steps, R, bi, rec): A^T R (b - A x) into the records' second half;
 *   update(nVox, C, rec, lo, hi): x = clamp(x + C fround(A^T r)) rounded to float32, A^T r cleared.
 */
export function sirtWasmModule(W: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(W) || W < 2 || W % 2) throw new InternalError(`sirt wasm: lanes must be even, got ${W}`);
  return committedSirtModule(W);
}

/** Whether this runtime runs WebAssembly SIMD (V8 since Node 16.4). */
let simd: boolean | undefined;
export function wasmSimdAvailable(): boolean {
  if (simd === undefined) { try { simd = WebAssembly.validate(sirtWasmModule(2)); } catch { simd = false; } }
  return simd;
}

export interface WasmKernelOptions { nz: number; nA: number; nCols: number; iterations: number; lo: number; hi: number; lanes: number; chunk: number }

/**
 * Runs SIRT with the compiled module `mod` (from sirtWasmModule(o.lanes)) on the chunks of
 * `o.chunk` <= `o.lanes` slices drawn from `counter[0]` (Atomics.add, shared between workers), from
 * tilt series b ([angle, z, col]) into x ([z, y, x]). Unused lanes hold zeros and are discarded.
 * Self-contained (workers receive its source text).
 */
export function sirtWasmChunks(mod: WebAssembly.Module, t: RayTable, w: { R: Float32Array; C: Float32Array }, b: Float32Array, x: Float32Array, o: WasmKernelOptions, counter: Int32Array, tick?: (n: number) => void): void {
  const { rayPtr, stride, idx, w0, w1, nRays, nVox, pad } = t;
  const W = o.lanes, REC = 16 * W, nSteps = idx.length, zcMax = Math.min(o.chunk, W), nChunks = Math.ceil(o.nz / zcMax);
  const al = (n: number) => Math.ceil(n / 16) * 16;
  const oRay = 0, oStr = al(oRay + 4 * (nRays + 1)), oR = al(oStr + 4 * nRays), oC = al(oR + 4 * nRays);
  const oSteps = al(oC + 4 * nVox), oBi = al(oSteps + 12 * nSteps), oRec = al(oBi + 8 * W * nRays), total = oRec + REC * (nVox + pad);
  const mem = new WebAssembly.Memory({ initial: Math.ceil(total / 65536) });
  const { sweep, update } = new WebAssembly.Instance(mod, { env: { mem } }).exports as { sweep: (...a: number[]) => void; update: (...a: number[]) => void };
  const buf = mem.buffer;
  new Int32Array(buf, oRay, nRays + 1).set(rayPtr);
  const st = new Int32Array(buf, oStr, nRays);
  for (let r = 0; r < nRays; r++) st[r] = stride[r] * REC;
  new Float32Array(buf, oR, nRays).set(w.R);
  new Float32Array(buf, oC, nVox).set(w.C);
  const si = new Int32Array(buf, oSteps, 3 * nSteps), sf = new Float32Array(buf, oSteps, 3 * nSteps);
  for (let k = 0; k < nSteps; k++) { si[3 * k] = idx[k] * REC; sf[3 * k + 1] = w0[k]; sf[3 * k + 2] = w1[k]; }
  const bi = new Float64Array(buf, oBi, W * nRays), rec = new Float64Array(buf, oRec, 2 * W * (nVox + pad));
  for (;;) {
    const ci = Atomics.add(counter, 0, 1);
    if (ci >= nChunks) break;
    const zs = ci * zcMax, zc = Math.min(zcMax, o.nz - zs);
    bi.fill(0); rec.fill(0);
    for (let a = 0; a < o.nA; a++) for (let u = 0; u < o.nCols; u++) {
      const r = a * o.nCols + u;
      for (let z = 0; z < zc; z++) bi[r * W + z] = b[(a * o.nz + zs + z) * o.nCols + u];
    }
    for (let k = 0; k < nVox; k++) for (let z = 0; z < zc; z++) rec[2 * W * k + z] = x[(zs + z) * nVox + k];
    for (let it = 0; it < o.iterations; it++) {
      sweep(nRays, oRay, oStr, oSteps, oR, oBi, oRec);
      update(nVox, oC, oRec, o.lo, o.hi);
      tick?.(zc);
    }
    for (let k = 0; k < nVox; k++) for (let z = 0; z < zc; z++) x[(zs + z) * nVox + k] = rec[2 * W * k + z];
  }
}
