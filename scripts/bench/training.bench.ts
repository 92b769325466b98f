/**
 * Benchmark of the training suite (training/): epoch time and images/s per scheme on a small
 * preset (64^3 phantoms, 9 tilts, 4 frames stored; U-Net depth 3, 16 base filters; batch 8 of
 * 64x64 patches; 12 steps per epoch), single-threaded wasm, plus data-parallel workers = 2 for one
 * scheme. images/s counts the optimizer steps only; the epoch time adds batch making (patch
 * reads, on-the-fly Poisson noise, thinning, augmentation, masking) and validation. The second
 * epoch is reported (the first includes warm-up).
 *
 *   npm run bench -- training           (about 1-2 minutes on 2 cores)
 *   npm run bench -- training --quick   (32^3, 2 schemes)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '../../datasets/index.ts';
import { initBackend } from '../../models/index.ts';
import { train, type Scheme } from '../../training/index.ts';

const quick = process.argv.includes('--quick');
const size = quick ? 32 : 64;
const patch = quick ? 32 : 64;
const root = mkdtempSync(join(tmpdir(), 'nanodose-bench-train-'));
try {
  await initBackend({ backend: 'wasm' });
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; timings on a shared machine are noisy`);
  const ds = join(root, 'ds');
  const t0 = performance.now();
  await generateDataset({
    out: ds, count: 6, seed: 1, workers: 1, quiet: true,
    config: { samplesPerShard: 6, split: { train: 0.5, val: 0.5, test: 0 }, store: { frames: true }, simulation: { phantom: { size }, geometry: { angles: '-60:60:15' }, acquisition: { frames: 4, dose: 6000 } } },
  });
  console.log(`dataset: 6 samples of ${size}^3, 9 tilts, 4 frames (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  console.log(`network: U-Net depth 3, 16 filters; batch 8 x ${patch}x${patch}; 12 steps/epoch; 8 validation projections\n`);
  const schemes: Scheme[] = quick ? ['supervised', 'blind-spot'] : ['supervised', 'n2n-thinning', 'n2n-frames', 'blind-spot'];
  const runs: { label: string; scheme: Scheme; workers: number; noise?: 'fixed' }[] = schemes.map((s) => ({ label: s, scheme: s, workers: 1 }));
  if (!quick) runs.splice(3, 0, { label: 'n2n-frames (stored frames)', scheme: 'n2n-frames', workers: 1, noise: 'fixed' });
  runs.push({ label: 'n2n-thinning, 2 workers', scheme: 'n2n-thinning', workers: 2 });
  console.log(`${'scheme'.padEnd(28)} ${'epoch s'.padStart(8)} ${'images/s (steps)'.padStart(17)} ${'images/s (epoch)'.padStart(17)} ${'steps share'.padStart(12)}`);
  let ref1 = 0;
  for (const r of runs) {
    const out = join(root, r.label.replace(/[^a-z0-9]+/gi, '-'));
    await train({ data: ds, scheme: r.scheme, out, model: { arch: 'unet', depth: 3, filters: 16 }, epochs: 2, stepsPerEpoch: 12, batch: 8, patch, lr: 1e-3, workers: r.workers, backend: 'wasm', quiet: true, noise: r.noise });
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const e = log[log.length - 1];
    const perEpoch = (8 * 12) / e.seconds;
    if (r.label === 'n2n-thinning') ref1 = e.imagesPerSecond;
    console.log(`${r.label.padEnd(28)} ${e.seconds.toFixed(2).padStart(8)} ${e.imagesPerSecond.toFixed(1).padStart(17)} ${perEpoch.toFixed(1).padStart(17)} ${((100 * perEpoch) / e.imagesPerSecond).toFixed(0).padStart(11)}%`);
    if (r.workers === 2 && ref1 > 0) console.log(`  2 workers vs 1 (steps): ${(e.imagesPerSecond / ref1).toFixed(2)}x`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
