import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CURVE_COLUMNS, learningCurveSvg, parseLearningCurveCsv, writeLearningCurve, type EpochLog } from './curve.ts';

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

test.run();
