/**
 * Memory estimate for a batch, checked before running it. A WebAssembly instance has a 32-bit heap
 * (at most 4 GiB, tfjs-backend-wasm's maximum), and running out aborts the process with an opaque
 * "Cannot enlarge memory" error; `checkMemory` throws a clear `MemoryError` first, with the batch
 * size that would fit.
 *
 * Estimate (float32, bytes): activations A = 4 * B * sum over stored tensors of (H_l * W_l * C_l),
 * counted per architecture from the spec (each conv output, its bias-add output or batch-norm output plus 6 full-size
 * temporaries its gradient keeps (moments, centred and normalised input, scale products), activation
 * output, pooling / up-sampling / concatenation outputs, the head). Training keeps all of A for
 * back-propagation and needs about as much again for the gradients in flight and the transposed
 * copies of the convolution-gradient kernels: factor 2.5. Inference frees layers as it goes but the
 * U-Net keeps its skips: factor 1 is an upper bound. Weights: parameters x 4 bytes x (1 weights + 1
 * gradient + 2 Adam moments).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from './networks/spec.ts';
import { padMultiple } from './networks/build.ts';

export const WASM_HEAP_LIMIT_BYTES = 4 * 1024 ** 3;
const TRAINING_FACTOR = 2.5;

export class MemoryError extends Error {
  constructor(
    message: string,
    readonly neededBytes: number,
    readonly availableBytes: number,
    readonly maxBatch: number,
  ) {
    super(message);
    this.name = 'MemoryError';
  }
}

/** Floats stored per input pixel for one image (sum over tensors of C_l / 4^l). */
export function activationFloatsPerPixel(spec: ModelSpec): number {
  // conv output, + bias-add output (no BN) or BN output and 6 temporaries, + activation output.
  const perConv = (c: number) => c * (1 + (spec.batchNorm ? 7 : 1) + (spec.activation === 'linear' ? 0 : 1));
  let total = spec.inChannels;
  if (spec.arch === 'unet') {
    for (let l = 0; l < spec.depth; l++) {
      const f = spec.filters * 2 ** l;
      const scale = 1 / 4 ** l;
      let level = spec.convsPerLevel * perConv(f); // encoder
      if (l < spec.depth - 1) {
        level += spec.down === 'maxpool' ? f / 4 : perConv(f) / 4; // down-sampled output (next level size)
        level += spec.up === 'transposed' ? 2 * f : 2 * f + 2 * f; // up-sampled (+ 1x1 conv), + bias
        level += 2 * f; // concatenation
        level += spec.convsPerLevel * perConv(f); // decoder
      }
      total += level * scale;
    }
  } else {
    total += (spec.depth - 1) * perConv(spec.filters);
  }
  total += spec.outChannels * (2 + (spec.residual ? 1 : 0) + (spec.outputActivation === 'softplus' ? 1 : 0));
  return total;
}

export interface MemoryEstimate {
  activationBytes: number;
  weightBytes: number;
  totalBytes: number;
}

/** Estimated bytes for a batch of B images of H x W (see the module comment for the formula). */
export function estimateMemory(spec: ModelSpec, batch: number, height: number, width: number, opts: { training: boolean; parameters?: number }): MemoryEstimate {
  const act = 4 * batch * height * width * activationFloatsPerPixel(spec) * (opts.training ? TRAINING_FACTOR : 1);
  const weights = 4 * (opts.parameters ?? 0) * (opts.training ? 4 : 1);
  return { activationBytes: act, weightBytes: weights, totalBytes: act + weights };
}

const gib = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GiB`;

/**
 * Throws a MemoryError when a batch would not fit in the backend's memory: the wasm heap limit
 * (4 GiB) minus the bytes tensors already hold. Other backends have no such hard limit and pass.
 * Returns the estimate otherwise.
 */
export function checkMemory(spec: ModelSpec, batch: number, height: number, width: number, opts: { training: boolean; parameters?: number; limitBytes?: number; backend?: string }): MemoryEstimate {
  const est = estimateMemory(spec, batch, height, width, opts);
  const backend = opts.backend ?? tf.getBackend();
  if (backend !== 'wasm' && opts.limitBytes === undefined) return est;
  const limit = opts.limitBytes ?? WASM_HEAP_LIMIT_BYTES;
  const used = backend === tf.getBackend() ? tf.memory().numBytes : 0;
  const available = limit - used;
  if (est.totalBytes > available) {
    const perImage = estimateMemory(spec, 1, height, width, { ...opts, parameters: 0 }).totalBytes;
    const maxBatch = Math.max(0, Math.floor((available - est.weightBytes) / perImage));
    throw new MemoryError(
      `a ${opts.training ? 'training' : 'inference'} batch of ${batch} x ${height}x${width} with this ${spec.arch} (${spec.filters} filters, depth ${spec.depth}${spec.batchNorm ? ', batch norm' : ''}) needs about ${gib(est.totalBytes)}, ` +
        `but the ${backend} backend has ${gib(available)} left (32-bit WebAssembly heap: ${gib(limit)} per instance, ${gib(used)} in use). ` +
        `Use a batch of at most ${maxBatch}, smaller patches, micro-batches (models/parallel splits a batch over workers), or the tensorflow backend (npm install @tensorflow/tfjs-node).`,
      est.totalBytes,
      available,
      maxBatch,
    );
  }
  return est;
}

/**
 * The largest inference batch <= wanted of h x w inputs (reflect-padded to the model's multiple, as
 * predictPadded runs them) that checkMemory lets through on this backend; 0 when not even one fits.
 */
export function fittingInferenceBatch(spec: ModelSpec, wanted: number, h: number, w: number): { batch: number; error?: MemoryError } {
  const m = padMultiple(spec), hp = Math.ceil(h / m) * m, wp = Math.ceil(w / m) * m;
  try {
    checkMemory(spec, wanted, hp, wp, { training: false });
    return { batch: wanted };
  } catch (e) {
    if (!(e instanceof MemoryError)) throw e;
    return { batch: Math.max(0, Math.min(wanted, e.maxBatch)), error: e };
  }
}
