/**
 * Registers nanodose's training kernels for the 'wasm' backend (idempotent):
 *   Conv2DBackpropFilter  (missing in tfjs-backend-wasm 4.22)       -> conv.ts
 *   Conv2DBackpropInput   (native one runs at 2-3 GFLOP/s)           -> conv.ts
 *   Slice, SplitV         (per-pixel copies in the concat gradient)  -> copies.ts
 *   Sum (leading axes), MaxPoolGrad (2x2/2)  (bias and pooling gradients) -> reduction.ts
 *   Identity              (shares the buffer instead of copying)     -> copies.ts
 *   Tile                  (block copies; batch-norm gradient)        -> copies.ts
 * Each is tested against the reference `cpu` backend in models/kernels/kernels.test.ts.
 * `unregisterWasmTrainingKernels` restores the backend's own kernels (used by the benchmark to
 * compare).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterWasm, conv2DBackpropInputWasm, setNativeConv2DBackpropInput } from './conv.ts';
import { identityWasm, setNativeCopies, setNativeTile, sliceWasm, splitVWasm, tileWasm } from './copies.ts';
import { maxPoolGradWasm, setNativeReductions, sumWasm } from './reduction.ts';

const ours: Record<string, tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilterWasm as unknown as tf.KernelFunc,
  Conv2DBackpropInput: conv2DBackpropInputWasm as unknown as tf.KernelFunc,
  Slice: sliceWasm as unknown as tf.KernelFunc,
  SplitV: splitVWasm as unknown as tf.KernelFunc,
  Sum: sumWasm as unknown as tf.KernelFunc,
  MaxPoolGrad: maxPoolGradWasm as unknown as tf.KernelFunc,
  Identity: identityWasm as unknown as tf.KernelFunc,
  Tile: tileWasm as unknown as tf.KernelFunc,
};
const natives = new Map<string, tf.KernelConfig | undefined>();
let registered = false;

/** Names of the kernels nanodose replaces or adds on wasm. */
export const WASM_TRAINING_KERNELS = Object.keys(ours);

function lookup(name: string): tf.KernelConfig | undefined {
  try {
    return tf.getKernel(name, 'wasm');
  } catch {
    return undefined;
  }
}

export function registerWasmTrainingKernels(): void {
  if (registered) return;
  // The wasm package registers its kernels when imported; it must be imported before this runs.
  for (const name of WASM_TRAINING_KERNELS) {
    if (!natives.has(name)) natives.set(name, lookup(name));
  }
  setNativeConv2DBackpropInput(natives.get('Conv2DBackpropInput')?.kernelFunc);
  setNativeCopies(natives.get('Slice')?.kernelFunc, natives.get('SplitV')?.kernelFunc);
  setNativeTile(natives.get('Tile')?.kernelFunc);
  setNativeReductions(natives.get('Sum')?.kernelFunc, natives.get('MaxPoolGrad')?.kernelFunc);
  for (const name of WASM_TRAINING_KERNELS) {
    if (natives.get(name)) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: ours[name] });
  }
  registered = true;
}

/** Puts the backend's own kernels back (Conv2DBackpropFilter is then missing again). */
export function unregisterWasmTrainingKernels(): void {
  if (!registered) return;
  for (const name of WASM_TRAINING_KERNELS) {
    tf.unregisterKernel(name, 'wasm');
    const n = natives.get(name);
    if (n) tf.registerKernel(n);
  }
  registered = false;
}
