/**
 * SIRT with ASTRA Toolbox semantics (van Aarle et al. 2015; Gregor & Benson 2008):
 *   x <- x + lambda C A^T R (b - A x),   R = diag(1 / (A 1)),   C = diag(1 / (A^T 1)),
 * weights with a zero denominator set to 0, relaxation lambda (default 1), optional min/max
 * constraint (usually non-negativity), optional reconstruction mask (voxels outside stay at their
 * initial value and do not enter the row sums) and sinogram mask (rays outside are ignored and do
 * not enter the column sums), exactly as ASTRA's SIRT3D_CUDA with ReconstructionMaskId/SinogramMaskId.
 * The projections run on the operator (worker_threads in the Projector); the update is a typed-array loop.
 * This is the reference every faster SIRT is tested against, and the path for masks and for
 * operators other than the Joseph projector. Objective reported per iteration: 1/2 ||b - A x||^2
 * of the iterate the update started from (the residual the update computes anyway), over the rays
 * the weights keep (R != 0).
 */
import type { LinearOperator, IterationRecord } from '../operator.ts';
import { safeReciprocal, checkTiltSeries } from '../operator.ts';
import type { Progress } from '../../../core/progress.ts';
import { ConfigError, InternalError } from '../../../core/validate.ts';

export interface SirtOptions {
  iterations: number;
  /** Relaxation lambda, default 1. */
  relaxation?: number;
  /** Clamp to >= minConstraint after every update (e.g. 0). */
  minConstraint?: number;
  /** Clamp to <= maxConstraint after every update. */
  maxConstraint?: number;
  /** Reconstruction mask (volume shaped, nonzero = reconstruct). */
  mask?: Float32Array | Uint8Array;
  /** Sinogram mask (tilt-series shaped, nonzero = use ray). */
  sinogramMask?: Float32Array | Uint8Array;
  /** Initial volume (copied); default zeros. */
  initial?: Float32Array;
  /** Called after each iteration with its record (1-based) and the current volume. */
  onIteration?: (record: IterationRecord, x: Float32Array) => void;
  progress?: Progress;
}

/** Throws on SIRT parameters outside their ranges (CIL's checks: relaxation in (0, 2), min <= max). */
export function checkSirtOptions(o: { iterations: number; relaxation?: number; minConstraint?: number; maxConstraint?: number }): void {
  if (!Number.isInteger(o.iterations) || o.iterations < 0) throw new ConfigError('sirt', `iterations must be an integer >= 0, got ${o.iterations}`);
  const lambda = o.relaxation ?? 1;
  // SIRT converges for 0 < lambda < 2 (Jiang & Wang 2003, IEEE TMI 22:569).
  if (!(lambda > 0 && lambda < 2)) throw new ConfigError('sirt', `relaxation must be in (0, 2), got ${o.relaxation}`);
  const lo = o.minConstraint ?? -Infinity, hi = o.maxConstraint ?? Infinity;
  if (Number.isNaN(lo) || Number.isNaN(hi) || !(lo <= hi)) throw new ConfigError('sirt', `minConstraint (${lo}) must be <= maxConstraint (${hi})`);
}

export async function sirt(op: LinearOperator, b: Float32Array, opts: SirtOptions): Promise<Float32Array> {
  checkSirtOptions(opts);
  checkTiltSeries(op, b, 'sirt');
  const { iterations } = opts;
  const volumeLength = op.volumeSize;
  const lambda = opts.relaxation ?? 1;
  const lo = opts.minConstraint ?? -Infinity, hi = opts.maxConstraint ?? Infinity;
  const x = opts.initial ? Float32Array.from(opts.initial) : new Float32Array(volumeLength);
  if (x.length !== volumeLength) throw new ConfigError('sirt', `initial volume has length ${x.length}, expected ${volumeLength}`);
  const mask = opts.mask, smask = opts.sinogramMask;
  let rowSums: Float32Array, colSums: Float32Array;
  if (mask) {
    const m = new Float32Array(volumeLength);
    for (let i = 0; i < volumeLength; i++) m[i] = mask[i] ? 1 : 0;
    rowSums = await op.forward(m);
  } else rowSums = await op.rowSums();
  if (rowSums.length !== b.length) throw new InternalError(`sirt: tilt series has length ${b.length}, operator gives ${rowSums.length}`);
  if (smask) {
    const m = new Float32Array(b.length);
    for (let i = 0; i < b.length; i++) m[i] = smask[i] ? 1 : 0;
    colSums = await op.back(m);
  } else colSums = await op.colSums();
  const R = safeReciprocal(rowSums);
  const C = safeReciprocal(colSums);
  if (smask) for (let i = 0; i < R.length; i++) if (!smask[i]) R[i] = 0;
  if (mask) for (let i = 0; i < C.length; i++) if (!mask[i]) C[i] = 0;
  for (let i = 0; i < C.length; i++) C[i] *= lambda;
  const proj = new Float32Array(b.length);
  const bp = new Float32Array(volumeLength);
  for (let it = 1; it <= iterations; it++) {
    await op.forward(x, proj);
    let obj = 0;
    for (let i = 0; i < proj.length; i++) { const d = b[i] - proj[i]; if (R[i] !== 0) obj += d * d; proj[i] = d * R[i]; }
    await op.back(proj, bp);
    for (let i = 0; i < volumeLength; i++) {
      let v = x[i] + C[i] * bp[i];
      if (v < lo) v = lo; else if (v > hi) v = hi;
      x[i] = v;
    }
    opts.onIteration?.({ iteration: it, objective: obj / 2 }, x);
    opts.progress?.increment(1);
  }
  return x;
}
