/**
 * train() end to end on a tiny simulated dataset (32^3 phantoms, 5 tilts, 4 frames stored): every
 * scheme lowers its validation loss and beats the noisy input's PSNR; an interrupted and resumed
 * run ends with the uninterrupted run's weights; a diverging run stops with a clear message and
 * leaves the last good checkpoint untouched; bad options are refused before anything is written;
 * in-memory maps without clean data (the real-data case) train with fixed noise.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '../datasets/index.ts';
import { stream } from '../core/random.ts';
import { poissonNoise } from '../generators/signal/noise.ts';
import { loadModel } from '../models/index.ts';
import { ConfigError } from '../core/validate.ts';
import { train, TrainingDivergedError, type TrainOptions } from './index.ts';
import { parseLearningCurveCsv } from './curve.ts';
import type { MapItem } from './sources.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-train-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const ds = join(root, 'ds');
await generateDataset({
  out: ds, count: 6, seed: 3, workers: 1, quiet: true,
  config: { samplesPerShard: 6, split: { train: 0.5, val: 0.5, test: 0 }, store: { frames: true }, simulation: { phantom: { size: 32 }, geometry: { angles: '-60:60:30' }, acquisition: { frames: 4, dose: 6000 } } },
});
const base = (o: Partial<TrainOptions>): TrainOptions => ({
  data: ds, scheme: 'supervised', out: '', model: { arch: 'unet', depth: 2, filters: 8 }, epochs: 4, stepsPerEpoch: 15, batch: 8, patch: 32, lr: 3e-3,
  workers: 1, backend: 'wasm', quiet: true, valProjections: 6, seed: 1, ...o,
});
const lines = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

for (const [scheme, extra] of [['supervised', {}], ['n2n-thinning', {}], ['n2n-frames', {}], ['n2n-frames', { noise: 'fixed' }], ['blind-spot', { epochs: 6, stepsPerEpoch: 20 }]] as [TrainOptions['scheme'], Partial<TrainOptions>][]) {
  test(`${scheme}${extra.noise ? ` (${extra.noise} noise)` : ''}: validation loss falls and the denoised maps beat the noisy input's PSNR`, async () => {
    const out = join(root, `${scheme}-${extra.noise ?? 'fresh'}`);
    const r = await train(base({ scheme, out, ...extra }));
    const log = lines(out);
    assert.is(log[0].epoch, 0);
    assert.is(log.length, (extra.epochs ?? 4) + 1);
    assert.ok(r.bestEpoch >= 1, `best epoch ${r.bestEpoch}`);
    assert.ok(r.best.valLoss < 0.9 * log[0].valLoss, `val loss ${r.best.valLoss} vs untrained ${log[0].valLoss}`);
    assert.ok(r.best.psnr! > r.best.noisyPsnr! + 0.3, `PSNR ${r.best.psnr} vs noisy ${r.best.noisyPsnr}`);
    for (const k of ['epoch', 'trainLoss', 'valLoss', 'psnr', 'ssim', 'lr', 'imagesPerSecond', 'seconds']) assert.ok(k in log[1], `log has ${k}`);
    assert.ok(r.imagesPerSecond > 0);
    for (const f of ['best/model.json', 'last/model.json', 'last/optimizer.json', 'last/optimizer.bin', 'learning-curve.svg', 'learning-curve.png', 'learning-curve.csv', 'train-config.json']) assert.ok(existsSync(join(out, f)), f);
    const curve = parseLearningCurveCsv(readFileSync(join(out, 'learning-curve.csv'), 'utf8'));
    assert.equal(curve.map((c) => [c.epoch, c.train_loss, c.val_loss, c.psnr_db, c.ssim]), log.map((e) => [e.epoch, e.trainLoss ?? undefined, e.valLoss, e.psnr, e.ssim]), 'curve = log');
    assert.not.ok(readdirSync(out).some((n) => n.startsWith('.tmp-')), 'no temporary files');
    const { model, metadata } = await loadModel(out); // resolves to out/best
    assert.is(metadata.scheme, scheme);
    assert.equal(metadata.channels, ['Au', 'Ag']);
    assert.equal(metadata.normalisation, { kind: 'mean', floor: 1e-3 });
    assert.is(metadata.epoch, r.bestEpoch);
    model.dispose();
  });
}

test('resume after an interruption ends with the uninterrupted run\'s weights (byte-identical) and log', async () => {
  const full = join(root, 'full');
  const part = join(root, 'part');
  const o = { scheme: 'n2n-thinning' as const, epochs: 4, stepsPerEpoch: 6, batch: 4, seed: 'resume' };
  await train(base({ ...o, out: full }));
  let err: unknown;
  try {
    await train(base({ ...o, out: part, onEpoch: (e) => { if (e.epoch === 2) throw new Error('simulated crash'); } }));
  } catch (e) {
    err = e;
  }
  assert.match(String(err), /simulated crash/);
  assert.is(lines(part).length, 3);
  await train(base({ ...o, out: part, resume: true }));
  for (const f of ['last/weights.bin', 'last/optimizer.bin', 'best/weights.bin']) {
    assert.ok(readFileSync(join(full, f)).equals(readFileSync(join(part, f))), `${f} identical`);
  }
  const strip = (l: Record<string, unknown>) => ({ ...l, seconds: 0, imagesPerSecond: 0 });
  assert.equal(lines(part).map(strip), lines(full).map(strip));
  // A changed setting is refused on resume.
  let cfgErr: unknown;
  await train(base({ ...o, out: part, resume: true, batch: 8 })).catch((e) => (cfgErr = e));
  assert.ok(cfgErr instanceof ConfigError && /batch differs/.test((cfgErr as Error).message), String(cfgErr));
});

test('NaN guard: a diverging run stops naming the epoch and step, suggests a lower lr, keeps the last good checkpoint', async () => {
  const out = join(root, 'nan');
  await train(base({ out, epochs: 1, stepsPerEpoch: 4 }));
  const snap = (d: string) => Object.fromEntries(readdirSync(join(out, d)).map((f) => [f, readFileSync(join(out, d, f)).toString('base64')]));
  const before = { last: snap('last'), best: snap('best'), log: readFileSync(join(out, 'log.jsonl'), 'utf8') };
  let err: unknown;
  await train(base({ out, epochs: 3, stepsPerEpoch: 4, lr: 1e10, resume: true })).catch((e) => (err = e));
  assert.ok(err instanceof TrainingDivergedError, String(err));
  const msg = (err as Error).message;
  assert.match(msg, /loss is (NaN|Infinity|-Infinity) at epoch 2, step \d+ of 4/);
  assert.match(msg, /lower the learning rate/);
  assert.match(msg, /last good checkpoint \(epoch 1\)/);
  assert.equal(snap('last'), before.last);
  assert.equal(snap('best'), before.best);
  assert.is(readFileSync(join(out, 'log.jsonl'), 'utf8'), before.log);
});

test('bad options: ConfigError naming the field and the range, nothing written', async () => {
  const cases: [Partial<TrainOptions>, RegExp][] = [
    [{ scheme: 'noise2noise' as 'supervised' }, /^scheme: must be one of supervised, n2n-thinning, n2n-frames, blind-spot/],
    [{ epochs: 0 }, /^epochs: must be in \[1, /],
    [{ patch: 48 }, /^patch: must be a multiple of 2 .* in \[2, 32\]/],
    [{ patch: 7 }, /^patch: must be a multiple of 2/],
    [{ channels: ['Cu'] }, /^channels: 'Cu' is not an element channel/],
    [{ loss: 'l2' as 'mse' }, /^loss: must be one of mse, mae, poisson/],
    [{ model: { arch: 'unet', depth: 2, filters: 8, inChannels: 3 } }, /^model.inChannels: must be 1/],
    [{ data: { kind: 'maps', channel: 'Au', train: [{ h: 16, w: 16, noisy: new Float32Array(256) }], val: [{ h: 16, w: 16, noisy: new Float32Array(256) }] }, scheme: 'n2n-frames' }, /^noise: 'fresh'|^scheme: n2n-frames with fixed noise needs at least 2 stored frames/],
    [{ data: { kind: 'maps', channel: 'Au', train: [{ h: 16, w: 16, noisy: new Float32Array(256) }], val: [{ h: 16, w: 16, noisy: new Float32Array(256) }] }, scheme: 'supervised', noise: 'fixed' }, /^scheme: supervised needs clean/],
    [{ data: { kind: 'maps', channel: 'Au', train: [{ h: 16, w: 16, noisy: new Float32Array(256).fill(0.5) }], val: [{ h: 16, w: 16, noisy: new Float32Array(256) }] }, scheme: 'n2n-thinning' }, /^data.train\[0\].noisy: binomial thinning needs integer counts/],
  ];
  for (const [o, re] of cases) {
    const out = join(root, 'bad');
    let err: unknown;
    await train(base({ out, ...o })).catch((e) => (err = e));
    assert.ok(err instanceof ConfigError, `${JSON.stringify(Object.keys(o))}: ${err}`);
    assert.match((err as Error).message, re);
    assert.not.ok(existsSync(out), 'nothing written');
  }
  // n2n-frames on stored counts without frames is refused even for a dataset with clean (fixed noise).
  const noFrames = join(root, 'ds-noframes');
  await generateDataset({ out: noFrames, count: 2, seed: 4, workers: 1, quiet: true, config: { samplesPerShard: 2, split: { train: 0.5, val: 0.5, test: 0 }, simulation: { phantom: { size: 32 }, geometry: { angles: '-60:60:60' } } } });
  let err: unknown;
  await train(base({ data: noFrames, out: join(root, 'bad'), scheme: 'n2n-frames', noise: 'fixed' })).catch((e) => (err = e));
  assert.match(String(err), /scheme: n2n-frames with fixed noise needs at least 2 stored frames .* or use noise 'fresh'/);
  // An existing run folder is refused without resume.
  let again: unknown;
  await train(base({ out: join(root, 'nan') })).catch((e) => (again = e));
  assert.match(String(again), /out: .* is not empty; use resume/);
});

test('in-memory maps without clean data (real-data case): n2n-thinning and blind-spot on the stored counts', async () => {
  const make = (k: number): MapItem => {
    const h = 32, w = 32, lam = new Float32Array(h * w);
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) lam[r * w + c] = Math.hypot(r - 16 - (k % 3), c - 15) < 11 ? 6 : 0.3;
    return { h, w, noisy: Float32Array.from(poissonNoise(lam, stream(8, k))), dose: 500 };
  };
  const data = { kind: 'maps' as const, channel: 'Pt', train: Array.from({ length: 12 }, (_, k) => make(k)), val: [make(100), make(101)] };
  for (const scheme of ['n2n-thinning', 'blind-spot'] as const) {
    const out = join(root, `maps-${scheme}`);
    const r = await train(base({ data, scheme, out, epochs: 3, stepsPerEpoch: 10, loss: 'poisson' }));
    const log = lines(out);
    assert.is(r.best.psnr, undefined, 'no clean reference: no PSNR');
    assert.ok(r.best.valLoss < log[0].valLoss, `${scheme}: val loss ${r.best.valLoss} vs untrained ${log[0].valLoss}`);
    const { model, metadata } = await loadModel(out);
    assert.equal(metadata.channels, ['Pt']);
    assert.is(metadata.noise, 'fixed');
    assert.is((metadata.spec as { outputActivation: string }).outputActivation, 'softplus');
    model.dispose();
  }
});

test('two data-parallel workers train too (averaged gradients)', async () => {
  const out = join(root, 'dp');
  const r = await train(base({ scheme: 'n2n-thinning', out, epochs: 2, stepsPerEpoch: 8, workers: 2 }));
  assert.ok(r.best.valLoss < lines(out)[0].valLoss);
  assert.is(JSON.parse(readFileSync(join(out, 'train-config.json'), 'utf8')).workers, 2);
});

test.run();
