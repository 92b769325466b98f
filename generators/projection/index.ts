/**
 * Parallel-beam projection: geometry construction, tilt-angle parsing and the Joseph voxel projector
 * (generators/projection/kernels.ts) split over worker_threads by z-slice with SharedArrayBuffer, and the
 * analytic (exact chord-length, detector super-sampled) projector of phantoms (generators/projection/analytic.ts).
 */
import { ConfigError, InternalError } from '../../core/validate.ts';
import { SharedPool, kernelSource } from '../../core/pool.ts';
import { resolveThreads } from '../../core/threads.ts';
import type { TiltGeometry } from './geometry.ts';
import { forwardProjectSlice, backProjectSlice, forwardRange, backRange, rayRange } from './kernels.ts';

export type { TiltGeometry } from './geometry.ts';
export { forwardProjectSlice, backProjectSlice } from './kernels.ts';
export { analyticChords, analyticProjection, projectPhantom, isAnalyticRegion, isConvexSolid, type AnalyticProjection } from './analytic.ts';

/**
 * Tilt angles from a spec: 'start:stop:step' (inclusive range, degrees) or a comma list '0,10,20', or numbers.
 * Throws ConfigError (field 'geometry.angles') for empty lists, NaN, a zero/wrong-signed step or |angle| > 90.
 */
export function parseTiltAngles(spec: string | number[] | Float64Array, field = 'geometry.angles'): Float64Array {
  let vals: number[];
  if (typeof spec === 'string') {
    const s = spec.trim();
    if (s.includes(':')) {
      const parts = s.split(':').map((p) => Number(p.trim()));
      if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p))) throw new ConfigError(field, `range must be 'start:stop:step' with finite numbers (e.g. '-70:70:2'), got '${spec}'`);
      const [a, b, st] = parts;
      if (st === 0 || (b - a) * st < 0) throw new ConfigError(field, `step ${st} does not lead from ${a} to ${b}; use a non-zero step with the sign of stop - start`);
      const n = Math.floor((b - a) / st + 1e-9) + 1;
      if (n > 100000) throw new ConfigError(field, `${n} angles is too many (at most 100000)`);
      vals = [];
      for (let i = 0; i < n; i++) vals.push(+(a + i * st).toFixed(10));
    } else {
      vals = s === '' ? [] : s.split(',').map((p) => Number(p.trim()));
    }
  } else {
    vals = Array.from(spec);
  }
  if (vals.length === 0) throw new ConfigError(field, `the tilt angle list is empty; give at least one angle in [-90, 90] degrees`);
  vals.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < -90 || v > 90) throw new ConfigError(`${field}[${i}]`, `must be a finite angle in [-90, 90] degrees, got ${String(v)}`);
  });
  return Float64Array.from(vals);
}

/**
 * Validated TiltGeometry. nCols defaults to nx and must be >= max(nx, ny) so every voxel is seen at every
 * angle and the reconstruction circle is covered (detector at least as wide as the volume).
 */
export function makeGeometry(opts: { angles: Float64Array | number[] | string; nz: number; ny: number; nx: number; nCols?: number; axisOffset?: number }): TiltGeometry {
  const angles = parseTiltAngles(opts.angles as string | number[]);
  for (const k of ['nz', 'ny', 'nx'] as const) {
    const v = opts[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 4096) throw new ConfigError(`geometry.${k}`, `must be an integer in [1, 4096], got ${String(v)}`);
  }
  const nCols = opts.nCols ?? Math.max(opts.nx, opts.ny);
  if (typeof nCols !== 'number' || !Number.isInteger(nCols) || nCols > MAX_DETECTOR_COLUMNS) throw new ConfigError('geometry.nCols', `must be an integer in [${Math.max(opts.nx, opts.ny)}, ${MAX_DETECTOR_COLUMNS}], got ${String(nCols)}`);
  if (nCols < Math.max(opts.nx, opts.ny)) throw new ConfigError('geometry.nCols', `the detector (${nCols} columns) is smaller than the volume (${opts.ny} x ${opts.nx}); need nCols >= ${Math.max(opts.nx, opts.ny)}`);
  const off = opts.axisOffset ?? 0;
  if (typeof off !== 'number' || !Number.isFinite(off) || Math.abs(off) > nCols / 2) throw new ConfigError('geometry.axisOffset', `must be a finite number of columns in [${-nCols / 2}, ${nCols / 2}], got ${String(off)}`);
  return { angles, nz: opts.nz, ny: opts.ny, nx: opts.nx, nCols, ...(off !== 0 ? { axisOffset: off } : {}) };
}

/** Largest detector width (geometry.nCols) makeGeometry accepts. */
export const MAX_DETECTOR_COLUMNS = 8192;

let workerSource: string | null = null;
/** Worker source: the kernels' own transpiled JavaScript (core/pool.ts kernelSource), so no tsx per thread. */
function WORKER_SOURCE(): string {
  workerSource ??= kernelSource(
    { rayRange, forwardProjectSlice, backProjectSlice, forwardRange, backRange },
    'const { vol, ts, nz, ny, nx, angles, nCols, axisOffset } = workerData;',
    "if (m.op === 'f') forwardRange(vol, ts, nz, ny, nx, angles, nCols, m.z0, m.z1, axisOffset); else backRange(ts, vol, nz, ny, nx, angles, nCols, m.z0, m.z1, axisOffset);",
  );
  return workerSource;
}

/**
 * The Joseph projector A (tilt series = A volume) and its adjoint A^T for one geometry.
 * Volumes are [z, y, x], tilt series [angle, z, col]. Slices are split over `workers` threads
 * (default: core/threads.ts, the machine's cores unless --threads or NANODOSE_THREADS say otherwise); results are identical for any number of workers (each slice is computed
 * by the same sequential code).
 */
export class Projector {
  readonly geom: TiltGeometry;
  readonly workers: number;
  private pool: SharedPool | null = null;
  private vol: Float32Array | null = null;
  private ts: Float32Array | null = null;
  private rowSumCache: Float32Array | null = null;
  private colSumCache: Float32Array | null = null;

  constructor(geom: TiltGeometry, opts: { workers?: number } = {}) {
    this.geom = makeGeometry(geom);
    const w = resolveThreads(opts.workers, 'workers');
    this.workers = Math.min(w, this.geom.nz);
  }

  get volumeSize(): number { return this.geom.nz * this.geom.ny * this.geom.nx; }
  get tiltSeriesSize(): number { return this.geom.angles.length * this.geom.nz * this.geom.nCols; }

  private ensurePool(): SharedPool {
    if (this.pool) return this.pool;
    const g = this.geom;
    this.vol = new Float32Array(new SharedArrayBuffer(this.volumeSize * 4));
    this.ts = new Float32Array(new SharedArrayBuffer(this.tiltSeriesSize * 4));
    const data = { vol: this.vol, ts: this.ts, nz: g.nz, ny: g.ny, nx: g.nx, angles: g.angles, nCols: g.nCols, axisOffset: g.axisOffset ?? 0 };
    this.pool = new SharedPool(this.workers, { kernel: WORKER_SOURCE() }, () => data, 'projector');
    return this.pool;
  }

  /** Worker k computes slices [floor(k nz / n), floor((k + 1) nz / n)). */
  private async runPool(op: 'f' | 'b'): Promise<void> {
    const nz = this.geom.nz, n = this.workers;
    await this.ensurePool().all((k) => ({ op, z0: Math.floor((k * nz) / n), z1: Math.floor(((k + 1) * nz) / n) }));
  }

  /** Forward projection: tilt series [angle, z, col] = A volume [z, y, x]. */
  async forward(volume: Float32Array, out?: Float32Array): Promise<Float32Array> {
    const g = this.geom;
    if (volume.length !== this.volumeSize) throw new InternalError(`Projector.forward: volume has ${volume.length} values, expected ${g.nz} x ${g.ny} x ${g.nx} = ${this.volumeSize}`);
    const res = out ?? new Float32Array(this.tiltSeriesSize);
    if (res.length !== this.tiltSeriesSize) throw new InternalError(`Projector.forward: out has ${res.length} values, expected ${this.tiltSeriesSize}`);
    if (this.workers === 1) { forwardRange(volume, res, g.nz, g.ny, g.nx, g.angles, g.nCols, 0, g.nz, g.axisOffset ?? 0); return res; }
    this.ensurePool();
    this.vol!.set(volume);
    await this.runPool('f');
    res.set(this.ts!);
    return res;
  }

  /** Back-projection (exact adjoint): volume [z, y, x] = A^T tilt series [angle, z, col]. */
  async back(tiltSeries: Float32Array, out?: Float32Array): Promise<Float32Array> {
    const g = this.geom;
    if (tiltSeries.length !== this.tiltSeriesSize) throw new InternalError(`Projector.back: tilt series has ${tiltSeries.length} values, expected ${g.angles.length} x ${g.nz} x ${g.nCols} = ${this.tiltSeriesSize}`);
    const res = out ?? new Float32Array(this.volumeSize);
    if (res.length !== this.volumeSize) throw new InternalError(`Projector.back: out has ${res.length} values, expected ${this.volumeSize}`);
    if (this.workers === 1) { backRange(tiltSeries, res, g.nz, g.ny, g.nx, g.angles, g.nCols, 0, g.nz, g.axisOffset ?? 0); return res; }
    this.ensurePool();
    this.ts!.set(tiltSeries);
    await this.runPool('b');
    res.set(this.vol!);
    return res;
  }

  /** A 1 (tilt-series shaped): path length of each ray through the volume (SIRT row weights). */
  async rowSums(): Promise<Float32Array> {
    this.rowSumCache ??= await this.forward(new Float32Array(this.volumeSize).fill(1));
    return Float32Array.from(this.rowSumCache);
  }

  /** A^T 1 (volume shaped): summed weights of all rays through each voxel (SIRT column weights). */
  async colSums(): Promise<Float32Array> {
    this.colSumCache ??= await this.back(new Float32Array(this.tiltSeriesSize).fill(1));
    return Float32Array.from(this.colSumCache);
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    await p?.close();
  }
}
export { normaliseTiltAngles, mirrorProjections, type NormalisedAngles } from './angles.ts';
