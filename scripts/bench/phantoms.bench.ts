/**
 * Phantom benchmark (issue 2). Prints, on one core (this thread):
 *  1. phantoms per second (sample + build solids + voxelise, two elements Au/Ag, default
 *     composition mix) at N = 64 and N = 128 for each shape class;
 *  2. the time of a 128^3 two-element core-shell phantom (sharp, and with a diffuse interface)
 *     against the 50 ms target;
 *  3. chords per second of the exact line integrals (what analytic projection calls).
 *
 *   npm run bench -- phantoms            (BENCH_QUICK=1 for fewer samples)
 */
import { defaultPhantomConfig, samplePhantom, SHAPE_CLASSES, voxelise, type PhantomConfig } from '../../generators/phantoms/index.ts';
import { stream } from '../../core/random.ts';

const quick = !!process.env.BENCH_QUICK;

function cfgFor(over: Partial<PhantomConfig>): PhantomConfig {
  return { ...defaultPhantomConfig(), ...over };
}

function timeOne(cfg: PhantomConfig, index: number): number {
  const t = performance.now();
  const ph = samplePhantom(cfg, 'bench', index);
  voxelise(ph);
  return performance.now() - t;
}

function stats(ms: number[]): { median: number; mean: number; best: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], mean: ms.reduce((a, b) => a + b, 0) / ms.length, best: s[0] };
}

console.log(`phantoms benchmark (one thread; shared machine: timings are noisy)${quick ? ' [quick]' : ''}`);
// Warm-up (JIT) on a mix of classes.
for (let i = 0; i < 10; i++) timeOne(cfgFor({ size: 64 }), 1000 + i);

for (const N of [64, 128]) {
  const reps = quick ? 3 : N === 64 ? 20 : 8;
  console.log(`\n-- N = ${N}: phantoms per second per class (${reps} samples each; median ms, mean ms) --`);
  let allMs: number[] = [];
  for (const cls of SHAPE_CLASSES) {
    const cfg = cfgFor({ size: N, classWeights: { [cls]: 1 }, coreClassWeights: { [cls]: 1 } });
    const ms: number[] = [];
    for (let i = 0; i < reps; i++) ms.push(timeOne(cfg, i));
    allMs = allMs.concat(ms);
    const s = stats(ms);
    console.log(`${cls.padEnd(26)} ${(1000 / s.mean).toFixed(1).padStart(7)} phantoms/s   median ${s.median.toFixed(1).padStart(6)} ms   mean ${s.mean.toFixed(1).padStart(6)} ms`);
  }
  const s = stats(allMs);
  console.log(`${'all classes'.padEnd(26)} ${(1000 / s.mean).toFixed(1).padStart(7)} phantoms/s   median ${s.median.toFixed(1).padStart(6)} ms`);
}

console.log('\n-- 128^3 two-element (Au/Ag) core-shell phantom: sample + voxelise, target < 50 ms on one core --');
for (const [label, diffuse] of [['sharp interface', 0], ['diffuse interface (0-3 voxels)', 1]] as const) {
  const cfg = cfgFor({ size: 128, composition: { 'core-shell': 1 }, diffuseProbability: diffuse });
  const ms: number[] = [];
  const reps = quick ? 5 : 30;
  for (let i = 0; i < reps; i++) ms.push(timeOne(cfg, 500 + i));
  const s = stats(ms);
  console.log(`${label.padEnd(32)} median ${s.median.toFixed(1)} ms  mean ${s.mean.toFixed(1)} ms  best ${s.best.toFixed(1)} ms  (${reps} random classes) -> ${s.median < 50 ? 'meets' : 'misses'} the 50 ms target (median)`);
}

console.log('\n-- exact chords along random lines (per class, rounded where the class allows) --');
{
  const rng = stream('bench', 0, 'lines');
  const L = quick ? 20000 : 200000;
  const lines = new Float64Array(6 * L);
  for (let i = 0; i < L; i++) {
    const d = [rng.normal(), rng.normal(), rng.normal()];
    const n = Math.hypot(...d);
    lines.set([rng.uniformIn(-40, 40), rng.uniformIn(-40, 40), rng.uniformIn(-40, 40), d[0] / n, d[1] / n, d[2] / n], 6 * i);
  }
  for (const cls of SHAPE_CLASSES) {
    const ph = samplePhantom(cfgFor({ size: 128, classWeights: { [cls]: 1 }, composition: { solid: 1 }, rounding: [0.05, 0.05] }), 'bench', 7);
    const solid = ph.regions[0].solid;
    let acc = 0;
    const t = performance.now();
    for (let i = 0; i < L; i++) {
      const o = 6 * i;
      acc += solid.chord(lines[o], lines[o + 1], lines[o + 2], lines[o + 3], lines[o + 4], lines[o + 5]);
    }
    const dt = performance.now() - t;
    console.log(`${cls.padEnd(26)} ${((L / dt) * 1000 / 1e6).toFixed(2).padStart(6)} M chords/s  (mean chord ${(acc / L).toFixed(2)} voxels)`);
  }
}
