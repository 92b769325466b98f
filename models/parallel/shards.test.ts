/**
 * Thread-count independence of data-parallel training: with the batch cut into a fixed number of
 * shards, 1, 2, 3 and 4 workers (oversubscribing this machine's cores) give bit-identical losses
 * and weights after a few Adam steps, batch norm included (its moving averages are averaged in
 * shard order too).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../backend.ts';
import { buildModel } from '../networks/build.ts';
import { validateModelSpec } from '../networks/spec.ts';
import { randomValues } from '../testing.ts';
import { DataParallel } from './engine.ts';

await initBackend({ backend: 'wasm', quiet: true });
const lossModule = fileURLToPath(new URL('./fixtures/mse_loss.ts', import.meta.url));
const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 4, inChannels: 1, outChannels: 1, batchNorm: true });

async function train(workers: number): Promise<{ losses: number[]; weights: Float32Array[] }> {
  const dp = await DataParallel.create({ spec, lossModule, workers, shards: 4 });
  try {
    assert.is(dp.workers, workers);
    assert.is(dp.shards, 4);
    const model = buildModel(spec);
    // The same initial weights for every run (buildModel's initialisers draw from tf's global RNG).
    model.setWeights(model.weights.map((w, i) => tf.tensor(randomValues(tf.util.sizeFromShape(w.shape as number[]), 100 + i), w.shape as number[]).mul(0.3)));
    const opt = tf.train.adam(1e-2);
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) {
      const x = { data: randomValues(6 * 8 * 8, 10 + s), shape: [6, 8, 8, 1] };
      const y = { data: randomValues(6 * 8 * 8, 20 + s), shape: [6, 8, 8, 1] };
      losses.push(await dp.step(model, opt, x, y));
    }
    const weights = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
    model.dispose();
    opt.dispose();
    return { losses, weights };
  } finally {
    await dp.close();
  }
}

test('1, 2, 3 and 4 workers (fixed 4 shards, uneven 6-image batch) give bit-identical training', async () => {
  const ref = await train(1);
  assert.ok(ref.losses.every(Number.isFinite));
  assert.ok(ref.losses[2] !== ref.losses[0], 'the steps changed the model');
  for (const w of [2, 3, 4]) {
    const got = await train(w);
    assert.equal(got.losses, ref.losses, `losses with ${w} workers`);
    got.weights.forEach((a, i) => {
      const b = ref.weights[i];
      const diff = a.findIndex((v, j) => !Object.is(v, b[j]));
      assert.is(diff, -1, `${w} workers: weight ${i} differs at ${diff}`);
    });
  }
});

test.run();
