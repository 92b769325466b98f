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

test.run();
