import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateModelSpec } from '../networks/spec.ts';
import { WORKER_OVERHEAD_BYTES, memoryBudget, trainingWorkers, workerBytes } from './budget.ts';
import { estimateMemory } from '../memory.ts';

const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 8 });
const P = 1000;

test('per-worker bytes: overhead + the shard estimate of models/memory.ts', () => {
  const est = estimateMemory(spec, 4, 64, 64, { training: true, parameters: P }).totalBytes;
  assert.is(workerBytes(spec, 4, 64, P), WORKER_OVERHEAD_BYTES + est);
});

test('memory bounds the workers: the largest w with w x perWorker(w) <= budget', () => {
  const per = (w: number) => workerBytes(spec, Math.ceil(16 / w), 128, P);
  // Room for exactly three workers' needs (and not four).
  const budget = 3 * per(3) + 1;
  assert.ok(4 * per(4) > budget);
  const b = trainingWorkers({ requested: 8, spec, batch: 16, patch: 128, parameters: P, budgetBytes: budget });
  assert.is(b.workers, 3);
  assert.match(b.line, /^3 data-parallel workers \(memory bounds them/);
  // Plenty of memory: the thread count rules, and never more workers than images in a batch.
  assert.is(trainingWorkers({ requested: 8, spec, batch: 16, patch: 128, parameters: P, budgetBytes: 1e15 }).workers, 8);
  assert.is(trainingWorkers({ requested: 8, spec, batch: 4, patch: 128, parameters: P, budgetBytes: 1e15 }).workers, 4);
  // No memory at all: one worker still runs (checkMemory then reports the batch).
  assert.is(trainingWorkers({ requested: 8, spec, batch: 16, patch: 128, parameters: P, budgetBytes: 0 }).workers, 1);
});

test('budget: a fraction of free memory, and of a cgroup limit when smaller', () => {
  assert.is(memoryBudget(8e9, 0), 0.75 * 8e9);
  assert.is(memoryBudget(8e9, 2e9), 0.75 * 2e9);
});

test.run();
