/**
 * Data parallelism: 2 workers' averaged gradients equal the single-process gradient of the full
 * batch (1e-4 relative), with and without per-pixel loss weights, an uneven split, and one step of
 * the optimizer gives the same weights as a single-process step.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../backend.ts';
import { buildModel, predictPadded } from '../networks/build.ts';
import { validateModelSpec } from '../networks/spec.ts';
import { randomValues, relativeError } from '../testing.ts';
import { DataParallel } from './engine.ts';
import { loss } from './fixtures/mse_loss.ts';

await initBackend({ backend: 'wasm', quiet: true });
const lossModule = fileURLToPath(new URL('./fixtures/mse_loss.ts', import.meta.url));
const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 4, inChannels: 2, outChannels: 1 });
const dp = await DataParallel.create({ spec, lossModule, workers: 2 });

function batch(n: number, c: number, seed: number): tf.Tensor4D {
  return tf.tensor4d(randomValues(n * 12 * 12 * c, seed), [n, 12, 12, c]);
}

test('2-worker averaged gradients equal the full-batch gradient (even and uneven splits, weights)', async () => {
  assert.is(dp.workers, 2);
  const model = buildModel(spec);
  for (const [n, weighted] of [[4, false], [5, false], [4, true]] as [number, boolean][]) {
    const x = batch(n, 2, n);
    const y = batch(n, 1, n + 50);
    const w = weighted ? tf.abs(batch(n, 1, n + 70)) : undefined;
    const vars = model.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
    const ref = tf.variableGrads(() => loss(y, model.apply(x, { training: true }) as tf.Tensor, w), vars);
    const got = await dp.gradients(model, x, y, w);
    const refLoss = ref.value.dataSync()[0];
    assert.ok(Math.abs(got.loss - refLoss) <= 1e-4 * Math.abs(refLoss), `loss ${got.loss} vs ${refLoss}`);
    assert.is(Object.keys(got.grads).length, vars.length);
    for (const v of vars) {
      const e = relativeError(got.grads[v.name].dataSync(), ref.grads[v.name].dataSync());
      assert.ok(e <= 1e-4, `n=${n} weighted=${weighted} ${v.name}: relative error ${e.toExponential(2)}`);
    }
    tf.dispose([x, y, ...(w ? [w] : []), ref.value, ...Object.values(ref.grads), ...Object.values(got.grads)]);
  }
  model.dispose();
});

test('one data-parallel optimizer step gives the same weights as a single-process step', async () => {
  const a = buildModel(spec);
  const b = buildModel(spec);
  b.setWeights(a.getWeights());
  const x = batch(4, 2, 7);
  const y = batch(4, 1, 8);
  const optA = tf.train.adam(1e-2);
  const optB = tf.train.adam(1e-2);
  const varsA = a.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
  optA.minimize(() => loss(y, a.apply(x, { training: true }) as tf.Tensor), false, varsA);
  await dp.step(b, optB, x, y);
  const wa = a.getWeights();
  const wb = b.getWeights();
  let moved = 0;
  for (let i = 0; i < wa.length; i++) {
    const e = relativeError(wb[i].dataSync(), wa[i].dataSync());
    assert.ok(e <= 1e-4, `weight ${i}: relative error ${e.toExponential(2)}`);
    moved += 1;
  }
  assert.ok(moved > 0);
  a.dispose();
  b.dispose();
});

test('2-worker inference equals single-process prediction', async () => {
  const model = buildModel(spec);
  const x = batch(5, 2, 31);
  const ref = (model.predict(x) as tf.Tensor).dataSync();
  const got = await dp.predict(model, x);
  assert.equal(got.shape, [5, 12, 12, 1]);
  assert.ok(relativeError(got.data, ref) <= 1e-5, `relative error ${relativeError(got.data, ref)}`);
  model.dispose();
  x.dispose();
});

test('predictEach: 5 maps of 3 sizes (two need reflect padding; three of one size batched on one worker) on 2 workers equal predictPadded in this thread bit for bit, in input order', async () => {
  const model = buildModel(spec);
  const sizes = [[12, 12], [11, 13], [12, 12], [9, 16], [12, 12]];
  const images = sizes.map(([h, w], k) => ({ data: randomValues(h * w * 2, 60 + k), shape: [1, h, w, 2] }));
  const got = await dp.predictEach(model, images);
  assert.is(got.length, 5);
  images.forEach((im, k) => {
    const ref = tf.tidy(() => predictPadded(model, spec, tf.tensor4d(im.data, im.shape as [number, number, number, number])).dataSync() as Float32Array);
    assert.is(got[k].length, sizes[k][0] * sizes[k][1], `map ${k}: one output channel, cropped back`);
    assert.ok(Buffer.from(got[k].buffer, got[k].byteOffset, got[k].byteLength).equals(Buffer.from(ref.buffer, ref.byteOffset, ref.byteLength)), `map ${k} differs from this thread's prediction`);
  });
  assert.ok(got[0].some((v, i) => v !== got[2][i]), 'different inputs give different outputs (the order is checked)');
  model.dispose();
});

test('lossOptions reach the module\'s createLoss in every worker', async () => {
  const dp3 = await DataParallel.create({ spec, lossModule, workers: 2, lossOptions: { scale: 3 } });
  const model = buildModel(spec);
  const x = batch(4, 2, 41);
  const y = batch(4, 1, 42);
  const a = await dp.gradients(model, x, y);
  const b = await dp3.gradients(model, x, y);
  assert.ok(Math.abs(b.loss - 3 * a.loss) <= 1e-5 * Math.abs(b.loss), `${b.loss} vs 3 x ${a.loss}`);
  await dp3.close();
  tf.dispose([x, y, ...Object.values(a.grads), ...Object.values(b.grads)]);
  model.dispose();
});

test('a loss module without a loss export is refused with a clear message', async () => {
  let msg = '';
  await DataParallel.create({ spec, lossModule: fileURLToPath(new URL('../testing.ts', import.meta.url)), workers: 1 }).catch((e: Error) => (msg = e.message));
  assert.match(msg, /does not export a function named loss/);
});

test.after(() => dp.close());
test.run();
