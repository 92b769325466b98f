/**
 * The self-supervised checkpoint criterion on the demo (issue 14): the demo's n2n-thinning U-Net
 * exactly as `npm start` trains it (scripts/pipeline/presets.ts 'demo', unet-n2n: depth 4, 16
 * filters, noise 'fixed' on the stored counts, lr 2e-3 cosine-annealed, 12 epochs x 25 steps x 8
 * patches) on the demo's dataset (64 phantoms of 64^3, 29 tilts, 300 e/A^2, the same seed). The
 * checkpoint is chosen by the held-out thinned-count Poisson deviance (training/criterion.ts: input
 * fraction 0.8, 2 splits, 32 validation projections), which needs no clean data; the run also logs
 * the clean map PSNR of every epoch on the same projections, which the criterion never sees.
 * Asserted: the chosen epoch's clean PSNR is within 0.3 dB of the best epoch's, and the clean PSNR
 * moved by more than that over the run (so the test could fail: the previous criterion, one
 * half/half split over 8 projections, picked epoch 12 at 17.26 dB against epoch 9's 17.73 dB on its 8 projections).
 * About 150 s of CPU (2 data-parallel workers) for the training.
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
const cpu0 = process.cpuUsage();
test.after(() => { const c = process.cpuUsage(cpu0); console.log(`  criterion-demo: ${((c.user + c.system) / 1e6).toFixed(0)} s CPU (every thread of this process, the data-parallel workers included)`); });

test("on the demo's data and n2n U-Net, the held-out deviance picks an epoch within 0.3 dB of the best clean-PSNR epoch", async () => {
  const demo = getPreset('demo');
  const n2n = demo.train.find((s) => s.name === 'unet-n2n')!;
  const ds = join(root, 'ds');
  // The demo's dataset (all 64 phantoms, its config and seed) and the demo's training options, unchanged.
  await generateDataset({ out: ds, count: demo.dataset.count, seed: demo.dataset.seed, quiet: true, config: demo.dataset.config });
  const out = join(root, 'n2n');
  const r = await train({ ...(n2n.options as Partial<TrainOptions>), data: ds, scheme: n2n.scheme, out, backend: 'wasm', quiet: true });
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochLog);
  const cfg = JSON.parse(readFileSync(join(out, 'train-config.json'), 'utf8'));
  assert.is(cfg.criterion, 'heldout-deviance');
  assert.is(cfg.stepsPerEpoch, 25, "the demo's budget");
  assert.is(cfg.epochs, 12);
  const byDev = log.reduce((b, e) => (e.heldoutDeviance! < b.heldoutDeviance! ? e : b));
  assert.is(r.bestEpoch, byDev.epoch, 'the checkpoint is the lowest held-out deviance');
  const byPsnr = log.reduce((b, e) => (e.psnr! > b.psnr! ? e : b));
  // The worst TRAINED epoch (epoch 0, the untrained network, would make the range trivially large).
  const worst = log.filter((e) => e.epoch > 0).reduce((b, e) => (e.psnr! < b.psnr! ? e : b));
  console.log(`  held-out deviance picks epoch ${byDev.epoch} (clean PSNR ${byDev.psnr!.toFixed(2)} dB); best clean-PSNR epoch ${byPsnr.epoch} (${byPsnr.psnr!.toFixed(2)} dB); PSNR range over the run ${worst.psnr!.toFixed(2)}-${byPsnr.psnr!.toFixed(2)} dB; per epoch ${log.map((e) => `${e.epoch}: ${e.psnr!.toFixed(2)} dB / ${e.heldoutDeviance!.toFixed(5)}`).join(', ')}`);
  assert.ok(byPsnr.psnr! - worst.psnr! > 0.3, 'the clean PSNR must move by more than 0.3 dB between trained epochs, or the check means nothing');
  assert.ok(byPsnr.psnr! - byDev.psnr! <= 0.3, `the chosen epoch ${byDev.epoch} is ${(byPsnr.psnr! - byDev.psnr!).toFixed(2)} dB below the best clean-PSNR epoch ${byPsnr.epoch}`);
});

test.run();
