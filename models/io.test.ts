/**
 * Save/load round trip (identical predictions and metadata, standard tfjs layers files, atomic
 * folder) and the memory check.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from './backend.ts';
import { buildModel, predictPadded } from './networks/build.ts';
import { validateModelSpec } from './networks/spec.ts';
import { loadModel, nanodoseVersion, saveModel, type ModelMetadata } from './io.ts';
import { MemoryError, checkMemory, estimateMemory, fittingInferenceBatch } from './memory.ts';
import { randomValues } from './testing.ts';
import { ConfigError } from '../core/validate.ts';

await initBackend({ backend: 'wasm', quiet: true });
const dir = mkdtempSync(join(tmpdir(), 'nanodose-models-'));

test('save then load gives identical predictions and the metadata back', async () => {
  for (const raw of [{ arch: 'unet', depth: 3, filters: 4, inChannels: 3, outChannels: 2, batchNorm: true }, { arch: 'dncnn', depth: 4, filters: 4 }]) {
    const spec = validateModelSpec(raw);
    const model = buildModel(spec);
    // Give batch-norm moving statistics non-trivial values so they must round-trip too.
    model.setWeights(model.getWeights().map((w, i) => tf.tensor(randomValues(w.size, i + 1), w.shape).abs().add(0.05)));
    const meta: ModelMetadata = {
      spec,
      normalisation: { kind: 'scale', scale: 0.125 },
      scheme: 'n2n-binomial',
      doseRange: [0.5, 50],
      channels: spec.inChannels === 3 ? ['HAADF', 'Au', 'Ag'] : ['Au'],
      nanodoseVersion: nanodoseVersion(),
    };
    const out = join(dir, spec.arch);
    await saveModel(model, out, meta);
    assert.equal(readdirSync(out).sort(), ['model.json', 'weights.bin']);
    assert.not.ok(readdirSync(dir).some((n) => n.startsWith('.tmp-')), 'no temporary left behind');
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    assert.is(json.format, 'layers-model');
    assert.is(json.weightsManifest[0].paths[0], 'weights.bin');
    const x = tf.tensor4d(randomValues(2 * 13 * 11 * spec.inChannels, 9), [2, 13, 11, spec.inChannels]);
    const y0 = predictPadded(model, spec, x).dataSync();
    const { model: loaded, metadata } = await loadModel(out);
    const y1 = predictPadded(loaded, metadata.spec, x).dataSync();
    assert.equal(Array.from(y1), Array.from(y0), `${spec.arch}: identical predictions`);
    assert.equal(metadata, meta);
    model.dispose();
    loaded.dispose();
    x.dispose();
  }
});

test('a truncated weights.bin is refused naming the file, its size and the size model.json needs', async () => {
  const spec = validateModelSpec({ arch: 'dncnn', depth: 2, filters: 2 });
  const out = join(dir, 'truncated');
  await saveModel(buildModel(spec), out, { spec, normalisation: { kind: 'scale', scale: 1 }, scheme: 'n2n-binomial', doseRange: [1, 2], channels: ['Au'], nanodoseVersion: nanodoseVersion() });
  const w = join(out, 'weights.bin');
  const full = statSync(w).size;
  truncateSync(w, full - 6);
  try {
    await loadModel(out);
    assert.unreachable('should refuse');
  } catch (e) {
    // The user's file (exit 2 at the CLI), not a bug.
    assert.instance(e, ConfigError);
    assert.match((e as Error).message, new RegExp(`weights\\.bin: ${full - 6} bytes, model\\.json's \\d+ weights need ${full} \\(truncated`));
  }
});

test('a training run folder (out/best, out/last) loads its best model', async () => {
  const spec = validateModelSpec({ arch: 'tiny', depth: 2, filters: 2 });
  const best = buildModel(spec);
  const last = buildModel(spec);
  const meta = (scheme: string): ModelMetadata => ({ spec, normalisation: { kind: 'mean', floor: 1e-3 }, scheme, channels: ['Au'], nanodoseVersion: nanodoseVersion() });
  const run = join(dir, 'run');
  await saveModel(best, join(run, 'best'), meta('best'));
  await saveModel(last, join(run, 'last'), meta('last'));
  const { model, metadata } = await loadModel(run);
  assert.is(metadata.scheme, 'best');
  const x = tf.tensor4d(randomValues(8 * 8, 3), [1, 8, 8, 1]);
  assert.equal(Array.from((model.predict(x) as tf.Tensor).dataSync()), Array.from((best.predict(x) as tf.Tensor).dataSync()));
  // A folder with its own model.json is loaded as it is.
  assert.is((await loadModel(join(run, 'last'))).metadata.scheme, 'last');
  x.dispose();
  for (const m of [model, best, last]) m.dispose();
});

test('loading a folder without a model says so, as the user\'s mistake (ConfigError naming the folder)', async () => {
  let err: unknown;
  await loadModel(join(dir, 'nothing')).catch((e: Error) => (err = e));
  assert.instance(err, ConfigError);
  assert.match((err as Error).message, /nothing: no such model folder .*model\.json/);
  // A folder that holds something else: not a model folder.
  err = undefined;
  await loadModel(dir).catch((e: Error) => (err = e));
  assert.instance(err, ConfigError);
  assert.match((err as Error).message, /not a model folder \(no model\.json/);
});

test('fittingInferenceBatch: the wanted batch where it fits the wasm heap, checkMemory\'s largest batch where it does not, 0 with the error where none does', () => {
  const spec = validateModelSpec({});
  assert.equal(fittingInferenceBatch(spec, 4, 60, 90), { batch: 4 });
  // a 4096 x 4096 map (padded to the multiple of 8): the batch that checkMemory reports as fitting, below 4
  const big = fittingInferenceBatch(spec, 4, 4092, 4090);
  let fit = 4;
  try { checkMemory(spec, 4, 4096, 4096, { training: false }); } catch (e) { fit = (e as MemoryError).maxBatch; }
  assert.ok(fit < 4, `a batch of 4 maps of 4096^2 fits (${fit}): the case does not test the limit`);
  assert.is(big.batch, Math.max(0, fit));
  assert.ok(big.error instanceof MemoryError);
  const none = fittingInferenceBatch(spec, 4, 16384, 16384);
  assert.is(none.batch, 0);
  assert.match(none.error!.message, /WebAssembly heap/);
});

test('checkMemory refuses a batch that would not fit the 32-bit wasm heap, with the batch that fits', () => {
  const spec = validateModelSpec({ batchNorm: true });
  // Hand count for the default U-Net with batch norm at 128x128: > 4 GiB for 32 images in training.
  const est = estimateMemory(spec, 32, 128, 128, { training: true });
  assert.ok(est.totalBytes > 4 * 1024 ** 3, `estimate ${est.totalBytes}`);
  let err: unknown;
  try {
    checkMemory(spec, 32, 128, 128, { training: true, backend: 'wasm' });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof MemoryError, 'throws MemoryError');
  const m = err as MemoryError;
  assert.match(m.message, /32-bit WebAssembly heap/);
  assert.ok(m.maxBatch >= 1 && m.maxBatch < 32, `max batch ${m.maxBatch}`);
  // The suggested batch passes; inference at the same size passes.
  checkMemory(spec, m.maxBatch, 128, 128, { training: true, backend: 'wasm' });
  checkMemory(spec, 4, 128, 128, { training: false, backend: 'wasm' });
  // Activation bytes scale linearly with batch and pixels.
  const a = estimateMemory(spec, 2, 64, 64, { training: true }).activationBytes;
  const b = estimateMemory(spec, 4, 128, 64, { training: true }).activationBytes;
  assert.ok(Math.abs(b / a - 4) < 1e-9);
});

test('the activation count matches what back-propagation actually keeps (measured on the tape)', () => {
  for (const raw of [{ arch: 'unet', depth: 3, filters: 8 }, { arch: 'unet', depth: 3, filters: 8, batchNorm: true, up: 'bilinear' }]) {
    const spec = validateModelSpec(raw);
    const model = buildModel(spec);
    const x = tf.zeros([2, 32, 32, 1]) as tf.Tensor4D;
    const before = tf.memory().numBytes;
    let held = 0;
    const { value, grads } = tf.variableGrads(() => {
      const y = model.apply(x, { training: true }) as tf.Tensor;
      held = tf.memory().numBytes - before; // every tensor the tape keeps for the backward pass
      return tf.mean(y) as tf.Scalar;
    });
    tf.dispose([value, ...Object.values(grads)]);
    const kept = estimateMemory(spec, 2, 32, 32, { training: true }).activationBytes / 2.5;
    // The count matches the tape within 35% (the 2.5x training factor is the head-room for gradients).
    assert.ok(held > 0 && Math.abs(held / kept - 1) < 0.35, `${JSON.stringify(raw)}: tape holds ${held} B, estimated ${kept} B`);
    console.log(`  ${JSON.stringify(raw)}: tape ${held} B, estimate ${kept.toFixed(0)} B`);
    model.dispose();
    x.dispose();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
