/**
 * train() gives the same weights whatever the thread count: each batch is cut into the config's
 * fixed `shards` (default 2, recorded in train-config.json and the model's metadata), and the
 * shards' gradients are summed in shard order, so 1, 2 and 3 workers (3 oversubscribes this
 * machine's cores; it uses 2, the shard count) give bit-identical losses and weights.
 * Here because train() is training/ and the thread rule is models/parallel: scripts/ may use both.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '../../datasets/index.ts';
import { train } from '../../training/index.ts';

test('train: weights and losses bit-identical for 1, 2 and 3 workers at the default 2 shards', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nanodose-train-threads-'));
  try {
    const ds = join(root, 'ds');
    await generateDataset({ out: ds, count: 4, seed: 5, workers: 1, quiet: true, config: { samplesPerShard: 4, split: { train: 0.5, val: 0.5, test: 0 }, simulation: { phantom: { size: 32 }, geometry: { angles: '-60:60:30' }, acquisition: { dose: 3000 } } } });
    const runs: { weights: Buffer; log: number[]; cfg: { shards: number; workers: number }; meta: { shards?: number } }[] = [];
    for (const workers of [1, 2, 3]) {
      const out = join(root, `w${workers}`);
      await train({ data: ds, scheme: 'supervised', out, model: { arch: 'unet', depth: 2, filters: 4 }, epochs: 1, stepsPerEpoch: 3, batch: 4, patch: 32, lr: 3e-3, workers, backend: 'wasm', quiet: true, valProjections: 2, seed: 1 });
      const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { trainLoss: number | null; valLoss: number });
      runs.push({
        weights: readFileSync(join(out, 'last', 'weights.bin')),
        log: log.flatMap((e) => [e.trainLoss ?? -1, e.valLoss]),
        cfg: JSON.parse(readFileSync(join(out, 'train-config.json'), 'utf8')),
        meta: JSON.parse(readFileSync(join(out, 'last', 'model.json'), 'utf8')).userDefinedMetadata.nanodose,
      });
    }
    assert.is(runs[0].cfg.shards, 2, 'the default shard count is recorded');
    assert.is(runs[0].meta.shards, 2, 'and in the model');
    assert.is(runs[0].cfg.workers, 1);
    assert.is(runs[2].cfg.workers, 2, '3 threads asked, 2 workers used: no more workers than shards');
    assert.ok(runs[0].log[2] !== runs[0].log[1] || runs[0].log[0] > 0, 'an epoch was trained');
    for (const k of [1, 2]) {
      assert.equal(runs[k].log, runs[0].log, `losses with ${k + 1} workers`);
      assert.ok(runs[k].weights.equals(runs[0].weights), `weights with ${k + 1} workers differ from 1 worker's`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
