import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEvaluation, evaluateShard, type EvaluationOptions } from '../harness/run.ts';
import { coreShellSource } from '../harness/testing.ts';
import { mergeShards, parseShard, canonicalBlocks } from './merge.ts';
import { METRICS } from './summary.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-report-'));
const src = await coreShellSource({ size: 12, nAngles: 9, count: 6, splits: ['test', 'test', 'val', 'test', 'test', 'train'], pixelSizeNm: 0.4 });
const base: Omit<EvaluationOptions, 'out'> = { data: src, methods: 'raw,gaussian', doses: [5, 50, 500], recon: 'sirt:10', quiet: true, bootstrap: 50, tunePhantoms: 1, rawExtraDecades: 1 };
const single = join(root, 'single');
await runEvaluation({ ...base, out: single });
async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try { await p; } catch (e) { assert.match((e as Error).message, re); return; }
  assert.unreachable(`expected an error matching ${re}`);
}
const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

test('parseShard: i/k with 0 <= i < k, else a message naming the field', () => {
  assert.equal(parseShard('2/3'), { index: 2, count: 3 });
  for (const bad of ['3/3', '1', '-1/2', 'a/b', '0/0']) assert.throws(() => parseShard(bad), /shard: expected i\/k/);
});

test('3 shards merged by report: results.csv, summary.json, report.html and plots identical to one process', async () => {
  const parts = [0, 1, 2].map((i) => join(root, `part-${i}`));
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) counts.push((await evaluateShard({ ...base, out: parts[i], shard: { index: i, count: 3 } })).computed);
  // the parts split the grid: 4 phantoms x (3 sweep doses x 2 methods + 1 dose above for raw and
  // for the reference, gaussian) = 32 blocks
  assert.is(counts.reduce((a, b) => a + b, 0), 32);
  assert.ok(counts.every((c) => c > 0 && c < 32), `${counts}`);
  // a shard's folder holds no summary: the parts only make sense together
  assert.not.ok(readdirSync(parts[0]).includes('summary.json'));
  await rejects(mergeShards(parts.slice(0, 2), join(root, 'bad')), /shard 2\/3 missing/);
  const merged = join(root, 'merged');
  await mergeShards([parts[2], parts[0], parts[1]], merged, { quiet: true });
  for (const f of ['results.csv', 'summary.json', 'report.html', 'eval.json', 'tuning.json', 'plots/psnr.svg', 'plots/dice.svg']) assert.is(read(merged, f), read(single, f), `${f} differs`);
  // an interrupted part is refused, naming it
  const csv = read(parts[1], 'results.csv').trim().split('\n');
  writeFileSync(join(parts[1], 'results.csv'), csv.filter((l) => !l.startsWith(csv[1].split(',').slice(0, 3).join(',') + ',')).join('\n') + '\n');
  await rejects(mergeShards(parts, join(root, 'bad2')), /part-1: shard 1\/3 is incomplete/);
});

test('canonical blocks: the sweep for every method, raw alone above it, phantom-major', () => {
  const b = canonicalBlocks({ phantoms: [3, 7], doses: [1, 10], rawDoses: [1, 10, 100], methods: ['raw', 'g'] });
  assert.equal(b, ['3|1|raw', '3|1|g', '3|10|raw', '3|10|g', '3|100|raw', '7|1|raw', '7|1|g', '7|10|raw', '7|10|g', '7|100|raw']);
  const s0 = canonicalBlocks({ phantoms: [3, 7], doses: [1, 10], rawDoses: [1, 10, 100], methods: ['raw', 'g'] }, { index: 0, count: 2 });
  assert.equal(s0, ['3|1|raw', '3|1|g', '3|100|raw', '7|10|raw', '7|10|g']);
  // a reference method runs above the sweep where its doses say, after raw
  const r = canonicalBlocks({ phantoms: [3], doses: [1, 10], rawDoses: [1, 10, 100, 1000], methods: ['raw', 'g', 'j'], reference: { method: 'g', doses: [1, 10, 100] } });
  assert.equal(r, ['3|1|raw', '3|1|g', '3|1|j', '3|10|raw', '3|10|g', '3|10|j', '3|100|raw', '3|100|g', '3|1000|raw']);
});

test('report.html as a microscopist reads it: headline sentence, units on every axis, scale bars, headline metric first', () => {
  const html = read(single, 'report.html');
  const head = /<p class="headline">(.*?)<\/p>/.exec(html)?.[1] ?? '';
  assert.match(head, /<b>gaussian<\/b> needs the least dose for the same quality: [\d.]+ times less for Au \(95 % interval [\d.]+ to [\d.]+\)/);
  assert.match(head, /than raw \(no denoising\), at equal PSNR/);
  // plots: the headline metric (psnr) first, each titled with its unit
  const plots = [...html.matchAll(/<h3 data-metric="([^"]+)">([^<]+)<\/h3>/g)];
  assert.is(plots[0][1], 'psnr');
  assert.ok(plots.length >= 6, `${plots.length} plots`);
  for (const [, metric, title] of plots) assert.match(title, new RegExp(`\\((${METRICS[metric].unit}|voxels)\\)$`), `${metric}: ${title}`);
  // every axis of every figure names a unit: y from METRICS, x the dose with angstrom
  for (const [, metric] of plots) {
    const svg = read(single, `plots/${metric}.svg`);
    assert.ok(svg.includes('dose (e\u207b/\u00c5\u00b2 per projection)'), `${metric}: x axis title`);
    assert.ok(svg.includes(`${METRICS[metric].label} (${METRICS[metric].unit})`), `${metric}: y axis title`);
  }
  assert.ok(read(single, 'plots/shell_error.svg').includes('Au core / Pd shell'), 'shell panel says which element is the core');
  // Dice bars clipped to [0, 1]
  const dice = JSON.parse(read(single, 'summary.json')).curves;
  assert.ok(dice.raw.Au.dice.mean.every((v: number) => v <= 1));
  // a scale bar and a colour bar in every slice panel (central slices and the orthogonal planes)
  const panels = html.split('<div class="panel">').slice(1);
  // phantom once per element (2) + 2 methods x 2 elements x 2 doses; then 3 planes x 2 elements x (phantom + 2 methods)
  assert.is(panels.length, 2 + 8 + 18);
  for (const p of panels) assert.ok(p.includes('class="scalebar"') && /class="sbl">[\d.]+ nm</.test(p) && p.includes('class="cbar"'), p.slice(0, 200));
  assert.match(html, /Plane: the central xy slice/);
  assert.match(html, /Normalisation: each panel runs from 0 \(black\)/);
  assert.ok(!/e\/A\^2/.test(html), 'doses in the HTML use the angstrom sign');
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
