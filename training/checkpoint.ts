/**
 * Checkpoints of a training run, every file written atomically:
 *   out/last/  model.json + weights.bin (models/io.ts saveModel) + optimizer.json + optimizer.bin
 *              (Adam moments, iteration count and bias-correction powers, epoch, global step,
 *              early-stopping state): everything `resume` needs to continue bit for bit;
 *   out/best/  the model of the best validation loss so far (saveModel folder).
 * The last checkpoint is assembled in a temporary folder and renamed into place, so a crash leaves
 * either the previous or the new checkpoint, never a mixture.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAtomicPath } from '../core/atomic.ts';
import { loadModel, saveModel, type ModelMetadata } from '../models/index.ts';
import { stream } from '../core/random.ts';
import { ConfigError } from '../core/validate.ts';

export interface TrainState {
  format: 'nanodose-train-state';
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps completed. */
  step: number;
  bestValLoss: number;
  bestEpoch: number;
  /** Epochs since the best validation loss. */
  badEpochs: number;
  /** Learning rate of the last step. */
  lr: number;
  /** Adam's bias-correction powers beta^t, stored exactly (tfjs recomputes them with pow on setWeights). */
  accBeta1?: number;
  accBeta2?: number;
  weights: { name: string; shape: number[]; dtype: 'float32' | 'int32'; offset: number; length: number }[];
}

interface AdamInternals { accBeta1?: tf.Variable; accBeta2?: tf.Variable }

/** Writes out/last: the model, its metadata and the optimizer / run state. */
export async function saveLast(dir: string, model: tf.LayersModel, meta: ModelMetadata, optimizer: tf.Optimizer, state: Omit<TrainState, 'format' | 'weights' | 'accBeta1' | 'accBeta2'>): Promise<void> {
  const named = await optimizer.getWeights();
  const parts: Uint8Array[] = [];
  const weights: TrainState['weights'] = [];
  let offset = 0;
  for (const { name, tensor } of named) {
    const data = tensor.dataSync();
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    weights.push({ name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', offset, length: bytes.length });
    parts.push(bytes);
    offset += bytes.length;
  }
  const adam = optimizer as unknown as AdamInternals;
  const full: TrainState = {
    format: 'nanodose-train-state',
    ...state,
    accBeta1: adam.accBeta1 ? adam.accBeta1.dataSync()[0] : undefined,
    accBeta2: adam.accBeta2 ? adam.accBeta2.dataSync()[0] : undefined,
    weights,
  };
  const bin = new Uint8Array(offset);
  let o = 0;
  for (const p of parts) {
    bin.set(p, o);
    o += p.length;
  }
  await withAtomicPath(dir, async (tmp) => {
    await saveModel(model, tmp, meta);
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'optimizer.bin'), bin);
    writeFileSync(join(tmp, 'optimizer.json'), JSON.stringify(full, null, 1));
  });
}

/** Reads out/last: the model (with metadata) and the run state; `restoreOptimizer` puts the state into an optimizer. */
export async function loadLast(dir: string): Promise<{ model: tf.LayersModel; metadata: ModelMetadata; state: TrainState; bin: Uint8Array } | null> {
  if (!existsSync(join(dir, 'optimizer.json')) || !existsSync(join(dir, 'model.json'))) return null;
  const state = JSON.parse(readFileSync(join(dir, 'optimizer.json'), 'utf8')) as TrainState;
  if (state.format !== 'nanodose-train-state') throw new ConfigError(join(dir, 'optimizer.json'), `format '${String(state.format)}', not a nanodose training state (expected 'nanodose-train-state'); resume needs the out/last folder that train wrote, or start a new folder`);
  const bin = new Uint8Array(readFileSync(join(dir, 'optimizer.bin')));
  const { model, metadata } = await loadModel(dir);
  return { model, metadata, state, bin };
}

/** Restores Adam's moments, iteration count and exact bias-correction powers. */
export async function restoreOptimizer(optimizer: tf.Optimizer, state: TrainState, bin: Uint8Array): Promise<void> {
  const named = state.weights.map((w) => {
    const buf = bin.buffer.slice(bin.byteOffset + w.offset, bin.byteOffset + w.offset + w.length);
    const data = w.dtype === 'int32' ? new Int32Array(buf) : new Float32Array(buf);
    return { name: w.name, tensor: tf.tensor(data, w.shape, w.dtype) };
  });
  await optimizer.setWeights(named);
  named.forEach((n) => n.tensor.dispose());
  const adam = optimizer as unknown as AdamInternals;
  if (adam.accBeta1 && state.accBeta1 !== undefined) adam.accBeta1.assign(tf.scalar(state.accBeta1));
  if (adam.accBeta2 && state.accBeta2 !== undefined) adam.accBeta2.assign(tf.scalar(state.accBeta2));
}

/**
 * Seeded weight initialisation (tfjs initialisers draw from an unseeded generator): He normal
 * truncated at 2 sigma, std = sqrt(2 / fan_in) (He et al. 2015), for convolution kernels; the output
 * 1x1 convolution with std = sqrt(1 / fan_in) / 4 so the untrained residual network starts close to
 * the identity; biases and batch-norm parameters keep their constant initial values.
 * fan_in = k_h k_w C_in (for transposed convolutions, whose kernel is [k, k, C_out, C_in], k_h k_w C_in too).
 */
export function seededInit(model: tf.LayersModel, seed: number | string): void {
  const values = model.weights.map((w, i) => {
    const shape = w.shape as number[];
    const current = w.read();
    // Fixed layers (the smoothing conv of models/networks/build.ts) keep their built weights.
    if (shape.length !== 4 || !/kernel/.test(w.originalName ?? w.name) || !w.trainable) return current.clone();
    const isTransposed = /tconv/.test(w.name);
    const fanIn = shape[0] * shape[1] * (isTransposed ? shape[3] : shape[2]);
    const std = /output_conv/.test(w.name) ? Math.sqrt(1 / fanIn) / 4 : Math.sqrt(2 / fanIn) / 0.87962566; // truncation correction
    const rng = stream(seed, 'init', i);
    const n = tf.util.sizeFromShape(shape);
    const data = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      let z: number;
      do z = rng.normal(); while (Math.abs(z) > 2);
      data[k] = z * std;
    }
    return tf.tensor(data, shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}
