/**
 * Thread-count independence of dataset generation with the real simulator: 1, 2, 3 and 4 worker
 * threads (oversubscribing this machine's 2 cores) store the same bytes in every dataset (phantom,
 * clean, noisy, parameters, split, dose of every sample), shard files of the same size, and the same
 * manifest apart from the files' sha256. The files themselves are not byte-identical between any
 * two runs (1 worker vs 1 worker too): HDF5 stamps write times into object headers (track_times,
 * which h5wasm 0.10 cannot switch off) and checksums those headers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from './generate.ts';
import { openDataset } from './reader.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-threads-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
// 7 samples in 4 shard files (the last one short), so every worker count splits the files differently.
const config = { samplesPerShard: 2, store: { phantom: true, clean: true, noisy: true, frames: false }, simulation: { phantom: { size: 32 }, geometry: { angles: '-60:60:30' } } };
const FIELDS = ['phantom', 'clean', 'noisy'] as const;
const noSha = (dir: string) => JSON.stringify(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')), (k, v) => (k === 'sha256' ? undefined : v));

async function contents(dir: string): Promise<string[]> {
  const r = await openDataset(dir);
  try {
    const out: string[] = [];
    for (const i of r.indices()) {
      const x = await r.readSample(i, [...FIELDS]);
      out.push(JSON.stringify({ i, params: x.params, split: x.split, dose: x.dosePerProjection }));
      for (const k of FIELDS) out.push(`${i} ${k} ${Buffer.from(x[k]!.buffer, x[k]!.byteOffset, x[k]!.byteLength).toString('base64')}`);
    }
    return out;
  } finally {
    await r.close();
  }
}

test('generate stores the same bytes with 1, 2, 3 and 4 workers', async () => {
  let ref: { dir: string; data: string[] } | null = null;
  for (const workers of [1, 2, 3, 4]) {
    const dir = join(root, `w${workers}`);
    const m = await generateDataset({ out: dir, count: 7, seed: 5, workers, quiet: true, config });
    assert.is(m.finishedShards, 4);
    const data = await contents(dir);
    if (!ref) { ref = { dir, data }; assert.is(data.length, 7 * 4); continue; }
    assert.equal(readdirSync(dir).sort(), readdirSync(ref.dir).sort(), `file names with ${workers} workers`);
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.h5'))) assert.is(statSync(join(dir, f)).size, statSync(join(ref.dir, f)).size, `${f} size with ${workers} workers`);
    assert.is(noSha(dir), noSha(ref.dir), `manifest with ${workers} workers`);
    data.forEach((line, j) => assert.ok(line === ref!.data[j], `${line.slice(0, 40)}... differs with ${workers} workers`));
  }
});

test.run();
