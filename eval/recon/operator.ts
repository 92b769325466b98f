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
    throw new Error(`${what}: tilt series has ${data.length} values, the operator expects ${op.tiltSeriesSize}${shape}`);
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
