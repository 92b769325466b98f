/**
 * Gradients of a batch computed in micro-batches, so a batch larger than one 32-bit wasm heap can
 * be trained (the batch 16 at 128x128 with batch norm needs ~5.7 GiB, see models/memory.ts):
 *
 *   g = sum_m (n_m / N) g_m,   L = sum_m (n_m / N) L_m
 *
 * exact for losses that are a mean over samples (as in models/parallel). With batch norm each
 * micro-batch uses its own statistics ("ghost batch norm", Hoffer et al. 2017) and the moving
 * averages are updated once per micro-batch. `autoMicroBatch` picks the largest micro-batch that
 * `checkMemory` accepts.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from './networks/spec.ts';
import { checkMemory, MemoryError } from './memory.ts';

export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor, weights?: tf.Tensor) => tf.Scalar;

/** Largest micro-batch <= batch that fits the backend's memory for training (at least 1). */
export function autoMicroBatch(spec: ModelSpec, batch: number, height: number, width: number, parameters = 0): number {
  try {
    checkMemory(spec, batch, height, width, { training: true, parameters });
    return batch;
  } catch (e) {
    if (!(e instanceof MemoryError)) throw e;
    if (e.maxBatch < 1) throw e;
    return Math.min(batch, e.maxBatch);
  }
}

/**
 * Loss and gradients (keyed by variable name, as tf.variableGrads) of `loss` over the batch,
 * computed `microBatch` samples at a time and averaged by sample count.
 */
export function gradientsInMicroBatches(
  model: tf.LayersModel,
  loss: LossFn,
  x: tf.Tensor,
  yTrue: tf.Tensor,
  weights: tf.Tensor | undefined,
  opts: { microBatch: number; training?: boolean },
): { loss: number; grads: tf.NamedTensorMap } {
  const N = x.shape[0];
  const m = Math.max(1, Math.min(N, Math.floor(opts.microBatch)));
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const sums: tf.NamedTensorMap = {};
  let lossSum = 0;
  for (let s = 0; s < N; s += m) {
    const n = Math.min(m, N - s);
    const f = n / N;
    const part = (t: tf.Tensor) => (n === N ? t : tf.slice(t, s, n));
    const { value, grads } = tf.variableGrads(() => {
      const xs = part(x);
      const ys = part(yTrue);
      const ws = weights ? part(weights) : undefined;
      return loss(ys, model.apply(xs, { training: opts.training ?? true }) as tf.Tensor, ws);
    }, vars);
    lossSum += f * value.dataSync()[0];
    value.dispose();
    for (const v of vars) {
      const g = grads[v.name];
      const scaled = tf.mul(g, f);
      g.dispose();
      if (sums[v.name]) {
        const next = tf.add(sums[v.name], scaled);
        sums[v.name].dispose();
        scaled.dispose();
        sums[v.name] = next;
      } else sums[v.name] = scaled;
    }
  }
  return { loss: lossSum, grads: sums };
}

/** One optimizer step on the batch, in micro-batches; returns the loss. */
export function trainStepInMicroBatches(model: tf.LayersModel, optimizer: tf.Optimizer, loss: LossFn, x: tf.Tensor, yTrue: tf.Tensor, weights: tf.Tensor | undefined, opts: { microBatch: number; training?: boolean }): number {
  const { loss: l, grads } = gradientsInMicroBatches(model, loss, x, yTrue, weights, opts);
  optimizer.applyGradients(grads);
  tf.dispose(Object.values(grads));
  return l;
}
