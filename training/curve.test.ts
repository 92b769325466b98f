import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '../datasets/index.ts';
import { CURVE_COLUMNS, CURVE_DRAWINGS, learningCurveSvg, parseLearningCurveCsv, writeLearningCurve, writeLearningCurveCsv, type EpochLog } from './curve.ts';
import { train } from './index.ts';

// A log with the awkward cases: epoch 0 without a train loss or lr, values that print with many digits.
const log: EpochLog[] = [
  { epoch: 0, trainLoss: null, valLoss: 0.123456789012345, heldoutDeviance: 1.5, psnr: 20.1, ssim: 0.51, noisyPsnr: 19.9, lr: null, imagesPerSecond: null, seconds: 1, step: 0 },
  { epoch: 1, trainLoss: 0.1 / 3, valLoss: 0.05, heldoutDeviance: 1.25, psnr: 24.7, ssim: 0.7, noisyPsnr: 19.9, lr: 1e-3, imagesPerSecond: 10, seconds: 2, step: 15 },
  { epoch: 2, trainLoss: 0.031, valLoss: 0.0525, heldoutDeviance: 1.26, psnr: 24.5, ssim: 0.69, noisyPsnr: 19.9, lr: 5.05e-4, imagesPerSecond: 11, seconds: 2, step: 30 },
];

test('learning-curve.csv holds exactly the log\'s numbers, and the SVG and PNG are written beside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nanodose-curve-'));
  try {
    const err = await writeLearningCurve(dir, log, 'supervised (unet)', 1);
    assert.is(err, undefined);
    for (const f of ['learning-curve.csv', 'learning-curve.svg', 'learning-curve.png']) assert.ok(existsSync(join(dir, f)), f);
    const rows = parseLearningCurveCsv(readFileSync(join(dir, 'learning-curve.csv'), 'utf8'));
    assert.is(rows.length, log.length);
    rows.forEach((r, i) => {
      for (const [col, key] of CURVE_COLUMNS) assert.is(r[col], log[i][key] ?? undefined, `epoch ${log[i].epoch} ${col}`);
    });
    const png = readFileSync(join(dir, 'learning-curve.png'));
    assert.equal([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'PNG signature');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the SVG marks the best epoch, draws the noisy input as a line and plots SSIM and the criterion', async () => {
  const svg = await learningCurveSvg(log, 'n2n-thinning (unet)', 1);
  assert.match(svg, 'best epoch 1');
  assert.match(svg, 'noisy input');
  assert.match(svg, 'validation SSIM');
  assert.match(svg, 'held-out Poisson deviance');
  assert.not.match(svg, '0.5</text>', 'no fractional epoch ticks');
  // Loss values spanning a factor < 30: linear axis; spanning > 30: log axis, said in the title.
  assert.not.match(svg, 'log axis');
  const wide = log.map((e, i) => ({ ...e, valLoss: 10 ** (3 - 2 * i) }));
  assert.match(await learningCurveSvg(wide, 't', 1), 'log axis');
});

test('the per-epoch CSV write removes an older drawing, so a drawing never shows fewer epochs than the CSV', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nanodose-curve-'));
  try {
    assert.is(await writeLearningCurve(dir, log.slice(0, 2), 't', 1), undefined);
    for (const f of CURVE_DRAWINGS) assert.ok(existsSync(join(dir, f)), f);
    writeLearningCurveCsv(dir, log);
    assert.is(parseLearningCurveCsv(readFileSync(join(dir, 'learning-curve.csv'), 'utf8')).length, 3);
    for (const f of CURVE_DRAWINGS) assert.not.ok(existsSync(join(dir, f)), `${f} removed`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train() draws the curve once when it ends: after an error too (the logged epochs), and the resumed run redraws all of them', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nanodose-curve-train-'));
  try {
    const ds = join(root, 'ds');
    await generateDataset({ out: ds, count: 4, seed: 3, workers: 1, quiet: true, config: { samplesPerShard: 4, split: { train: 0.5, val: 0.5, test: 0 }, simulation: { phantom: { size: 32 }, geometry: { angles: '-60:60:60' } } } });
    const out = join(root, 'model');
    const o = { data: ds, scheme: 'supervised' as const, out, model: { arch: 'tiny' }, epochs: 3, stepsPerEpoch: 1, batch: 2, patch: 8, valProjections: 1, workers: 1, backend: 'wasm' as const, quiet: true, seed: 1 };
    const drawnEpochs: number[] = [];
    let err: unknown;
    await train({ ...o, onEpoch: (e) => {
      drawnEpochs.push(CURVE_DRAWINGS.filter((f) => existsSync(join(out, f))).length);
      if (e.epoch === 2) throw new Error('simulated crash');
    } }).catch((e) => (err = e));
    assert.match(String(err instanceof Error ? err.stack : err), /simulated crash/, String(err));
    assert.equal(drawnEpochs, [0, 0], 'no drawing while the run goes on');
    for (const f of CURVE_DRAWINGS) assert.ok(existsSync(join(out, f)), `${f} drawn after the error`);
    // each drawing is the one of exactly the log's epochs at that moment, with the best checkpoint's epoch marked
    const expected = () => {
      const logged = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochLog);
      const best = JSON.parse(readFileSync(join(out, 'best', 'model.json'), 'utf8')).userDefinedMetadata.nanodose.epoch as number;
      return learningCurveSvg(logged, 'supervised (tiny)', best);
    };
    const svgAfterCrash = readFileSync(join(out, 'learning-curve.svg'), 'utf8');
    assert.is(svgAfterCrash, await expected(), 'drawing after the crash: epochs 0-2');
    await train({ ...o, resume: true });
    const rows = parseLearningCurveCsv(readFileSync(join(out, 'learning-curve.csv'), 'utf8'));
    assert.equal(rows.map((r) => r.epoch), [0, 1, 2, 3]);
    const svg = readFileSync(join(out, 'learning-curve.svg'), 'utf8');
    assert.is.not(svg, svgAfterCrash, 'redrawn with epoch 3');
    assert.is(svg, await expected(), 'drawing after the resumed run: epochs 0-3');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
