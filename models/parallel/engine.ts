/**
 * Data-parallel training over worker_threads: each worker has its own single-threaded wasm
 * instance and its own copy of the model (rebuilt from the spec); a batch is split into contiguous
 * shards, each worker computes the loss and gradients on its shard, and the main thread averages
 *
 *   g = sum_k (n_k / N) g_k,   loss = sum_k (n_k / N) L_k
 *
 * with the batch cut into `shards` contiguous parts (default: one per worker) and shard k computed by
 * worker k mod workers. The sum runs in shard order, so for a fixed number of shards the result is
 * bit-identical whatever the number of workers (each shard's gradient is the same sequential
 * single-threaded wasm computation in whichever worker runs it); this is how training results stay
 * the same on 1 or 64 cores. It equals the full-batch gradient whenever the loss is a mean over the samples of the batch
 * (mean squared error, Poisson NLL, per-sample-normalised masked losses). A loss normalised over the
 * whole batch by data-dependent weights (e.g. sum(w * e) / sum(w) across all samples) is averaged
 * by sample count instead, a close approximation. The optimizer runs in the main thread
 * (`step`), so its state lives in one place; weights go to the workers through one SharedArrayBuffer
 * and gradients come back through one SharedArrayBuffer per worker (no copies through messages).
 *
 * Batch norm: each worker normalises with its shard's statistics ("ghost batch norm", Hoffer et al.
 * 2017), which also splits the memory of a large batch (the issue's batch 16 at 128x128 with batch
 * norm did not fit one 4 GiB wasm heap); the moving averages are averaged over the workers.
 *
 * Why workers and not wasm threads: measured in the prototype, 2 data-parallel workers gave ~2.0x on
 * 2 cores, the threaded-SIMD wasm build only 1.4-1.5x (and tfjs disables it in Node); see
 * scripts/bench/models.bench.ts for this machine's figures.
 */
import * as tf from '@tensorflow/tfjs';
import { SharedPool } from '../../core/pool.ts';
import { resolveThreads } from '../../core/threads.ts';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelSpec } from '../networks/spec.ts';
import type { DoneReply, InitMessage, PredictedEachReply, PredictedReply, ReadyReply, StepMessage } from './protocol.ts';
import { ConfigError, InternalError } from '../../core/validate.ts';

export interface DataParallelOptions {
  spec: ModelSpec;
  /**
   * ES module (absolute path or file:// URL) exporting `loss(yTrue, yPred, weights?): tf.Scalar`, a
   * mean over samples; or, with `lossOptions`, `createLoss(options)` returning such a function.
   */
  lossModule: string | URL;
  /** Options for the module's `createLoss` (must survive structured cloning). */
  lossOptions?: unknown;
  /** Number of workers (default core/threads.ts: --threads, NANODOSE_THREADS or the cores). */
  workers?: number;
  /**
   * Contiguous parts a batch is cut into (default: the number of workers). Fix it to make results
   * independent of the worker count; a batch of N < shards images is cut into N.
   */
  shards?: number;
  /** Backend in the workers (default wasm; cpu for reference checks). */
  backend?: 'wasm' | 'cpu';
}

export interface ParallelGradients {
  loss: number;
  /** Averaged gradients keyed by the variable names of the main model (as tf.variableGrads). */
  grads: tf.NamedTensorMap;
}

type Batch = tf.Tensor | { data: Float32Array; shape: number[] };

function asArray(b: Batch): { data: Float32Array; shape: number[] } {
  if (b instanceof tf.Tensor) return { data: b.dataSync() as Float32Array, shape: b.shape };
  return b;
}

function lossUrl(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (/^[a-z]+:\/\//.test(m)) return m;
  if (!isAbsolute(m)) throw new ConfigError('lossModule', `give an absolute path or a file:// URL, got ${m}`);
  return pathToFileURL(m).href;
}

export class DataParallel {
  private constructor(
    private readonly pool: SharedPool,
    private readonly weightBuf: Float32Array,
    private readonly gradBufs: Float32Array[],
    private readonly sizes: number[],
    private readonly trainable: boolean[],
    readonly backend: string,
  ) {}

  /** Contiguous parts a batch is cut into. */
  get shards(): number {
    return this.gradBufs.length;
  }

  /** Number of workers. */
  get workers(): number {
    return this.pool.size;
  }

  /** Starts the workers, builds the model in each, loads the loss module. */
  static async create(opts: DataParallelOptions): Promise<DataParallel> {
    const n = resolveThreads(opts.workers, 'workers');
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new ConfigError('workers', `must be an integer in [1, 64], got ${n}`);
    const nShards = opts.shards ?? n;
    if (!Number.isInteger(nShards) || nShards < 1 || nShards > 1024) throw new ConfigError('shards', `must be an integer in [1, 1024], got ${nShards}`);
    // Sizes and order of the weights, from a throw-away build on the main thread's backend.
    const { buildModel } = await import('../networks/build.ts');
    const probe = buildModel(opts.spec);
    const sizes = probe.weights.map((w) => tf.util.sizeFromShape(w.shape as number[]));
    const trainable = probe.weights.map((w) => w.trainable);
    probe.dispose();
    const total = sizes.reduce((a, b) => a + b, 0);
    const nTrain = sizes.reduce((a, s, i) => a + (trainable[i] ? s : 0), 0);
    const weightSab = new SharedArrayBuffer(total * 4);
    const gradSabs = Array.from({ length: nShards }, () => new SharedArrayBuffer(nTrain * 4));
    const url = lossUrl(opts.lossModule);
    // Workers run models/parallel/worker.ts (core/pool.ts: TypeScript worker, answers through serve()).
    const pool = new SharedPool(n, { module: new URL('./worker.ts', import.meta.url) }, () => undefined, 'data-parallel');
    let backend = '';
    try {
      const init: InitMessage = { type: 'init', spec: opts.spec, lossModule: url, lossOptions: opts.lossOptions, backend: opts.backend ?? 'wasm', weights: weightSab, grads: gradSabs, sizes, trainable };
      const ready = await pool.all<ReadyReply>(() => ({ ...init }));
      backend = ready[0].backend;
    } catch (e) {
      await pool.close();
      throw e;
    }
    return new DataParallel(pool, new Float32Array(weightSab), gradSabs.map((g) => new Float32Array(g)), sizes, trainable, backend);
  }

  private broadcast(model: tf.LayersModel): void {
    const ws = model.weights;
    if (ws.length !== this.sizes.length) throw new InternalError('model does not match the spec the workers were built from');
    let off = 0;
    for (let i = 0; i < ws.length; i++) {
      const v = ws[i].read().dataSync() as Float32Array;
      if (v.length !== this.sizes[i]) throw new InternalError(`weight ${ws[i].name}: ${v.length} values, workers expect ${this.sizes[i]}`);
      this.weightBuf.set(v, off);
      off += v.length;
    }
  }

  /**
   * Loss and gradients of the full batch, averaged over the workers' shards. The model's current
   * weights are sent first. With `training` (default true) batch norm uses shard statistics and the
   * averaged moving statistics are written back into `model`.
   */
  async gradients(model: tf.LayersModel, x: Batch, yTrue: Batch, weights?: Batch, opts: { training?: boolean } = {}): Promise<ParallelGradients> {
    const training = opts.training ?? true;
    this.broadcast(model);
    const X = asArray(x);
    const Y = asArray(yTrue);
    const W = weights ? asArray(weights) : undefined;
    const N = X.shape[0];
    if (Y.shape[0] !== N || (W && W.shape[0] !== N)) throw new InternalError(`batch sizes differ: x ${N}, y ${Y.shape[0]}${W ? `, weights ${W.shape[0]}` : ''}`);
    const k = Math.min(this.gradBufs.length, N);
    const bounds = Array.from({ length: k + 1 }, (_, i) => Math.round((i * N) / k));
    const shard = (a: { data: Float32Array; shape: number[] }, i: number) => {
      const per = a.data.length / a.shape[0];
      return { data: a.data.slice(bounds[i] * per, bounds[i + 1] * per), shape: [bounds[i + 1] - bounds[i], ...a.shape.slice(1)] };
    };
    // Shard i runs on worker i mod workers; each worker takes its shards one after another.
    const nw = Math.min(this.pool.size, k);
    const done: DoneReply[] = new Array(k);
    await Promise.all(
      Array.from({ length: nw }, async (_, wk) => {
        for (let i = wk; i < k; i += nw) {
          const xs = shard(X, i);
          const ys = shard(Y, i);
          const wsh = W ? shard(W, i) : undefined;
          const msg: Omit<StepMessage, 'id'> = { type: 'step', slot: i, x: xs.data, xShape: xs.shape, y: ys.data, yShape: ys.shape, w: wsh?.data, wShape: wsh?.shape, training };
          done[i] = await this.pool.request<DoneReply>(wk, msg, { transfer: [xs.data.buffer as ArrayBuffer, ys.data.buffer as ArrayBuffer, ...(wsh ? [wsh.data.buffer as ArrayBuffer] : [])] });
        }
      }),
    );
    const frac = Array.from({ length: k }, (_, i) => (bounds[i + 1] - bounds[i]) / N);
    const loss = done.reduce((a, r, i) => a + frac[i] * r.loss, 0);
    // Average gradients in place into one Float32Array, then wrap per variable.
    const nTrain = this.gradBufs[0].length;
    const avg = new Float32Array(nTrain);
    for (let i = 0; i < k; i++) {
      const g = this.gradBufs[i];
      const f = frac[i];
      for (let j = 0; j < nTrain; j++) avg[j] += f * g[j];
    }
    const grads: tf.NamedTensorMap = {};
    let off = 0;
    model.weights.forEach((w, i) => {
      if (!this.trainable[i]) return;
      grads[(w as unknown as { val: tf.Variable }).val.name] = tf.tensor(avg.subarray(off, off + this.sizes[i]), w.shape as number[]);
      off += this.sizes[i];
    });
    if (training) {
      const nt = model.weights.filter((w) => !w.trainable);
      if (nt.length) {
        tf.tidy(() =>
          nt.forEach((w, j) => {
            const m = new Float32Array(done[0].nonTrainable[j].length);
            done.forEach((r, i) => r.nonTrainable[j].forEach((v, q) => (m[q] += frac[i] * v)));
            w.write(tf.tensor(m, w.shape as number[]));
          }),
        );
      }
    }
    return { loss, grads };
  }

  /**
   * Inference split over the workers (each predicts a contiguous part of the batch with the model's
   * current weights); returns the outputs in batch order.
   */
  async predict(model: tf.LayersModel, x: Batch): Promise<{ data: Float32Array; shape: number[] }> {
    this.broadcast(model);
    const X = asArray(x);
    const N = X.shape[0];
    const k = Math.min(this.pool.size, N);
    const bounds = Array.from({ length: k + 1 }, (_, i) => Math.round((i * N) / k));
    const per = X.data.length / N;
    const parts = await Promise.all(
      Array.from({ length: k }, (_, i) => {
        const data = X.data.slice(bounds[i] * per, bounds[i + 1] * per);
        return this.pool.request<PredictedReply>(i, { type: 'predict', x: data, xShape: [bounds[i + 1] - bounds[i], ...X.shape.slice(1)] }, { transfer: [data.buffer as ArrayBuffer] });
      }),
    );
    const outPer = parts[0].y.length / parts[0].yShape[0];
    const out = new Float32Array(N * outPer);
    parts.forEach((r, i) => out.set(r.y, bounds[i] * outPer));
    return { data: out, shape: [N, ...parts[0].yShape.slice(1)] };
  }

  /**
   * Each image [1, h, w, C] predicted as predictPadded computes it alone in this thread (reflect-padded
   * to the model's multiple, cropped back), with the model's current weights: image i on worker
   * i mod workers, a worker's consecutive images of one shape batched (a batch gives each image its
   * single-call bits). The outputs [h, w, K] in input order; the same values for any number of workers.
   * Validation uses it, so the workers share its maps.
   */
  async predictEach(model: tf.LayersModel, images: { data: Float32Array; shape: number[] }[]): Promise<Float32Array[]> {
    this.broadcast(model);
    const nw = Math.min(this.pool.size, images.length);
    const out: Float32Array[] = new Array(images.length);
    await Promise.all(
      Array.from({ length: nw }, async (_, wk) => {
        const idx: number[] = [];
        for (let i = wk; i < images.length; i += nw) idx.push(i);
        const r = await this.pool.request<PredictedEachReply>(wk, { type: 'predictEach', images: idx.map((i) => images[i].data), shapes: idx.map((i) => images[i].shape) });
        idx.forEach((i, k) => (out[i] = r.ys[k]));
      }),
    );
    return out;
  }

  /** One optimisation step: averaged gradients applied to `model` with `optimizer` in this thread. Returns the loss. */
  async step(model: tf.LayersModel, optimizer: tf.Optimizer, x: Batch, yTrue: Batch, weights?: Batch): Promise<number> {
    const { loss, grads } = await this.gradients(model, x, yTrue, weights);
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
    return loss;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
