/**
 * The self-supervised checkpoint criterion on the demo (issue 14): the demo's n2n-thinning U-Net
 * (scripts/pipeline/presets.ts 'demo', unet-n2n: depth 4, 16 filters, noise 'fixed' on the stored
 * counts, lr 2e-3 cosine-annealed, 12 epochs) trained on the demo's data (64^3 phantoms, 29 tilts,
 * 300 e/A^2) with fewer phantoms and fewer steps per epoch so the test runs in about a minute. The
 * checkpoint is chosen by the held-out thinned-half Poisson deviance (training/criterion.ts), which
 * needs no clean data; the run also logs the clean map PSNR of every epoch, which the criterion
 * never sees. Asserted: the chosen epoch's clean PSNR is within 0.3 dB of the best epoch's, and the
 * clean PSNR moved by more than that over the run (so the test could fail: picking epoch 0, or an
 * early epoch as the noisy validation loss did in the demo before, 16.78 dB against 19.26 dB, is
 * more than 0.3 dB off).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '../datasets/index.ts';
// The demo's settings as plain data (the pipeline preset), so this test follows the demo when it changes.
import { getPreset } from '../scripts/pipeline/presets.ts';
import { train, type TrainOptions } from './index.ts';
import type { EpochLog } from './curve.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-criterion-demo-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test("on the demo's data and n2n U-Net, the held-out deviance picks an epoch within 0.3 dB of the best clean-PSNR epoch", async () => {
  const demo = getPreset('demo');
  const n2n = demo.train.find((s) => s.name === 'unet-n2n')!;
  const ds = join(root, 'ds');
  // 24 of the demo's 64 phantoms (same config and seed): 70 / 15 / 15 % split as in the demo.
  await generateDataset({ out: ds, count: 24, seed: demo.dataset.seed, workers: 1, quiet: true, config: { ...demo.dataset.config, samplesPerShard: 24 } });
  const out = join(root, 'n2n');
  const r = await train({ ...(n2n.options as Partial<TrainOptions>), data: ds, scheme: n2n.scheme, out, stepsPerEpoch: 8, workers: 1, backend: 'wasm', quiet: true });
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochLog);
  const cfg = JSON.parse(readFileSync(join(out, 'train-config.json'), 'utf8'));
  assert.is(cfg.criterion, 'heldout-deviance');
  const byDev = log.reduce((b, e) => (e.heldoutDeviance! < b.heldoutDeviance! ? e : b));
  assert.is(r.bestEpoch, byDev.epoch, 'the checkpoint is the lowest held-out deviance');
  const byPsnr = log.reduce((b, e) => (e.psnr! > b.psnr! ? e : b));
  const worst = log.reduce((b, e) => (e.psnr! < b.psnr! ? e : b));
  console.log(`  held-out deviance picks epoch ${byDev.epoch} (clean PSNR ${byDev.psnr!.toFixed(2)} dB); best clean-PSNR epoch ${byPsnr.epoch} (${byPsnr.psnr!.toFixed(2)} dB); PSNR range over the run ${worst.psnr!.toFixed(2)}-${byPsnr.psnr!.toFixed(2)} dB; per epoch ${log.map((e) => `${e.epoch}: ${e.psnr!.toFixed(2)} dB / ${e.heldoutDeviance!.toFixed(5)}`).join(', ')}`);
  assert.ok(byPsnr.psnr! - worst.psnr! > 0.3, 'the clean PSNR must move by more than 0.3 dB over the run, or the check means nothing');
  assert.ok(byPsnr.psnr! - byDev.psnr! <= 0.3, `the chosen epoch ${byDev.epoch} is ${(byPsnr.psnr! - byDev.psnr!).toFixed(2)} dB below the best clean-PSNR epoch ${byPsnr.epoch}`);
});

test.run();
