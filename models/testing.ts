/**
 * Helpers for tests and benchmarks that compare backends: run a function on a named backend and get
 * plain Float32Arrays back, and a relative error measure.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend.ts';
import { InternalError } from '../core/validate.ts';

/** Backends available in this process: always 'cpu' and 'wasm'; 'tensorflow' when tfjs-node loads. */
export async function availableBackends(): Promise<string[]> {
  const out = ['cpu'];
  await initBackend({ backend: 'wasm', quiet: true });
  out.push('wasm');
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) {
        out.push('tensorflow');
        break;
      }
    } catch {
      /* not installed */
    }
  }
  return out;
}

/** Makes `name` the active backend (wasm with nanodose's kernels registered). */
export async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') await initBackend({ backend: 'wasm', quiet: true });
  else {
    await tf.setBackend(name);
    await tf.ready();
  }
}

/** Runs fn on the named backend; returns copies of the resulting tensors' data (and disposes them). */
export async function runOn(name: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(name);
  const res = tf.tidy(fn);
  const list = Array.isArray(res) ? res : [res];
  const out = list.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(list);
  return out;
}

/** max |a - b| / max |b| (0 when both are all zero). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new InternalError(`length mismatch: ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

/** Deterministic pseudo-random values in [-1, 1) (xorshift), for test inputs identical on every backend. */
export function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}
