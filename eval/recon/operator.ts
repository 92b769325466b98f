/**
 * The linear operators the reconstructions run on.
 *
 * `LinearOperator`: any A with its exact adjoint A^T (explicit matrices in the tests).
 * `ProjectionOperator`: the tilt-series projector, which carries its geometry (volume shape
 * [nz, ny, nx], tilt angles, detector columns; generators/projection/geometry.ts conventions:
 * volumes [z, y, x], tilt series [angle, row = z, col]), so a method needs nothing but the operator
 * and the data. generators/projection's `Projector` (Joseph projector, slices over worker_threads)
 * satisfies it structurally; `SliceMatrixOperator` (joseph-matrix.ts) is the same projector as one
 * CSR matrix per slice.
 */
import type { TiltGeometry } from '../../generators/projection/geometry.ts';
import { ConfigError } from '../../core/validate.ts';

export interface LinearOperator {
  /** Length of x (the volume). */
  readonly volumeSize: number;
  /** Length of y = A x (the tilt series). */
  readonly tiltSeriesSize: number;
  /** y = A x (tilt series [angle, row, col]). */
  forward(volume: Float32Array, out?: Float32Array): Promise<Float32Array>;
  /** x = A^T y (volume [z, y, x]). */
  back(tiltSeries: Float32Array, out?: Float32Array): Promise<Float32Array>;
  /** A 1 (tilt-series shaped). */
  rowSums(): Promise<Float32Array>;
  /** A^T 1 (volume shaped). */
  colSums(): Promise<Float32Array>;
}

/** The tilt-series projector with its geometry. */
export interface ProjectionOperator extends LinearOperator {
  readonly geom: TiltGeometry;
  /** Stops worker threads, where the operator has any. */
  close?(): Promise<void>;
}

/**
 * A per-voxel kernel over slabs of z slices, run by `SlabRunner.runSlabs` on an operator's worker threads
 * (sirt/ray-operator.ts) or in this thread (`localSlabs`). `fn(args, z0, z1, slab)` computes slices
 * [z0, z1) of slab number `slab` and may read any slice of its inputs but write only its own slices (or
 * `slab`'s entry of a per-slab output, for reductions summed afterwards in slab order), so the result is the
 * same for any number of workers. `fn` must be self-contained: workers get its source text, with `prelude`
 * (source of the helpers it calls) before it. Arrays in `args` must be SharedArrayBuffer-backed where
 * they are to be shared with workers (`SlabRunner.sharedFloat32`).
 */
export interface SlabKernel<A> {
  /** Unique name (workers compile each kernel once). */
  name: string;
  fn: (args: A, z0: number, z1: number, slab: number) => void;
  prelude?: string;
}

export interface SlabRunner {
  /** Runs `kernel` on every slab of `slab` slices of the volume's nz, in any order, and resolves when all are done. */
  runSlabs<A>(kernel: SlabKernel<A>, args: A, slab: number): Promise<void>;
  /** A zeroed float32 array the runner's workers can read and write (plain memory where it has none). */
  sharedFloat32(length: number): Float32Array;
}

/** Whether the operator runs slab kernels on its own workers. */
export function isSlabRunner(op: unknown): op is SlabRunner {
  return typeof (op as Partial<SlabRunner>)?.runSlabs === 'function' && typeof (op as Partial<SlabRunner>)?.sharedFloat32 === 'function';
}

/** The in-thread SlabRunner for nz slices (what operators without workers use). */
export function localSlabs(nz: number): SlabRunner {
  return {
    async runSlabs<A>(k: SlabKernel<A>, args: A, slab: number) { for (let s = 0, z0 = 0; z0 < nz; s++, z0 += slab) k.fn(args, z0, Math.min(nz, z0 + slab), s); },
    sharedFloat32: (length: number) => new Float32Array(length),
  };
}

/** Element-wise reciprocal with ASTRA's zero guard: 1/v, and 0 where v is (numerically) 0. */
export function safeReciprocal(v: Float32Array, eps = 1e-6): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.abs(v[i]) > eps ? 1 / v[i] : 0;
  return out;
}

/** Throws unless `data` has the operator's tilt-series length (names `what`). */
export function checkTiltSeries(op: LinearOperator, data: ArrayLike<number>, what: string): void {
  if (data.length !== op.tiltSeriesSize) {
    const g = (op as Partial<ProjectionOperator>).geom;
    const shape = g ? ` (${g.angles.length} tilts x ${g.nz} rows x ${g.nCols} columns)` : '';
    throw new ConfigError(what, `tilt series has ${data.length} values, the operator expects ${op.tiltSeriesSize}${shape}`);
  }
}

/** Per-iteration record every iterative method reports (CIL style: objective after each update). */
export interface IterationRecord {
  iteration: number;
  /** The method's objective (SIRT: 1/2 ||b - A x||^2 over the rays that cross the volume). */
  objective: number;
  /** Its terms where it has several (data terms, regulariser). */
  terms?: Record<string, number>;
}
