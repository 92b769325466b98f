/**
 * The Joseph projector as separate forward and back projections on the compact ray table (rays.ts),
 * slice-parallel: the fast operator behind the joint methods (eval/recon/joint) on the Joseph geometry.
 *
 * Same geometry and weights as the slice-parallel SIRT kernel (rays.ts's josephRayTable: the Joseph
 * 1982 projector, IEEE TMI 1:192, doi:10.1109/TMI.1982.4307572, per ray and step the two voxels q and
 * q + d with weights w(1 - f), w f), so it equals generators/projection's matrix-free Projector up to
 * float rounding (tests check it) and A^T is the exact adjoint of A (<Ax, y> = <x, A^T y>, tested).
 *  - forward: y_r = sum_steps w0 x_q + w1 x_(q+d), summed in float64 per slice, rounded to float32;
 *  - back: x_j = sum over rays in ascending order of w y_r, a float64 scatter (a product of two
 *    float32 numbers is exact in float64), rounded to float32.
 * Chunks of `chunk` slices are interleaved ([voxel][z], [ray][z]) so each table entry, read once,
 * serves all slices of the chunk in a contiguous inner loop, and the chunks are handed out by an
 * atomic counter to a persistent pool of worker_threads (core/pool.ts SharedPool, a kernelSource worker;
 * SharedArrayBuffer in and out). Each slice is
 * computed by the same sequential code in the same order, so results are identical for any number of
 * workers. Kernels: 'wasm' (default where WebAssembly SIMD runs): the `project` and `backproject`
 * functions of the SIRT kernel's module (sirt-kernel.wat, the forward and back halves of its fused
 * sweep, two slices per f64x2 vector); 'rays': the same arithmetic in JavaScript (the readable
 * reference; the two are bit-identical, tested). The kernels are self-contained (workers get their
 * source text, as slices.ts does).
 */
import type { TiltGeometry } from '../../../generators/projection/geometry.ts';
import type { ProjectionOperator, SlabKernel, SlabRunner } from '../operator.ts';
import { josephRayTable, type RayTable } from './rays.ts';
import { sirtWasmModule, wasmSimdAvailable } from './wasm.ts';
import { ConfigError, InternalError } from '../../../core/validate.ts';
import { SharedPool, kernelSource } from '../../../core/pool.ts';

export type ProjectKernel = 'wasm' | 'rays';

export interface RayProjectOptions { nz: number; nA: number; nCols: number; chunk: number; nVox: number }

/**
 * Forward (op 'f': ts = A vol) or back (op 'b': vol = A^T ts) projection of the chunks whose numbers
 * it draws from counter[0] (Atomics.add) until none is left. `xi` (float32) and `acc` (float64) are
 * scratch of (nVox + pad) x chunk values. Self-contained (workers receive its source text).
 */
export function rayProjectChunks(op: 'f' | 'b', t: RayTable, vol: Float32Array, ts: Float32Array, o: RayProjectOptions, counter: Int32Array, xi: Float32Array, acc: Float64Array): void {
  const { rayPtr, stride, idx, w0, w1, nRays, pad } = t;
  const nVox = t.nVox, zcMax = o.chunk, nChunks = Math.ceil(o.nz / zcMax), nz = o.nz, nCols = o.nCols;
  const s = new Float64Array(zcMax);
  for (;;) {
    const ci = Atomics.add(counter, 0, 1);
    if (ci >= nChunks) break;
    const zs = ci * zcMax, zc = Math.min(zcMax, nz - zs);
    if (op === 'f') {
      for (let z = 0; z < zc; z++) { const off = (zs + z) * nVox; for (let k = 0; k < nVox; k++) xi[k * zc + z] = vol[off + k]; }
      xi.fill(0, nVox * zc, (nVox + pad) * zc);
      for (let r = 0; r < nRays; r++) {
        const s0 = rayPtr[r], s1 = rayPtr[r + 1], d = stride[r] * zc;
        const a = (r / nCols) | 0, u = r - a * nCols, out = (a * nz + zs) * nCols + u;
        if (zc === 8) {
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
          for (let k = s0; k < s1; k++) {
            const q = idx[k] << 3, p = q + d, v0 = w0[k], v1 = w1[k];
            a0 = a0 + v0 * xi[q] + v1 * xi[p]; a1 = a1 + v0 * xi[q + 1] + v1 * xi[p + 1];
            a2 = a2 + v0 * xi[q + 2] + v1 * xi[p + 2]; a3 = a3 + v0 * xi[q + 3] + v1 * xi[p + 3];
            a4 = a4 + v0 * xi[q + 4] + v1 * xi[p + 4]; a5 = a5 + v0 * xi[q + 5] + v1 * xi[p + 5];
            a6 = a6 + v0 * xi[q + 6] + v1 * xi[p + 6]; a7 = a7 + v0 * xi[q + 7] + v1 * xi[p + 7];
          }
          ts[out] = a0; ts[out + nCols] = a1; ts[out + 2 * nCols] = a2; ts[out + 3 * nCols] = a3;
          ts[out + 4 * nCols] = a4; ts[out + 5 * nCols] = a5; ts[out + 6 * nCols] = a6; ts[out + 7 * nCols] = a7;
        } else {
          s.fill(0);
          for (let k = s0; k < s1; k++) {
            const q = idx[k] * zc, p = q + d, v0 = w0[k], v1 = w1[k];
            for (let z = 0; z < zc; z++) s[z] = s[z] + v0 * xi[q + z] + v1 * xi[p + z];
          }
          for (let z = 0; z < zc; z++) ts[out + z * nCols] = s[z];
        }
      }
    } else {
      acc.fill(0, 0, (nVox + pad) * zc);
      for (let r = 0; r < nRays; r++) {
        const s0 = rayPtr[r], s1 = rayPtr[r + 1], d = stride[r] * zc;
        if (s0 === s1) continue;
        const a = (r / nCols) | 0, u = r - a * nCols, src = (a * nz + zs) * nCols + u;
        if (zc === 8) {
          const b0 = ts[src], b1 = ts[src + nCols], b2 = ts[src + 2 * nCols], b3 = ts[src + 3 * nCols];
          const b4 = ts[src + 4 * nCols], b5 = ts[src + 5 * nCols], b6 = ts[src + 6 * nCols], b7 = ts[src + 7 * nCols];
          for (let k = s0; k < s1; k++) {
            const q = idx[k] << 3, p = q + d, v0 = w0[k], v1 = w1[k];
            acc[q] += v0 * b0; acc[q + 1] += v0 * b1; acc[q + 2] += v0 * b2; acc[q + 3] += v0 * b3;
            acc[q + 4] += v0 * b4; acc[q + 5] += v0 * b5; acc[q + 6] += v0 * b6; acc[q + 7] += v0 * b7;
            acc[p] += v1 * b0; acc[p + 1] += v1 * b1; acc[p + 2] += v1 * b2; acc[p + 3] += v1 * b3;
            acc[p + 4] += v1 * b4; acc[p + 5] += v1 * b5; acc[p + 6] += v1 * b6; acc[p + 7] += v1 * b7;
          }
        } else {
          for (let z = 0; z < zc; z++) s[z] = ts[src + z * nCols];
          for (let k = s0; k < s1; k++) {
            const q = idx[k] * zc, p = q + d, v0 = w0[k], v1 = w1[k];
            for (let z = 0; z < zc; z++) { acc[q + z] += v0 * s[z]; acc[p + z] += v1 * s[z]; }
          }
        }
      }
      for (let z = 0; z < zc; z++) { const off = (zs + z) * nVox; for (let k = 0; k < nVox; k++) vol[off + k] = acc[k * zc + z]; }
    }
  }
}

/**
 * The wasm kernel's runner: copies the ray table into the module's memory once (layout of wasm.ts:
 * ray pointers, strides in bytes, steps {i32 voxel byte offset, f32 w0, f32 w1}, tilt-series lanes
 * f64 [ray][W], voxel records f64 [voxel][x W | A^T y W]) and returns run(op, vol, ts, counter), which
 * projects the chunks it draws from counter[0] as rayProjectChunks does. Self-contained.
 */
export function wasmRayProjector(mod: WebAssembly.Module, t: RayTable, o: RayProjectOptions & { lanes: number }): (op: 'f' | 'b', vol: Float32Array, ts: Float32Array, counter: Int32Array) => void {
  const { rayPtr, stride, idx, w0, w1, nRays, nVox, pad } = t;
  const W = o.lanes, REC = 16 * W, nSteps = idx.length, zcMax = Math.min(o.chunk, W), nChunks = Math.ceil(o.nz / zcMax);
  const al = (n: number) => Math.ceil(n / 16) * 16;
  const oRay = 0, oStr = al(oRay + 4 * (nRays + 1)), oSteps = al(oStr + 4 * nRays);
  const oBi = al(oSteps + 12 * nSteps), oRec = al(oBi + 8 * W * nRays), total = oRec + REC * (nVox + pad);
  const mem = new WebAssembly.Memory({ initial: Math.ceil(total / 65536) });
  const { project, backproject } = new WebAssembly.Instance(mod, { env: { mem } }).exports as { project: (...a: number[]) => void; backproject: (...a: number[]) => void };
  const buf = mem.buffer;
  new Int32Array(buf, oRay, nRays + 1).set(rayPtr);
  const st = new Int32Array(buf, oStr, nRays);
  for (let r = 0; r < nRays; r++) st[r] = stride[r] * REC;
  const si = new Int32Array(buf, oSteps, 3 * nSteps), sf = new Float32Array(buf, oSteps, 3 * nSteps);
  for (let k = 0; k < nSteps; k++) { si[3 * k] = idx[k] * REC; sf[3 * k + 1] = w0[k]; sf[3 * k + 2] = w1[k]; }
  const bi = new Float64Array(buf, oBi, W * nRays), rec = new Float64Array(buf, oRec, 2 * W * (nVox + pad));
  const nz = o.nz, nCols = o.nCols, W2 = 2 * W;
  // No whole-buffer clears (they cost about a fifth of a projection at 128^3): the lanes a chunk uses are
  // written before they are read; the back projection's accumulator lanes are zeroed as they are read out,
  // so they start at 0 for the next chunk (the memory starts zeroed); a short chunk (the last slices) zeroes
  // its input lanes past zc. Lanes are independent, so the used lanes' values are those of a cleared buffer.
  return (op, vol, ts, counter) => {
    for (;;) {
      const ci = Atomics.add(counter, 0, 1);
      if (ci >= nChunks) break;
      const zs = ci * zcMax, zc = Math.min(zcMax, nz - zs);
      if (zc < zcMax) {
        if (op === 'f') for (let k = 0; k < nVox; k++) for (let z = zc; z < W; z++) rec[W2 * k + z] = 0;
        else for (let r = 0; r < nRays; r++) for (let z = zc; z < W; z++) bi[r * W + z] = 0;
      }
      if (op === 'f') {
        // voxel by voxel: each record's lanes are one cache line, read from zc sequential streams
        const off = zs * nVox;
        for (let k = 0, q = 0; k < nVox; k++, q += W2) for (let z = 0, i = off + k; z < zc; z++, i += nVox) rec[q + z] = vol[i];
        project(nRays, oRay, oStr, oSteps, oBi, oRec);
        for (let r = 0; r < nRays; r++) {
          const a = (r / nCols) | 0, u = r - a * nCols, out = (a * nz + zs) * nCols + u;
          for (let z = 0; z < zc; z++) ts[out + z * nCols] = bi[r * W + z];
        }
      } else {
        for (let r = 0; r < nRays; r++) {
          const a = (r / nCols) | 0, u = r - a * nCols, src = (a * nz + zs) * nCols + u;
          for (let z = 0; z < zc; z++) bi[r * W + z] = ts[src + z * nCols];
        }
        backproject(nRays, oRay, oStr, oSteps, oBi, oRec);
        const off = zs * nVox;
        for (let k = 0, q = W; k < nVox; k++, q += W2) for (let z = 0, i = off + k; z < zc; z++, i += nVox) { vol[i] = rec[q + z]; rec[q + z] = 0; }
        // the lanes past zc summed zeroed tilt-series lanes; cleared all the same (an odd chunk's spare lane too)
        if (zc < W) for (let k = 0; k < nVox; k++) for (let z = zc; z < W; z++) rec[W2 * k + W + z] = 0;
      }
    }
  };
}

/** The pool's kernel worker (core/pool.ts kernelSource): the two projector kernels inlined, the wasm runner or the JavaScript scratch made once. */
const WORKER_SOURCE = () => kernelSource({ rayProjectChunks, wasmRayProjector }, `
const { mod, table, vol, ts, o, counter } = workerData;
let run;
if (mod) run = wasmRayProjector(mod, table, o);
else { const xi = new Float32Array((table.nVox + table.pad) * o.chunk), acc = new Float64Array((table.nVox + table.pad) * o.chunk); run = (op, v, t, c) => rayProjectChunks(op, table, v, t, o, c, xi, acc); }
const kernels = new Map();`, `
if (m.op === 't') {
  // a slab kernel (operator.ts SlabKernel): compiled once from its source, then slabs drawn from the counter
  let f = kernels.get(m.name);
  if (!f) { f = new Function('__name', m.src)(__name); kernels.set(m.name, f); }
  for (;;) {
    const s = Atomics.add(counter, 0, 1);
    if (s >= m.nSlabs) break;
    const z0 = s * m.slab;
    f(m.args, z0, Math.min(m.nz, z0 + m.slab), s);
  }
} else run(m.op, m.vol ?? vol, m.ts ?? ts, counter);`);

function shared<T extends Int32Array | Float32Array>(a: T): T {
  const s = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  s.set(a as never);
  return s;
}

/** The Joseph projector on the ray table, `workers` threads (1: in this thread), `chunk` slices per work item (default 8), `kernel` (default 'wasm' where it runs). */
export class RayTableOperator implements ProjectionOperator, SlabRunner {
  readonly geom: TiltGeometry;
  readonly workers: number;
  private table: RayTable;
  private o: RayProjectOptions & { lanes: number };
  readonly kernel: ProjectKernel;
  private mod: WebAssembly.Module | null;
  private local: ((op: 'f' | 'b', vol: Float32Array, ts: Float32Array, counter: Int32Array) => void) | null = null;
  private pool: SharedPool | null = null;
  private vol: Float32Array | null = null;
  private ts: Float32Array | null = null;
  private counter: Int32Array;
  private sent: Set<string>[] = [];
  private rowCache: Float32Array | null = null;
  private colCache: Float32Array | null = null;

  constructor(geom: TiltGeometry, opts: { workers?: number; chunk?: number; kernel?: ProjectKernel } = {}) {
    this.geom = geom;
    const chunk = opts.chunk ?? 8;
    if (!Number.isInteger(chunk) || chunk < 1 || chunk > 64) throw new ConfigError('projector.chunk', `got ${chunk}; must be an integer in [1, 64]`);
    const w = opts.workers ?? 1;
    if (!Number.isInteger(w) || w < 1) throw new ConfigError('workers', `got ${w}; must be an integer >= 1`);
    this.workers = Math.max(1, Math.min(w, Math.ceil(geom.nz / chunk)));
    this.table = josephRayTable(geom.ny, geom.nx, geom.angles, geom.nCols, geom.axisOffset ?? 0);
    const lanes = chunk + (chunk % 2);
    this.o = { nz: geom.nz, nA: geom.angles.length, nCols: geom.nCols, chunk, nVox: geom.ny * geom.nx, lanes };
    this.kernel = opts.kernel ?? (wasmSimdAvailable() ? 'wasm' : 'rays');
    if (this.kernel !== 'wasm' && this.kernel !== 'rays') throw new ConfigError('projector.kernel', `got ${String(this.kernel)}; must be 'wasm' or 'rays'`);
    this.mod = this.kernel === 'wasm' ? new WebAssembly.Module(sirtWasmModule(lanes)) : null;
    this.counter = new Int32Array(this.workers > 1 ? new SharedArrayBuffer(4) : new ArrayBuffer(4));
  }

  get volumeSize(): number { return this.geom.nz * this.geom.ny * this.geom.nx; }
  get tiltSeriesSize(): number { return this.geom.angles.length * this.geom.nz * this.geom.nCols; }

  private async run(op: 'f' | 'b', vol: Float32Array, ts: Float32Array): Promise<void> {
    if (this.workers === 1) {
      this.counter[0] = 0;
      if (!this.local) {
        if (this.mod) this.local = wasmRayProjector(this.mod, this.table, this.o);
        else {
          const sz = (this.table.nVox + this.table.pad) * this.o.chunk, xi = new Float32Array(sz), acc = new Float64Array(sz);
          this.local = (o2, v, t, c) => rayProjectChunks(o2, this.table, v, t, this.o, c, xi, acc);
        }
      }
      this.local(op, vol, ts, this.counter);
      return;
    }
    this.startPool();
    // arrays already in shared memory (sharedFloat32: the joint engine's) go to the workers as they are; others through the pool's buffers
    const sv = vol.buffer instanceof SharedArrayBuffer, st = ts.buffer instanceof SharedArrayBuffer;
    if (op === 'f' && !sv) this.vol!.set(vol);
    if (op === 'b' && !st) this.ts!.set(ts);
    await this.dispatch(() => ({ op, ...(sv ? { vol } : {}), ...(st ? { ts } : {}) }));
    if (op === 'f' && !st) ts.set(this.ts!);
    if (op === 'b' && !sv) vol.set(this.vol!);
  }

  private startPool(): void {
    if (this.pool) return;
    const t = this.table;
    const table = { ...t, rayPtr: shared(t.rayPtr), stride: shared(t.stride), idx: shared(t.idx), w0: shared(t.w0), w1: shared(t.w1) };
    this.vol = new Float32Array(new SharedArrayBuffer(this.volumeSize * 4));
    this.ts = new Float32Array(new SharedArrayBuffer(this.tiltSeriesSize * 4));
    const data = { mod: this.mod, table, vol: this.vol, ts: this.ts, o: this.o, counter: this.counter };
    this.pool = new SharedPool(this.workers, { kernel: WORKER_SOURCE() }, () => data, 'ray projector');
    this.sent = Array.from({ length: this.workers }, () => new Set<string>());
  }

  /** Sends every worker its message (one per worker) with the work counter reset, and resolves when all have answered. */
  private async dispatch(msg: (k: number) => Record<string, unknown>): Promise<void> {
    this.counter[0] = 0;
    await this.pool!.all(msg);
  }

  /**
   * Runs a slab kernel (operator.ts SlabKernel) over the volume's z slices on this operator's workers (in
   * this thread for one worker), slabs handed out by the same atomic counter as the projections' chunks.
   * Its typed arrays must come from sharedFloat32 (or other SharedArrayBuffers) where there are workers.
   */
  async runSlabs<A>(k: SlabKernel<A>, args: A, slab: number): Promise<void> {
    if (!Number.isInteger(slab) || slab < 1) throw new InternalError(`RayTableOperator.runSlabs: slab must be an integer >= 1, got ${slab}`);
    const nz = this.geom.nz, nSlabs = Math.ceil(nz / slab);
    if (this.workers === 1) { for (let s = 0; s < nSlabs; s++) k.fn(args, s * slab, Math.min(nz, (s + 1) * slab), s); return; }
    this.startPool();
    const src = `${k.prelude ?? ''}\nreturn (${k.fn.toString()});`;
    await this.dispatch((w) => {
      const first = !this.sent[w].has(k.name);
      this.sent[w].add(k.name);
      return { op: 't', name: k.name, src: first ? src : undefined, args, nSlabs, slab, nz };
    });
  }

  /** A zeroed float32 array shared with the workers (plain memory with one worker). */
  sharedFloat32(length: number): Float32Array {
    return new Float32Array(this.workers > 1 ? new SharedArrayBuffer(4 * length) : new ArrayBuffer(4 * length));
  }

  /** Forward projection: tilt series [angle, z, col] = A volume [z, y, x]. */
  async forward(volume: Float32Array, out?: Float32Array): Promise<Float32Array> {
    if (volume.length !== this.volumeSize) throw new ConfigError('volume', `${volume.length} values; the projector expects ${this.volumeSize} (${this.geom.nz} x ${this.geom.ny} x ${this.geom.nx})`);
    const res = out ?? new Float32Array(this.tiltSeriesSize);
    if (res.length !== this.tiltSeriesSize) throw new InternalError(`RayTableOperator.forward: out has ${res.length} values, expected ${this.tiltSeriesSize}`);
    await this.run('f', volume, res);
    return res;
  }

  /** Back projection (exact adjoint): volume [z, y, x] = A^T tilt series [angle, z, col]. */
  async back(tiltSeries: Float32Array, out?: Float32Array): Promise<Float32Array> {
    if (tiltSeries.length !== this.tiltSeriesSize) throw new ConfigError('tilt series', `${tiltSeries.length} values; the projector expects ${this.tiltSeriesSize} (${this.geom.angles.length} tilts x ${this.geom.nz} x ${this.geom.nCols})`);
    const res = out ?? new Float32Array(this.volumeSize);
    if (res.length !== this.volumeSize) throw new InternalError(`RayTableOperator.back: out has ${res.length} values, expected ${this.volumeSize}`);
    await this.run('b', res, tiltSeries);
    return res;
  }

  async rowSums(): Promise<Float32Array> {
    this.rowCache ??= await this.forward(new Float32Array(this.volumeSize).fill(1));
    return Float32Array.from(this.rowCache);
  }

  async colSums(): Promise<Float32Array> {
    this.colCache ??= await this.back(new Float32Array(this.tiltSeriesSize).fill(1));
    return Float32Array.from(this.colCache);
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    this.sent = [];
    await p?.close();
  }
}
