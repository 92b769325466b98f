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
  x: Float32Array;
  xShape: number[];
}

/** Several images, each [1, h, w, C] predicted alone with predictPadded (reflect-padded to the model's multiple, cropped back). */
export interface PredictEachMessage {
  type: 'predictEach';
  images: Float32Array[];
  shapes: number[][];
}

/** Requests go through core/pool.ts SharedPool (which adds the request id; a throw in the worker is an error reply). */
export type WorkerRequest = InitMessage | StepMessage | PredictMessage | PredictEachMessage;

export interface ReadyReply { type: 'ready'; backend: string }
export interface DoneReply { type: 'done'; loss: number; nonTrainable: Float32Array[] }
export interface PredictedReply { type: 'predicted'; y: Float32Array; yShape: number[] }
export interface PredictedEachReply { type: 'predictedEach'; ys: Float32Array[] }
export type WorkerReply = ReadyReply | DoneReply | PredictedReply | PredictedEachReply;
