/** Messages between the data-parallel engine (main thread) and its workers. */
import type { ModelSpec } from '../networks/spec.ts';

export interface InitMessage {
  type: 'init';
  spec: ModelSpec;
  /** file:// URL of an ES module exporting `loss(yTrue, yPred, weights?) => tf.Scalar`. */
  lossModule: string;
  /** Passed to the module's `createLoss(options)` when it exports one (structured-cloneable). */
  lossOptions?: unknown;
  backend: 'wasm' | 'cpu';
  /** Shared: every weight of the model (model.weights order), float32, concatenated. Main writes, workers read. */
  weights: SharedArrayBuffer;
  /** Shared, one per batch shard (slot): gradients of the trainable weights (trainableWeights order), concatenated. */
  grads: SharedArrayBuffer[];
  /** Sizes of model.weights in order, and which are trainable (checked against the worker's own build). */
  sizes: number[];
  trainable: boolean[];
}

export interface StepMessage {
  type: 'step';
  id: number;
  /** Which shard of the batch this is: the gradients go to grads[slot]. */
  slot: number;
  x: Float32Array;
  xShape: number[];
  y: Float32Array;
  yShape: number[];
  w?: Float32Array;
  wShape?: number[];
  /** Batch-norm in training mode (batch statistics, moving averages updated). */
  training: boolean;
}

export interface PredictMessage {
  type: 'predict';
  id: number;
  x: Float32Array;
  xShape: number[];
}

export type WorkerRequest = InitMessage | StepMessage | PredictMessage | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'done'; id: number; loss: number; nonTrainable: Float32Array[] }
  | { type: 'predicted'; id: number; y: Float32Array; yShape: number[] }
  | { type: 'error'; id?: number; message: string; stack?: string };
