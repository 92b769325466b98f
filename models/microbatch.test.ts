/** Micro-batched gradients equal full-batch gradients; the automatic micro-batch fits the wasm heap. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend.ts';
import { buildModel } from './networks/build.ts';
import { validateModelSpec } from './networks/spec.ts';
import { autoMicroBatch, gradientsInMicroBatches } from './microbatch.ts';
import { checkMemory } from './memory.ts';
import { randomValues, relativeError } from './testing.ts';
import { loss } from './parallel/fixtures/mse_loss.ts';

await initBackend({ backend: 'wasm', quiet: true });

test('gradients in micro-batches of 2 equal the full-batch gradients (batch 5, weighted loss)', () => {
  const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 4, inChannels: 2, outChannels: 1 });
  const model = buildModel(spec);
  const x = tf.tensor4d(randomValues(5 * 8 * 8 * 2, 1), [5, 8, 8, 2]);
  const y = tf.tensor4d(randomValues(5 * 8 * 8, 2), [5, 8, 8, 1]);
  const w = tf.abs(tf.tensor4d(randomValues(5 * 8 * 8, 3), [5, 8, 8, 1]));
  const vars = model.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
  const ref = tf.variableGrads(() => loss(y, model.apply(x, { training: true }) as tf.Tensor, w), vars);
  const got = gradientsInMicroBatches(model, loss, x, y, w, { microBatch: 2 });
  assert.ok(Math.abs(got.loss - ref.value.dataSync()[0]) <= 1e-5 * Math.abs(ref.value.dataSync()[0]));
  for (const v of vars) {
    const e = relativeError(got.grads[v.name].dataSync(), ref.grads[v.name].dataSync());
    assert.ok(e <= 1e-4, `${v.name}: relative error ${e.toExponential(2)}`);
  }
  model.dispose();
});

test('autoMicroBatch: the issue case (batch norm, batch 16, 128x128) is split into micro-batches that fit', () => {
  const bn = validateModelSpec({ batchNorm: true });
  const m = autoMicroBatch(bn, 16, 128, 128, 1.93e6);
  assert.ok(m >= 1 && m < 16, `micro-batch ${m}`);
  checkMemory(bn, m, 128, 128, { training: true, parameters: 1.93e6, backend: 'wasm' });
  assert.is(autoMicroBatch(validateModelSpec({}), 4, 64, 64), 4);
});

test.run();
