/**
 * The linear operator the reconstructions run on: the tilt-series projector A (volume -> tilt
 * series) and its exact adjoint A^T. generators/projection's `Projector` (Joseph projector, slices
 * split over worker_threads) satisfies this interface structurally; tests also use explicit
 * matrices (eval/recon/testing/).
 */
export interface ProjectionOperator {
  /** y = A x (tilt series [angle, row, col]). */
  forward(volume: Float32Array, out?: Float32Array): Promise<Float32Array>;
  /** x = A^T y (volume [z, y, x]). */
  back(tiltSeries: Float32Array, out?: Float32Array): Promise<Float32Array>;
  /** A 1 (tilt-series shaped). */
  rowSums(): Promise<Float32Array>;
  /** A^T 1 (volume shaped). */
  colSums(): Promise<Float32Array>;
}

/** Element-wise reciprocal with ASTRA's zero guard: 1/v, and 0 where v is (numerically) 0. */
export function safeReciprocal(v: Float32Array, eps = 1e-6): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.abs(v[i]) > eps ? 1 / v[i] : 0;
  return out;
}
