/**
 * Scaling with threads: wall time, speed-up and efficiency (speed-up / threads) of each parallel
 * stage at 1, 2, ... threads up to os.availableParallelism() (powers of two plus the core count),
 * each against its own 1-thread run in this process; then the byte-identity check of every stage's
 * output across 1, 2, 3 and 4 threads (more threads than cores must not change a byte).
 *
 *   npm run bench -- scaling            (a few minutes on 2 cores)
 *   npm run bench -- scaling --quick    (smaller sizes)
 *
 * Stages: Joseph projection (forward + back, one volume), slice-parallel SIRT, dataset generation
 * (worker threads writing shard files; includes the workers' start-up, as a user pays it),
 * data-parallel training (optimizer steps of a small U-Net; the batch cut into a fixed number of
 * shards so the weights do not depend on the worker count), evaluation (the harness's concurrent
 * (phantom, dose) groups on `threads` block workers, their start-up included; results.csv and the
 * summary hashed), and for comparison eval-proj (one group at a time, only the projector and SIRT
 * on `threads` workers, denoising and metrics in the main thread, as before the block workers).
 * Each thread count gets a warm-up run first (worker pools started, except generation, whose
 * workers start per call); times are the best of the runs after it (the least disturbed on a shared machine).
 */
import { createHash } from 'node:crypto';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Projector, parseTiltAngles } from '../../generators/projection/index.ts';
import { sirtFast } from '../../eval/recon/sirt/slices.ts';
import { generateDataset } from '../../datasets/generate.ts';
import { openDataset } from '../../datasets/reader.ts';
import { initBackend } from '../../models/backend.ts';
import { buildModel } from '../../models/networks/build.ts';
import { validateModelSpec } from '../../models/networks/spec.ts';
import { DataParallel } from '../../models/parallel/engine.ts';
import { runEvaluation } from '../../eval/harness/run.ts';
import { coreShellSource } from '../../eval/harness/testing.ts';

const quick = process.argv.includes('--quick');
const cores = availableParallelism();
const threadList = [...new Set([1, 2, ...[4, 8, 16, 32, 64, 128].filter((t) => t < cores), cores])].sort((a, b) => a - b);
const IDENTITY = [1, 2, 3, 4];
const REPS = quick ? 1 : 2;
const root = mkdtempSync(join(tmpdir(), 'nanodose-bench-scaling-'));

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 32; }
  return a;
}
const sha = (...parts: (ArrayBufferView | string)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex').slice(0, 16);
};
async function best(f: () => Promise<unknown>, reps = REPS): Promise<number> {
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

interface Stage {
  name: string;
  what: string;
  /** Runs the stage once with `threads`; returns a digest of its output (for the identity check). */
  run(threads: number, tag: string): Promise<string>;
  /** Warm-up before timing (default: one run at 1 thread). */
  warm?: boolean;
}

// ---- stages ----
const N = quick ? 48 : 96;
const angles = parseTiltAngles('-70:70:2.5');
const geom = { angles, nz: N, ny: N, nx: N, nCols: Math.ceil(N * Math.SQRT2) };
const vol = rand(N * N * N, 1);
const projection: Stage = {
  name: 'projection',
  what: `Joseph A and A^T, ${N}^3, ${angles.length} tilts`,
  async run(threads) {
    // One operator per thread count, as a reconstruction keeps it (its pool starts on first use, in the warm-up run).
    if (projCache?.threads !== threads) {
      await projCache?.p.close();
      projCache = { threads, p: new Projector(geom, { workers: threads }) };
    }
    const f = await projCache.p.forward(vol);
    const b = await projCache.p.back(f);
    return sha(f, b);
  },
};

const S = quick ? 48 : 80;
const sAngles = parseTiltAngles('-70:70:5');
const sNCols = Math.ceil(S * Math.SQRT2);
const sSeries = rand(sAngles.length * S * sNCols, 2);
const sIters = quick ? 10 : 30;
const sirt: Stage = {
  name: 'SIRT',
  what: `${S}^3, ${sAngles.length} tilts, ${sIters} iterations`,
  async run(threads) {
    return sha(await sirtFast(sSeries, { nz: S, ny: S, nx: S, nCols: sNCols, angles: sAngles, iterations: sIters, minConstraint: 0, workers: threads }));
  },
};

const G = quick ? 4 : 8;
const genConfig = { samplesPerShard: 1, store: { phantom: true, clean: true, noisy: true, frames: false }, simulation: { phantom: { size: quick ? 32 : 48 }, geometry: { angles: '-60:60:10' } } };
const generation: Stage = {
  name: 'generation',
  what: `${G} samples of ${genConfig.simulation.phantom.size}^3, 13 tilts, ${G} shard files`,
  async run(threads, tag) {
    const out = join(root, `gen-${tag}-${threads}-${Math.random().toString(36).slice(2)}`);
    await generateDataset({ out, count: G, seed: 3, workers: threads, quiet: true, config: genConfig });
    const r = await openDataset(out);
    const parts: (ArrayBufferView | string)[] = [];
    try {
      for (const i of r.indices()) {
        const s = await r.readSample(i, ['phantom', 'clean', 'noisy']);
        parts.push(JSON.stringify([s.params, s.split, s.dosePerProjection]), s.phantom!, s.clean!, s.noisy!);
      }
    } finally {
      await r.close();
      rmSync(out, { recursive: true, force: true });
    }
    return sha(...parts);
  },
};

await initBackend({ backend: 'wasm', threads: 1, quiet: true });
const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 8 });
const TB = Math.max(8, 2 * threadList[threadList.length - 1]);
const TP = quick ? 32 : 64;
const STEPS = quick ? 2 : 4;
const lossModule = fileURLToPath(new URL('../../models/parallel/fixtures/mse_loss.ts', import.meta.url));
const model0 = buildModel(spec);
const w0 = model0.getWeights().map((w) => w.clone());
let dpCache = null as { threads: number; dp: DataParallel } | null;
let projCache = null as { threads: number; p: Projector } | null;
const training: Stage = {
  name: 'training',
  what: `U-Net depth 2, 8 filters, ${STEPS} Adam steps of batch ${TB} x ${TP}^2 (${TB} fixed shards)`,
  async run(threads) {
    if (dpCache?.threads !== threads) {
      await dpCache?.dp.close();
      dpCache = { threads, dp: await DataParallel.create({ spec, lossModule, workers: threads, shards: TB }) };
    }
    const model = buildModel(spec);
    model.setWeights(w0);
    const opt = tf.train.adam(1e-3);
    for (let s = 0; s < STEPS; s++) {
      await dpCache.dp.step(model, opt, { data: rand(TB * TP * TP, 10 + s), shape: [TB, TP, TP, 1] }, { data: rand(TB * TP * TP, 20 + s), shape: [TB, TP, TP, 1] });
    }
    const digest = sha(...model.getWeights().map((w) => Float32Array.from(w.dataSync())));
    model.dispose();
    opt.dispose();
    return digest;
  },
};

const E = quick ? 24 : 32;
// enough (phantom, dose) groups to keep 16 block workers busy in the full run
const EP = quick ? 2 : 4, ED = quick ? [1e3, 1e4, 1e5] : [1e3, 3e3, 1e4, 1e5];
const evalSrc = await coreShellSource({ size: E, nAngles: 31, count: EP, splits: ['test'] });
/** The evaluation at `threads`: concurrent (phantom, dose) groups (blocks) or one group at a time with the projector threaded. */
const evalStage = (name: string, how: 'blocks' | 'projector'): Stage => ({
  name,
  what: how === 'blocks'
    ? `${EP} core-shell phantoms ${E}^3, 31 tilts, raw + gaussian, ${ED.length} doses (${EP * ED.length} groups), SIRT 30: threads block workers, each a whole group (their start-up included)`
    : `the same, one group at a time in this thread, projector + SIRT on threads workers`,
  async run(threads, tag) {
    const out = join(root, `eval-${how}-${tag}-${threads}-${Math.random().toString(36).slice(2)}`);
    try {
      const r = await runEvaluation({ data: evalSrc, methods: ['raw', 'gaussian'], doses: ED, recon: 'sirt:30', out, seed: 1, ...(how === 'blocks' ? { threads } : { workers: threads, blockWorkers: 1 }), quiet: true, report: false, bootstrap: 10, rawExtraDecades: 0, tunePhantoms: 0 });
      return sha(readFileSync(join(out, 'results.csv'), 'utf8'), JSON.stringify(r.summary));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
});
const evaluation = evalStage('evaluation', 'blocks');
const evaluationProjector = evalStage('eval-proj', 'projector');

const stages = [projection, sirt, generation, training, evaluation, evaluationProjector];
const only = process.argv.slice(2).find((a) => a.startsWith('--stage='))?.slice(8);

console.log(`machine: ${cores} cores available (${cpus()[0]?.model ?? '?'}), node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (above the core count: other users share the cores, timings are noisy)`);
console.log(`threads timed: ${threadList.join(', ')}; identity checked at ${IDENTITY.join(', ')} threads; best of ${REPS}\n`);
console.log(`${'stage'.padEnd(12)} ${'threads'.padStart(7)} ${'wall s'.padStart(8)} ${'speed-up'.padStart(9)} ${'efficiency'.padStart(10)}`);
const identity: [string, boolean, string][] = [];
try {
  for (const st of stages) {
    if (only && st.name !== only) continue;
    console.log(`${st.name}: ${st.what}`);
    let t1 = 0;
    const digest = new Map<number, string>();
    for (const t of threadList) {
      digest.set(t, await st.run(t, 'warm')); // warm-up at this count (pools started, code compiled)
      const sec = await best(() => st.run(t, 'time'));
      if (t === 1) t1 = sec;
      const sp = t1 / sec;
      console.log(`${''.padEnd(12)} ${String(t).padStart(7)} ${sec.toFixed(2).padStart(8)} ${`${sp.toFixed(2)}x`.padStart(9)} ${`${((100 * sp) / t).toFixed(0)}%`.padStart(10)}`);
    }
    const digests: string[] = [];
    for (const t of IDENTITY) digests.push(digest.get(t) ?? (await st.run(t, 'id')));
    const same = digests.every((d) => d === digests[0]);
    identity.push([st.name, same, digests.join(' ')]);
  }
} finally {
  await dpCache?.dp.close();
  await projCache?.p.close();
  rmSync(root, { recursive: true, force: true });
}
console.log(`\nbyte identity of the outputs across ${IDENTITY.join(', ')} threads (sha256 prefixes; generation: every stored array, the HDF5 files carry write times):`);
for (const [name, same, d] of identity) console.log(`  ${name.padEnd(12)} ${same ? 'identical' : 'DIFFERENT'}  ${d}`);
const bad = identity.filter(([, s]) => !s);
if (bad.length) {
  console.log(`NOT identical: ${bad.map(([n]) => n).join(', ')}`);
  process.exit(1);
}
process.exit(0);
