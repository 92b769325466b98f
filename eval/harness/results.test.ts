/**
 * results.csv's block appends (results.ts): a kill inside the append of one block leaves the
 * append record (results.csv.pending, written before the block's bytes) and part of the block (here
 * whole lines of it, which a line repair alone would keep); resuming drops the whole block and
 * recomputes it, to a file byte-identical to an uninterrupted run's.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEvaluation } from './run.ts';
import { coreShellSource } from './testing.ts';
import { appendBlock, openResults, pendingPath, CSV_HEADER } from './results.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-results-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('appendBlock: the rows follow the header, no record is left behind', () => {
  const p = join(root, 'a.csv');
  assert.equal(openResults(p), []);
  appendBlock(p, [{ phantom: 1, dose: 10, method: 'raw', element: 'Au', metric: 'psnr', value: 12.5 }, { phantom: 1, dose: 10, method: 'a,b', element: 'Au', metric: 'ssim', value: NaN }]);
  assert.is(readFileSync(p, 'utf8'), `${CSV_HEADER}\n1,10,raw,Au,psnr,12.5\n1,10,"a,b",Au,ssim,\n`);
  assert.not.ok(existsSync(pendingPath(p)));
  assert.is(openResults(p).length, 2);
});

test('a kill inside a block append (record left, whole lines of the block written): resume gives the uninterrupted bytes', async () => {
  const src = await coreShellSource({ size: 8, nAngles: 5, count: 3, splits: ['test', 'test', 'test'] });
  const opts = { data: src, methods: 'raw,gaussian', doses: [10, 100], recon: 'sirt:3', quiet: true, report: false, bootstrap: 10 };
  const ref = join(root, 'ref');
  await runEvaluation({ ...opts, out: ref });
  const want = readFileSync(join(ref, 'results.csv'), 'utf8');
  const lines = want.split('\n').slice(1, -1);
  // blocks: runs of rows with one (phantom, dose, method)
  const key = (l: string) => l.split(',').slice(0, 3).join(',');
  const starts = lines.map((l, i) => (i === 0 || key(l) !== key(lines[i - 1]) ? i : -1)).filter((i) => i >= 0);
  assert.ok(starts.length >= 6, `${starts.length} blocks`);
  for (const j of [2, starts.length - 1]) {
    const end = j + 1 < starts.length ? starts[j + 1] : lines.length;
    assert.ok(end - starts[j] >= 3, `block ${j} has ${end - starts[j]} rows`);
    const dir = join(root, `killed-${j}`);
    cpSync(ref, dir, { recursive: true });
    const before = [CSV_HEADER, ...lines.slice(0, starts[j])].join('\n') + '\n';
    // the state a kill leaves: the record of block j's append, then 2 whole lines of it on disk
    writeFileSync(pendingPath(join(dir, 'results.csv')), JSON.stringify({ size: Buffer.byteLength(before), bytes: 0 }));
    writeFileSync(join(dir, 'results.csv'), before + lines.slice(starts[j], starts[j] + 2).join('\n') + '\n');
    const r = await runEvaluation({ ...opts, out: dir });
    assert.is(r.computed, starts.length - j, `block ${j}: the incomplete block and those after it are computed`);
    assert.is(readFileSync(join(dir, 'results.csv'), 'utf8'), want, `block ${j}: results.csv byte-identical to the uninterrupted run's`);
    assert.not.ok(existsSync(pendingPath(join(dir, 'results.csv'))), 'the record is gone');
  }
});

test('a damaged record is refused in one line naming it', () => {
  const p = join(root, 'b.csv');
  writeFileSync(p, `${CSV_HEADER}\n`);
  writeFileSync(pendingPath(p), '{"size": "x"');
  assert.throws(() => openResults(p), (e: Error) => /b\.csv\.pending: not a nanodose append record/.test(e.message) && !e.message.includes('\n'));
});

test.run();
