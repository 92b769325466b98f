import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEvaluation } from './run.ts';
import { coreShellSource } from './testing.ts';

/** Every file the evaluation wrote that a thread count could change, by name. */
function outputs(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of ['results.csv', 'summary.json', 'warnings.json', 'tuning.json']) files[f] = readFileSync(join(dir, f), 'latin1');
  for (const f of readdirSync(join(dir, 'slices')).sort()) files[`slices/${f}`] = readFileSync(join(dir, 'slices', f), 'latin1');
  return files;
}

test('concurrent (phantom, dose) groups: results.csv, summary.json, warnings.json and slices byte-identical for 1, 2 and 3 block workers', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nanodose-eval-threads-'));
  try {
    // Au/Pt: haadf-quant warns on every block, so the warnings path runs through the workers too
    const src = await coreShellSource({ size: 12, nAngles: 9, count: 4, splits: ['test', 'val'], elements: [{ symbol: 'Au', Z: 79 }, { symbol: 'Pt', Z: 78 }] });
    const opts = { data: src, methods: 'raw,gaussian,fused:3,haadf-quant', doses: [20, 200], recon: 'sirt:10', quiet: true, bootstrap: 20, tunePhantoms: 1, jointTunePhantoms: 0, rawExtraDecades: 1, report: false };
    const runs: Record<string, string>[] = [];
    for (const k of [1, 2, 3]) {
      const out = join(root, `k${k}`);
      const r = await runEvaluation({ ...opts, out, threads: 3, blockWorkers: k });
      assert.is(r.blockWorkers, k, `${k} block workers used`);
      assert.is(r.computed, 2 * (2 * 4 + 1 * 2), 'every block computed');
      runs.push(outputs(out));
    }
    const names = Object.keys(runs[0]);
    assert.ok(names.length > 4 + 8, `slices written (${names.length} files)`);
    assert.match(runs[0]['warnings.json'], /ill-conditioned/);
    for (const [i, k] of [[1, 2], [2, 3]]) {
      assert.equal(Object.keys(runs[i]), names, `${k} workers: the same files`);
      for (const f of names) assert.ok(runs[i][f] === runs[0][f], `${f} differs between 1 and ${k} block workers`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a model applied outside its training dose range: every block at such a dose records the warning in warnings.json, the terminal shows the method\'s first warning once', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nanodose-eval-doserange-'));
  const warn = console.warn;
  const said: string[] = [];
  try {
    (await import('@tensorflow/tfjs')).enableProdMode();
    const { buildModel, saveModel, validateModelSpec, nanodoseVersion } = await import('../../models/index.ts');
    const spec = validateModelSpec({ arch: 'tiny' });
    const dir = join(root, 'model');
    await saveModel(buildModel(spec), dir, { spec, normalisation: { kind: 'mean', floor: 1e-3 }, scheme: 'supervised', doseRange: [100, 1000], channels: ['Au'], nanodoseVersion: nanodoseVersion() });
    const src = await coreShellSource({ size: 12, nAngles: 9, count: 3, splits: ['test', 'val'] });
    console.warn = (...a: unknown[]) => { said.push(a.map(String).join(' ')); };
    const out = join(root, 'eval');
    await runEvaluation({ data: src, methods: `raw,m=model:${dir}`, doses: [20, 200, 5000], recon: 'sirt:5', quiet: false, bootstrap: 10, tunePhantoms: 1, rawExtraDecades: 0, report: false, out, threads: 2, blockWorkers: 2 });
    console.warn = warn;
    const w = JSON.parse(readFileSync(join(out, 'warnings.json'), 'utf8')) as Record<string, string[]>;
    const keys = Object.keys(w).filter((k) => w[k].some((x) => /applied outside that range/.test(x)));
    const doses = keys.map((k) => Number(k.split('|')[1]));
    assert.ok(keys.length >= 2 && doses.filter((d) => d === 20).length === doses.filter((d) => d === 5000).length, `warned blocks: ${keys.join(', ')}`);
    assert.ok(!doses.includes(200), `no warning at 200 (inside the range): ${keys.join(', ')}`);
    assert.ok(keys.every((k) => k.endsWith('|m')), keys.join(', '));
    assert.is(said.filter((l) => /method m: trained on inputs at 100-1.00e\+3/.test(l)).length, 1, said.join('\n'));
  } finally {
    console.warn = warn;
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
