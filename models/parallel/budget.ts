/**
 * How many data-parallel training workers fit in memory. Each worker is its own WebAssembly
 * instance with its own heap (grown on demand up to 4 GiB, tfjs-backend-wasm's limit), so on a
 * many-core machine with little memory the core count alone would start more workers than the
 * memory holds, and the process would die with an opaque "Cannot enlarge memory" abort.
 *
 * Per worker: the training estimate of models/memory.ts for its shard of the batch
 * (ceil(batch / w) images; capped at the 4 GiB heap, since a larger shard runs in micro-batches)
 * plus a fixed overhead for the worker's isolate, the tfjs module and the wasm binary
 * (WORKER_OVERHEAD_BYTES, measured ~0.15 GiB resident for an idle worker; rounded up).
 * Budget: a fraction (BUDGET_FRACTION) of the memory available now (os.freemem(), which reads
 * MemAvailable on Linux, and the cgroup limit where one applies), leaving room for the main
 * thread's own model, data and validation. The largest w <= requested with
 * w x perWorker(w) <= budget is chosen (at least 1: one worker always runs; checkMemory then
 * reports a batch that does not fit).
 */
import { freemem, totalmem } from 'node:os';
import { WASM_HEAP_LIMIT_BYTES, estimateMemory } from '../memory.ts';
import type { ModelSpec } from '../networks/spec.ts';

export const WORKER_OVERHEAD_BYTES = 256 * 1024 ** 2;
export const BUDGET_FRACTION = 0.75;

export interface WorkerBudget {
  workers: number;
  requested: number;
  perWorkerBytes: number;
  budgetBytes: number;
  /** One line for the log: the choice and why. */
  line: string;
}

const gib = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GiB`;

/** Memory (bytes) one training worker needs for its shard of `batch` images of patch x patch. */
export function workerBytes(spec: ModelSpec, shardBatch: number, patch: number, parameters: number): number {
  const est = estimateMemory(spec, shardBatch, patch, patch, { training: true, parameters }).totalBytes;
  return WORKER_OVERHEAD_BYTES + Math.min(est, WASM_HEAP_LIMIT_BYTES);
}

/** The memory the workers may use: BUDGET_FRACTION of the free memory (and of a cgroup limit). */
export function memoryBudget(free = freemem(), limit = (process as { constrainedMemory?: () => number }).constrainedMemory?.() ?? 0): number {
  const avail = limit > 0 ? Math.min(free, limit) : free;
  return BUDGET_FRACTION * avail;
}

/**
 * The number of training workers: `requested` (from the thread count) bounded by memory.
 * `budgetBytes` defaults to memoryBudget(); tests pass their own.
 */
export function trainingWorkers(o: { requested: number; spec: ModelSpec; batch: number; patch: number; parameters: number; budgetBytes?: number }): WorkerBudget {
  const budget = o.budgetBytes ?? memoryBudget();
  const need = (w: number) => w * workerBytes(o.spec, Math.ceil(o.batch / w), o.patch, o.parameters);
  // More workers than images would idle (a batch splits into at most `batch` shards).
  let w = Math.max(1, Math.min(o.requested, o.batch));
  while (w > 1 && need(w) > budget) w--;
  const per = need(w) / w;
  const capped = w < Math.min(o.requested, o.batch);
  const why = capped
    ? `memory bounds them: ~${gib(per)} per worker, ${gib(budget)} usable of ${gib(freemem())} free (${gib(totalmem())} total); ${o.requested} threads asked`
    : `${o.requested} thread${o.requested === 1 ? '' : 's'}${o.requested > o.batch ? `, batch ${o.batch}` : ''}; ~${gib(per)} per worker, ${gib(budget)} usable`;
  return { workers: w, requested: o.requested, perWorkerBytes: per, budgetBytes: budget, line: `${w} data-parallel worker${w === 1 ? '' : 's'} (${why})` };
}
