import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDatasetConfig } from '../../datasets/index.ts';
import { PRESETS, getPreset } from './presets.ts';
import { runPipeline } from './run.ts';

test('every preset has a valid dataset config and a dose sweep of at least 2 decades (demo, paper)', () => {
  for (const p of Object.values(PRESETS)) {
    const cfg = validateDatasetConfig(p.dataset.config);
    assert.ok(cfg.simulation.phantom.size >= 32, p.name);
    const [lo, hi] = p.eval.doses.split(':').map(Number);
    if (p.name === 'demo') assert.ok(hi / lo >= 100, 'demo: 2 decades');
    if (p.name === 'paper') {
      assert.ok(hi / lo >= 1000, 'paper: 3 decades');
      assert.is(cfg.simulation.phantom.size, 128);
      assert.is(cfg.simulation.geometry.angles, '-70:70:2');
    }
  }
  assert.throws(() => getPreset('nope'), /unknown preset 'nope'; allowed: demo, paper, protocols, tiny/);
});

test('the tiny preset end to end: dataset, two trained models, report files, models beat raw on the test split', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nanodose-run-'));
  try {
    const r = await runPipeline({ preset: 'tiny', out, quiet: true, backend: 'wasm' });
    for (const f of ['data/manifest.json', 'report/results.csv', 'report/summary.json', 'report/report.html', 'pipeline.json']) assert.ok(existsSync(join(out, f)), `missing ${f}`);
    const plots = readdirSync(join(out, 'report', 'plots'));
    assert.ok(plots.some((f) => f.endsWith('.svg')) && plots.some((f) => f.endsWith('.png')), `plots: ${plots}`);
    for (const m of ['unet-supervised', 'unet-n2n']) {
      assert.ok(existsSync(join(out, 'models', m, 'best', 'model.json')), `${m}: best checkpoint`);
      assert.ok(existsSync(join(out, 'models', m, 'log.jsonl')), `${m}: training log`);
    }
    const html = readFileSync(join(out, 'report', 'report.html'), 'utf8');
    for (const m of ['raw', 'gaussian', 'unet-supervised', 'unet-n2n']) assert.ok(html.includes(m), `report names ${m}`);
    // Trained models must beat raw: mean reconstruction PSNR over test phantoms and doses, per element.
    for (const m of ['unet-supervised', 'unet-n2n']) for (const e of ['Au', 'Ag']) {
      const mq = r.meanQuality[m][e], raw = r.meanQuality.raw[e];
      assert.ok(mq > raw, `${m} ${e}: mean ${r.drfMetric} ${mq.toFixed(2)} should beat raw ${raw.toFixed(2)}`);
    }
    assert.ok(r.headline.some((h) => h.method === 'unet-supervised'), 'headline lists the model');
    // A second run reuses everything: nothing is recomputed.
    const again = await runPipeline({ preset: 'tiny', out, quiet: true, backend: 'wasm' });
    assert.equal(again.meanQuality, r.meanQuality);
    assert.equal(again.trained, []);
    assert.is(again.evalComputed, 0);
    assert.equal(r.trained, ['unet-supervised', 'unet-n2n']);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
