/**
 * Training losses on the normalised scale (models/normalise.ts: counts / s). The target tensor
 * packs K + 1 channels, [K targets (one per output channel), weight]: the weight is 1 everywhere except for the blind-spot scheme,
 * where it is the mask (loss on masked pixels only). Every loss is a mean over the samples of the
 * batch of a per-sample weighted mean,
 *
 *   L = (1/N) sum_n [ sum_p w_np l(f_np, t_np) / sum_p w_np ],
 *
 * so the gradients averaged over data-parallel shards (models/parallel) equal the full-batch
 * gradient exactly. Per-pixel terms l(f, t):
 *   mse:     (f - t)^2
 *   mae:     |f - t|
 *   poisson: f - t log(f + eps) - (t - t log(t + eps)), the Poisson deviance / 2 (negative
 *            log-likelihood of t ~ Poisson(f) up to a constant in f, shifted so a perfect fit is 0).
 *            f is clamped at eps; use a softplus output (the trainer sets it for this loss).
 * All three are minimised in expectation by f = E[t | input] for mse and poisson (hence unbiased
 * for Noise2Noise targets, Lehtinen et al. 2018), by the conditional median for mae.
 *
 * This file is also the data-parallel loss module: it exports `createLoss(options)`.
 */
import * as tf from '@tensorflow/tfjs';
import { InternalError } from '../core/validate.ts';

export type LossKind = 'mse' | 'mae' | 'poisson';
export const LOSSES: readonly LossKind[] = ['mse', 'mae', 'poisson'];
export const POISSON_EPS = 1e-6;

/** Per-pixel loss terms [N, h, w, 1] of prediction f against target t. */
export function pixelLoss(kind: LossKind, f: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (kind === 'mse') return tf.squaredDifference(f, t);
    if (kind === 'mae') return tf.abs(tf.sub(f, t));
    const fc = tf.maximum(f, POISSON_EPS);
    const tc = tf.maximum(t, 0);
    return tf.sub(tf.sub(fc, tf.mul(tc, tf.log(tf.add(fc, POISSON_EPS)))), tf.sub(tc, tf.mul(tc, tf.log(tf.add(tc, POISSON_EPS)))));
  });
}

/**
 * Splits the packed target [N, h, w, K + 1] into the K targets and the weight [N, h, w, 1]; the
 * weight (blind-spot mask, or 1) is shared by the K output channels of a multi-channel network.
 */
function unpack(yTrue: tf.Tensor): [tf.Tensor, tf.Tensor, number] {
  const K = yTrue.shape[3]! - 1;
  const [t, w] = tf.split(yTrue, [K, 1], 3);
  return [t, w, K];
}

/** Per-sample weighted mean over pixels and the K output channels: sum w e / (K sum w). */
function perSample(kind: LossKind, yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  const [t, w, K] = unpack(yTrue);
  const e = pixelLoss(kind, yPred, t);
  const num = tf.sum(tf.mul(e, w), [1, 2, 3]);
  const den = tf.mul(tf.maximum(tf.sum(w, [1, 2, 3]), 1e-12), K);
  return tf.div(num, den);
}

/**
 * The weighted per-sample loss of `yPred` [N, h, w, K] against `yTrue` [N, h, w, K + 1] = [K
 * targets, weight]; returns a scalar (mean over samples).
 */
export function packedLoss(kind: LossKind, yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(perSample(kind, yTrue, yPred)) as tf.Scalar);
}

/** Per-sample losses (for validation): [N] values. */
export function packedLossPerSample(kind: LossKind, yTrue: tf.Tensor, yPred: tf.Tensor): Float32Array {
  return tf.tidy(() => perSample(kind, yTrue, yPred)).dataSync() as Float32Array;
}

/** Data-parallel loss-module contract (models/parallel/engine.ts): options { kind }. */
export function createLoss(options: { kind: LossKind }): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  if (!LOSSES.includes(options.kind)) throw new InternalError(`createLoss: unknown loss kind ${options.kind}; known: ${LOSSES.join(', ')}`);
  return (yTrue, yPred) => packedLoss(options.kind, yTrue, yPred);
}
