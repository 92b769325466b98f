/**
 * Dataset generation benchmark (issue 4). Prints:
 *  1. filters: write time and size per array (phantom, clean, noisy) with no filter, gzip 1/4 and
 *     scale-offset (h5wasm's gzip is single-threaded; this is how the default filters were chosen).
 *  2. samples/s and MB/s (on disk, and uncompressed) of `generateDataset` for the 64^3 and 128^3
 *     presets with 61 tilts, on 1 and 2 workers. Targets: >= 10 samples/s at 64^3, >= 1 sample/s
 *     at 128^3 on 2 cores.
 *  3. writer-only throughput (fast synthetic source, no simulation) for the same sizes, to split
 *     simulation cost from file cost.
 *  4. peak memory (max RSS of a child process, worker threads included) for N samples at 64^3,
 *     N = BENCH_MEM_N (default 1000), against the 1 GB target; and at N/4 to show it does not grow with N.
 *
 *   npm run bench -- datasets            (BENCH_QUICK=1 for a short run)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDataset } from '../../datasets/generate.ts';
import { h5ready, ShardWriter, type SampleRecord } from '../../datasets/formats/hdf5/emd.ts';
import { loadSource } from '../../datasets/source.ts';
import { InternalError } from '../../core/validate.ts';

const quick = !!process.env.BENCH_QUICK;
const root = mkdtempSync(join(tmpdir(), 'nanodose-bench-ds-'));
const SYNTH = new URL('../../datasets/testing/synthetic-source.ts', import.meta.url).href;
const ANGLES = '-60:60:2'; // 61 tilts

function dirBytes(d: string): number {
  return readdirSync(d).filter((f) => f.endsWith('.h5')).reduce((s, f) => s + statSync(join(d, f)).size, 0);
}

function presetConfig(size: number, sps: number): Record<string, unknown> {
  return { samplesPerShard: sps, simulation: { phantom: { size }, geometry: { angles: ANGLES } } };
}

async function filters(): Promise<void> {
  console.log('\n-- filters per array (8 simulated 64^3 samples, 61 tilts, one thread; ms per sample and MB per sample on disk) --');
  const mod = await loadSource();
  const cfg = mod.validateConfig(presetConfig(64, 8));
  const src = await mod.createSource(cfg, 1);
  const recs: SampleRecord[] = [];
  for (let i = 0; i < 8; i++) recs.push({ ...(await src.sample(i, { phantom: true, frames: false })), split: 'train' });
  await src.close();
  const rawOf = { phantom: (r: SampleRecord) => (r.phantom as Float32Array[]).reduce((a, p) => a + p.byteLength, 0), clean: (r: SampleRecord) => r.clean!.byteLength, noisy: (r: SampleRecord) => r.noisy!.byteLength };
  const base = { phantom: 0, clean: 0, counts: 'none' as 'none' | 'gzip' | 'scaleoffset' };
  const cases: [keyof typeof rawOf, string, typeof base][] = [
    ['phantom', 'none', base], ['phantom', 'gzip 1', { ...base, phantom: 1 }], ['phantom', 'gzip 4', { ...base, phantom: 4 }],
    ['clean', 'none', base], ['clean', 'gzip 1', { ...base, clean: 1 }], ['clean', 'gzip 4', { ...base, clean: 4 }],
    ['noisy', 'none', base], ['noisy', 'gzip 1', { ...base, counts: 'gzip' }], ['noisy', 'scaleoffset', { ...base, counts: 'scaleoffset' }],
  ];
  console.log('array    filter        ms/sample   MB/s   MB/sample  ratio');
  for (const [arr, label, compression] of cases) {
    const p = join(root, `f-${arr}-${label.replace(' ', '')}.h5`);
    const store = { phantom: arr === 'phantom', clean: arr === 'clean', noisy: arr === 'noisy', frames: false };
    const t0 = performance.now();
    const w = await ShardWriter.create(p, { ...src.layout, store, compression }, { seed: 1, config: cfg, generatorVersion: 'bench', shardIndex: 0, shardCount: 1, firstSample: 0, sampleCount: 8, microscope: src.microscope });
    for (const r of recs) w.append(r);
    w.close();
    const ms = (performance.now() - t0) / 8;
    const raw = rawOf[arr](recs[0]);
    const size = statSync(p).size / 8;
    console.log(`${arr.padEnd(8)} ${label.padEnd(12)} ${ms.toFixed(1).padStart(9)}  ${(raw / 1e3 / ms).toFixed(0).padStart(5)}  ${(size / 1e6).toFixed(2).padStart(9)}  ${(raw / size).toFixed(2).padStart(5)}`);
    rmSync(p);
  }
}

async function throughput(label: string, source: string | undefined, size: number, count: number, sps: number, cfg: Record<string, unknown>): Promise<void> {
  for (const workers of [1, 2]) {
    const out = join(root, `${label}-${size}-${workers}`);
    const t0 = performance.now();
    const m = await generateDataset({ out, count, seed: 3, workers, quiet: true, config: cfg, source });
    const s = (performance.now() - t0) / 1000;
    const bytes = dirBytes(out);
    const A = m.angles.length, C = m.channels.length, E = m.elements.length;
    console.log(`${label.padEnd(10)} ${String(size).padStart(3)}^3  ${A} tilts  workers ${workers}: ${count} samples in ${s.toFixed(1)} s = ${(count / s).toFixed(2)} samples/s, ${(bytes / 1e6 / s).toFixed(1)} MB/s on disk (${(bytes / 1e6).toFixed(1)} MB, ${E} elements, ${C} channels)`);
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Max RSS of a child that generates n samples. `preload`: h5wasm loaded before tsx is registered
 * (datasets/testing/preload.mjs); otherwise `node --import tsx`, where tsx's transform of h5wasm's
 * 4 MB module alone peaks at about 600 MB.
 */
function peakMemory(n: number, source: 'simulated' | 'synthetic', preload = true): number {
  const script = fileURLToPath(new URL('./datasets-memory-child.ts', import.meta.url));
  const pre = fileURLToPath(new URL('../../datasets/testing/preload.mjs', import.meta.url));
  const out = join(root, `mem-${n}`);
  const r = spawnSync(process.execPath, [...(preload ? [pre] : ['--import', 'tsx']), script, out, String(n), source], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new InternalError(`memory child failed: ${r.stdout}`);
  const m = /maxRSS_kB (\d+) seconds ([\d.]+)/.exec(r.stdout);
  if (!m) throw new InternalError(`memory child printed ${r.stdout}`);
  console.log(`peak memory, ${n} ${source} samples at 64^3 (61 tilts, 2 workers, 16 samples/shard, ${preload ? 'h5wasm loaded before tsx' : 'node --import tsx'}): max RSS ${(Number(m[1]) / 1024).toFixed(0)} MB in ${Number(m[2]).toFixed(0)} s (${(n / Number(m[2])).toFixed(2)} samples/s)`);
  rmSync(out, { recursive: true, force: true });
  return Number(m[1]) / 1024;
}

await h5ready(); // load h5wasm before timing (through tsx this takes seconds, once per process)
try {
  // The simulator (generators/simulate.ts) may be missing in a partial checkout: then only the
  // writer-only figures are measured, and the memory run uses the synthetic source.
  let simulated = true;
  try {
    await loadSource();
  } catch (e) {
    simulated = false;
    console.log(`simulator not available (${(e as Error).message.split('\n')[0]}): simulated figures skipped`);
  }
  if (simulated) {
    await filters();
    console.log('\n-- generate (simulation + files) --');
    await throughput('simulated', undefined, 64, quick ? 8 : 40, quick ? 4 : 10, presetConfig(64, quick ? 4 : 10));
    await throughput('simulated', undefined, 128, quick ? 2 : 6, quick ? 1 : 3, presetConfig(128, quick ? 1 : 3));
  }
  console.log('\n-- writer only (synthetic source: arrays of the same shapes, no simulation) --');
  await throughput('synthetic', SYNTH, 64, quick ? 8 : 40, 10, { samplesPerShard: 10, simulation: { size: 64, nAngles: 61 } });
  await throughput('synthetic', SYNTH, 128, quick ? 2 : 6, 3, { samplesPerShard: 3, simulation: { size: 128, nAngles: 61 } });
  console.log('\n-- peak memory --');
  const N = Number(process.env.BENCH_MEM_N ?? (quick ? 40 : 1000));
  const src = simulated ? 'simulated' : 'synthetic';
  const small = peakMemory(Math.max(32, Math.round(N / 4)), src);
  const big = peakMemory(N, src);
  peakMemory(Math.max(32, Math.round(N / 4)), src, false);
  console.log(`peak memory ratio N=${N} vs N=${Math.max(32, Math.round(N / 4))}: ${(big / small).toFixed(2)} (bounded memory gives about 1); target < 1024 MB: ${big < 1024 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
