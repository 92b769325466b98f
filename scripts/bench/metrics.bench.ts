/**
 * Metrics benchmark: the evaluation scores every (phantom, dose, method) block with a 3D SSIM per
 * element volume and a 2D SSIM per projection map (eval/harness/group.ts), thousands of calls in a
 * demo run. Prints, on one thread, milliseconds per call of eval/metrics ssim against the plain
 * per-field formulation (eval/metrics/ssim-reference.ts) in the same process, their ratio, and
 * that both give the same value to the bit; plus ssim3d, scaledScores and otsuDice at the demo's
 * 64^3 (and 128^3).
 *
 *   npm run bench -- metrics
 */
import { ssim } from '../../eval/metrics/image.ts';
import { ssim3d, scaledScores, otsuDice } from '../../eval/metrics/volume.ts';
import { ssimReference } from '../../eval/metrics/ssim-reference.ts';
import { stream } from '../../core/random.ts';
import { loadavg } from 'node:os';

const rng = stream('metrics-bench', 1);
/** Median milliseconds of `reps` calls after `warm` warm-up calls (JIT). */
function ms(f: () => unknown, reps: number, warm = 5): number {
  for (let i = 0; i < warm; i++) f();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); f(); t.push(performance.now() - t0); }
  return t.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

console.log(`metrics benchmark (one thread; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
for (const shape of [[64, 64], [64, 64, 64], [128, 128, 128]]) {
  const n = shape.reduce((a, b) => a * b, 1);
  const truth = new Float32Array(n), recon = new Float32Array(n);
  for (let i = 0; i < n; i++) { truth[i] = rng.uniform() > 0.5 ? 1 : 0; recon[i] = truth[i] + 0.3 * rng.uniform(); }
  const reps = n > 1e6 ? 7 : n > 1e5 ? 21 : 201;
  const a = ms(() => ssim(truth, recon, shape, 1), reps);
  const b = ms(() => ssimReference(truth, recon, shape, 1), reps);
  const same = ssim(truth, recon, shape, 1) === ssimReference(truth, recon, shape, 1);
  console.log(`ssim [${shape.join('x')}]: ${a.toFixed(2)} ms, reference ${b.toFixed(2)} ms: ${(b / a).toFixed(2)}x faster; same value to the bit: ${same ? 'yes' : 'NO'}`);
  if (shape.length === 3) {
    const sh = shape as [number, number, number];
    console.log(`  ssim3d ${ms(() => ssim3d(recon, truth, sh), reps).toFixed(2)} ms, scaledScores ${ms(() => scaledScores(recon, truth), reps).toFixed(2)} ms, otsuDice ${ms(() => otsuDice(recon, truth), reps).toFixed(2)} ms`);
  }
}
