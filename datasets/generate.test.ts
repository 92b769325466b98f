import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, type GenerateOptions } from './generate.ts';
import { readManifest } from './manifest.ts';
import { openDataset, type DatasetReader } from './reader.ts';
import { assignSplit, jobFiles, parseShardSpec, shardFiles } from './shards.ts';

const SOURCE = new URL('./testing/synthetic-source.ts', import.meta.url).href;
const root = mkdtempSync(join(tmpdir(), 'nanodose-gen-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const cfg = (sps: number, extra: object = {}) => ({ samplesPerShard: sps, simulation: { size: 6, nAngles: 3, frames: 2 }, store: { phantom: true, clean: true, noisy: true, frames: true }, ...extra });
const gen = (o: Partial<GenerateOptions> & { out: string }) => generateDataset({ count: 8, seed: 7, quiet: true, workers: 1, source: SOURCE, ...o });

async function sameSamples(a: DatasetReader, b: DatasetReader, n: number): Promise<void> {
  assert.equal(a.indices(), b.indices());
  for (let i = 0; i < n; i++) {
    const x = await a.readSample(i, ['phantom', 'clean', 'noisy', 'frames']);
    const y = await b.readSample(i, ['phantom', 'clean', 'noisy', 'frames']);
    for (const k of ['phantom', 'clean', 'noisy', 'frames'] as const) {
      const bx = Buffer.from(x[k]!.buffer, x[k]!.byteOffset, x[k]!.byteLength);
      const by = Buffer.from(y[k]!.buffer, y[k]!.byteOffset, y[k]!.byteLength);
      assert.ok(bx.equals(by), `sample ${i} ${k} differs`);
    }
    assert.equal(x.params, y.params);
    assert.is(x.split, y.split);
    assert.is(x.dosePerProjection, y.dosePerProjection);
  }
}

test('shard arithmetic: files cover every sample once; jobs split files contiguously', () => {
  const files = shardFiles(23, 5);
  assert.equal(files.map((f) => [f.first, f.count]), [[0, 5], [5, 5], [10, 5], [15, 5], [20, 3]]);
  for (const k of [1, 2, 3, 5, 7]) {
    const got = Array.from({ length: k }, (_, i) => jobFiles(files, [i, k])).flat();
    assert.equal(got.map((f) => f.index), [0, 1, 2, 3, 4], `k=${k}`);
  }
  assert.equal(parseShardSpec('2/5'), [2, 5]);
  assert.throws(() => parseShardSpec('5/5'), /shard: job index i must be in \[0, 4\]/);
  assert.throws(() => parseShardSpec('a/b'), /shard: must look like i\/k/);
});

test('split fractions: deterministic and close to the configured fractions', () => {
  const fr = { train: 0.6, val: 0.3, test: 0.1 };
  const n = 4000;
  const c: Record<string, number> = { train: 0, val: 0, test: 0 };
  for (let i = 0; i < n; i++) c[assignSplit(3, i, fr)]++;
  for (const k of ['train', 'val', 'test'] as const) {
    const p = fr[k], sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(c[k] / n - p) < 4 * sd, `${k}: ${c[k] / n} vs ${p}`);
  }
  assert.is(assignSplit(3, 17, fr), assignSplit(3, 17, fr));
});

test('shard invariance: 1 shard of 8 = 2 shards of 4 = two jobs = two workers, byte for byte per sample', async () => {
  const one = join(root, 'one'), two = join(root, 'two'), jobs = join(root, 'jobs'), thr = join(root, 'thr');
  await gen({ out: one, config: cfg(8) });
  await gen({ out: two, config: cfg(4) });
  await gen({ out: jobs, config: cfg(4), shard: '1/2' });
  assert.is(readManifest(jobs).finishedShards, 1);
  await gen({ out: jobs, config: cfg(4), shard: '0/2', resume: true });
  await gen({ out: thr, config: cfg(2), workers: 2 });
  const m = readManifest(two);
  assert.is(m.shards.length, 2);
  assert.ok(m.shards.every((s) => /^[0-9a-f]{64}$/.test(s.sha256 ?? '')));
  assert.is(m.splits.train + m.splits.val + m.splits.test, 8);
  const [a, b, c, d] = await Promise.all([one, two, jobs, thr].map((p) => openDataset(p)));
  assert.is(a.count, 8);
  await sameSamples(a, b, 8);
  await sameSamples(a, c, 8);
  await sameSamples(a, d, 8);
  // splits come from (seed, index)
  for (const i of a.indices()) assert.is(a.meta(i).split, assignSplit(7, i, { train: 0.8, val: 0.1, test: 0.1 }));
  // a single shard file opens through the same API
  const s = await openDataset(join(two, 'shard-00001.h5'));
  assert.equal(s.indices(), [4, 5, 6, 7]);
  await Promise.all([a, b, c, d, s].map((r) => r.close()));
});

test('reader: random patches equal the matching window of the stored projection', async () => {
  const r = await openDataset(join(root, 'two'));
  const batch = await r.randomPatches({ count: 5, size: 4, seed: 1, step: 0, channels: [0, 2] });
  assert.equal(batch.shape, [5, 2, 4, 4]);
  const U = r.shape.nCols, N = r.shape.size, A = r.angles.length;
  for (let b = 0; b < 5; b++) {
    const o = batch.origins[b];
    const s = await r.readSample(o.index, ['clean', 'noisy']);
    for (const [k, ch] of [0, 2].entries()) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
      const src = ((ch * A + o.angle) * N + o.row + y) * U + o.col + x;
      const dst = ((b * 2 + k) * 4 + y) * 4 + x;
      assert.is(batch.clean![dst], s.clean![src]);
      assert.is(batch.noisy![dst], s.noisy![src]);
    }
    assert.is(batch.dose[b], s.dosePerProjection);
  }
  const again = await r.randomPatches({ count: 5, size: 4, seed: 1, step: 0, channels: [0, 2] });
  assert.equal(again.origins, batch.origins);
  const tr = await r.randomPatches({ count: 6, size: 3, seed: 2, split: 'train' });
  for (const o of tr.origins) assert.is(r.meta(o.index).split, 'train');
  await r.close();
});

test('refusals: existing output, bad config naming the field, resume with other settings', async () => {
  const one = join(root, 'one');
  await gen({ out: one, config: cfg(8) }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /out: .* already exists .*--resume.*--overwrite/));
  await gen({ out: join(root, 'bad1'), config: cfg(0) }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /^samplesPerShard: must be .*\[1, 100000\]/));
  await gen({ out: join(root, 'bad2'), config: { split: { train: 0.5, val: 0.1, test: 0.1 } } }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /^split: train \+ val \+ test must be 1/));
  await gen({ out: join(root, 'bad3'), config: { compression: { phantom: 12 } } }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /^compression\.phantom: must be in \[0, 9\]/));
  await gen({ out: join(root, 'bad3'), config: { compression: { counts: 'lz4' } } }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /^compression\.counts: must be one of scaleoffset, gzip, none/));
  await gen({ out: join(root, 'bad4'), config: { store: { noisy: 'yes' } } }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /^store\.noisy: must be true or false/));
  await gen({ out: join(root, 'bad5'), count: 0 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /^count: /));
  await gen({ out: one, config: cfg(8), seed: 8, resume: true }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /resume: .*different seed/));
  assert.not.ok(existsSync(join(root, 'bad1')), 'nothing written on a config error');
  // --overwrite replaces it
  const m = await gen({ out: one, config: cfg(8), overwrite: true });
  assert.is(m.finishedShards, 1);
  // a folder holding foreign files is not wiped by --overwrite
  const foreign = join(root, 'foreign');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'thesis.tex'), 'x');
  await gen({ out: foreign, overwrite: true }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /not part of a nanodose dataset/));
  assert.ok(existsSync(join(foreign, 'thesis.tex')));
});

test('killed mid-run and resumed equals uninterrupted; a damaged finished shard is redone', async () => {
  const dir = join(root, 'killed');
  const opts = { out: dir, count: 8, seed: 7, workers: 1, config: cfg(2, { simulation: { size: 6, nAngles: 3, frames: 2 } }) };
  // The child halts when asked for sample 2, the first of the second shard: shard 0 is finished (and the
  // manifest says so: one worker finishes shards in order), shard 1 is open under its temporary name.
  const child = spawn(process.execPath, [new URL('./testing/preload.mjs', import.meta.url).pathname, new URL('./testing/generate-child.ts', import.meta.url).pathname, JSON.stringify(opts)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NANODOSE_TEST_HALT_AT: '2' },
  });
  // kill on the child's line, not after a sleep
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d; if (out.includes('halted at sample 2\n')) resolve(); });
    child.once('exit', (code) => reject(new Error(`generate child exited (${code}) before halting: ${out}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const files = readdirSync(dir);
  assert.ok(files.includes('shard-00000.h5'), `finished shard present: ${files}`);
  assert.ok(files.some((f) => f.startsWith('.tmp-')), `an unfinished temporary shard is left: ${files}`);
  assert.not.ok(files.includes('shard-00001.h5'), 'no unfinished shard under a final name');
  assert.is(readManifest(dir).finishedShards, 1);
  // damage a finished shard's bytes: resume must notice by sha256 and redo it
  const p0 = join(dir, 'shard-00000.h5');
  const bytes = readFileSync(p0);
  bytes[bytes.length - 100] ^= 0xff;
  writeFileSync(p0, bytes);
  const m = await generateDataset({ ...opts, resume: true, quiet: true, source: SOURCE });
  assert.is(m.finishedShards, 4);
  assert.not.ok(readdirSync(dir).some((f) => f.startsWith('.tmp-')), 'temporary files cleaned');
  const ref = join(root, 'ref');
  await gen({ out: ref, config: opts.config });
  const [a, b] = await Promise.all([openDataset(dir), openDataset(ref)]);
  await sameSamples(a, b, 8);
  await a.close();
  await b.close();
});

test.run();
