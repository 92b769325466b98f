/**
 * Data-parallel worker: its own single-threaded wasm instance, the model rebuilt from its spec,
 * weights read from shared memory, gradients of the user's loss on its shard written back to shared
 * memory. A core/pool.ts TypeScript worker: answers the engine's requests through serve().
 */
import { serve } from '../../core/pool.ts';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.ts';
import { buildModel, predictPadded } from '../networks/build.ts';
import { autoMicroBatch, gradientsInMicroBatches } from '../microbatch.ts';
import { fittingInferenceBatch } from '../memory.ts';
import type { ModelSpec } from '../networks/spec.ts';
import type { WorkerReply, WorkerRequest } from './protocol.ts';
import { ConfigError, InternalError } from '../../core/validate.ts';

type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor, weights?: tf.Tensor) => tf.Scalar;

let model: tf.LayersModel | undefined;
let loss: LossFn | undefined;
let weightViews: Float32Array[] = [];
let gradViews: Float32Array[][] = [];
let trainableIdx: number[] = [];
let spec: ModelSpec | undefined;
/** Images per network call in predictEach, fewer where the heap holds fewer (the evaluation's tiling batches 4 tiles as well: models/tiling.ts DEFAULT_BATCH). */
const PREDICT_BATCH = 4;

/** The main thread's current weights (the shared buffer) into this worker's model. */
function loadWeights(m: tf.LayersModel): void {
  tf.tidy(() => m.weights.forEach((w, i) => w.write(tf.tensor(weightViews[i], w.shape as number[]))));
}

/** Buffers a reply moves rather than copies. */
function transfer(r: WorkerReply): ArrayBuffer[] {
  if (r.type === 'predicted') return [r.y.buffer as ArrayBuffer];
  if (r.type === 'predictedEach') return r.ys.map((y) => y.buffer as ArrayBuffer);
  if (r.type === 'done') return r.nonTrainable.map((a) => a.buffer as ArrayBuffer);
  return [];
}

serve<WorkerRequest, WorkerReply>(async (msg) => {
  if (msg.type === 'init') {
    const r = await initBackend({ backend: msg.backend, threads: 1, quiet: true });
    const mod = (await import(msg.lossModule)) as { loss?: LossFn; createLoss?: (options: unknown) => LossFn; default?: LossFn | { loss?: LossFn } };
    if (msg.lossOptions !== undefined) {
      if (typeof mod.createLoss !== 'function') throw new ConfigError('lossModule', `loss module ${msg.lossModule} does not export createLoss(options), needed for lossOptions`);
      loss = mod.createLoss(msg.lossOptions);
    } else loss = mod.loss ?? (typeof mod.default === 'function' ? mod.default : mod.default?.loss);
    if (typeof loss !== 'function') throw new ConfigError('lossModule', `loss module ${msg.lossModule} does not export a function named loss`);
    spec = msg.spec;
    model = buildModel(msg.spec);
    const ws = model.weights;
    if (ws.length !== msg.sizes.length || ws.some((w, i) => tf.util.sizeFromShape(w.shape as number[]) !== msg.sizes[i] || w.trainable !== msg.trainable[i])) {
      throw new InternalError('the model built in the worker does not match the main thread model (spec or weight order differ)');
    }
    let off = 0;
    weightViews = msg.sizes.map((n) => {
      const v = new Float32Array(msg.weights, off * 4, n);
      off += n;
      return v;
    });
    trainableIdx = msg.trainable.flatMap((t, i) => (t ? [i] : []));
    gradViews = msg.grads.map((buf) => {
      let goff = 0;
      return trainableIdx.map((i) => {
        const v = new Float32Array(buf, goff * 4, msg.sizes[i]);
        goff += msg.sizes[i];
        return v;
      });
    });
    return { type: 'ready', backend: r.backend };
  }
  if (msg.type === 'predict') {
    const m = model!;
    loadWeights(m);
    const out = tf.tidy(() => m.predict(tf.tensor(msg.x, msg.xShape)) as tf.Tensor);
    const y = out.dataSync() as Float32Array;
    const yShape = out.shape;
    out.dispose();
    return { type: 'predicted', y, yShape };
  }
  if (msg.type === 'predictEach') {
    const m = model!;
    loadWeights(m);
    // runs of consecutive images of one shape go through the network PREDICT_BATCH at a time: a batch gives
    // each image the bits it gets alone (tested against predictPadded in the main thread), at less cost per image
    const ys: Float32Array[] = [];
    for (let i = 0; i < msg.images.length;) {
      const key = msg.shapes[i].join('x');
      let j = i + 1;
      const [, h, w, C] = msg.shapes[i], per = h * w * C;
      // no more per call than this heap holds (one map of the largest size was checked before training)
      const most = Math.max(1, fittingInferenceBatch(spec!, PREDICT_BATCH, h, w).batch);
      while (j < msg.images.length && j - i < most && msg.shapes[j].join('x') === key) j++;
      const x = new Float32Array((j - i) * per);
      for (let k = i; k < j; k++) x.set(msg.images[k], (k - i) * per);
      const y = tf.tidy(() => predictPadded(m, spec!, tf.tensor4d(x, [j - i, h, w, C])).dataSync() as Float32Array);
      const out = y.length / (j - i);
      for (let k = i; k < j; k++) ys.push(y.slice((k - i) * out, (k - i + 1) * out));
      i = j;
    }
    return { type: 'predictedEach', ys };
  }
  // step
  {
    const m = model!;
    loadWeights(m);
    const vars = trainableIdx.map((i) => (m.weights[i] as unknown as { val: tf.Variable }).val);
    const x = tf.tensor(msg.x, msg.xShape);
    const y = tf.tensor(msg.y, msg.yShape);
    const w = msg.w ? tf.tensor(msg.w, msg.wShape) : undefined;
    // A shard that would not fit this instance's 4 GiB heap runs in micro-batches (same average).
    const micro = autoMicroBatch(spec!, msg.xShape[0], msg.xShape[1], msg.xShape[2], m.countParams());
    const { loss: lossValue, grads } = gradientsInMicroBatches(m, loss!, x, y, w, { microBatch: micro, training: msg.training });
    vars.forEach((v, k) => gradViews[msg.slot][k].set(grads[v.name].dataSync()));
    const nonTrainable = m.weights.flatMap((wt) => (wt.trainable ? [] : [Float32Array.from(wt.read().dataSync())]));
    tf.dispose([x, y, ...Object.values(grads)]);
    if (w) w.dispose();
    return { type: 'done', loss: lossValue, nonTrainable };
  }
}, transfer);
