/**
 * Dose robustness of a model trained on stored counts (issue 14): a Noise2Noise model trained on
 * binomially thinned halves of counts stored at dose D sees inputs at 0.3-0.7 D only (thinning
 * [0.3, 0.7]); applied at 10 D it extrapolates to noise it never saw. Measured here: map PSNR of the
 * denoised element maps against the expected counts on the validation projections, at D/10, D and
 * 10 D (fresh Poisson draws of the clean maps), for
 *   narrow    n2n-thinning, thinning [0.3, 0.7] (the default), applied as is ('extrapolate': before)
 *   narrow+split  the same model with the high-count split (models/tiling.ts: above the trained
 *             count levels the counts are split into m independent Poisson parts inside the range and
 *             the estimates summed; the default of fixed-noise models now: after)
 *   wide(+split)  thinning [0.05, 0.95]: inputs down to D/20, so D/10 is inside the trained range
 * beside raw and the Gaussian at its best sigma per dose (an oracle: sigma chosen on the clean maps).
 *
 *   npm run bench -- guided-dose        (about 10-20 min on 2 loaded cores)
 *   BENCH_EPOCHS=N (default 8), --quick (2 epochs: a smoke run)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, openDataset } from '../../datasets/index.ts';
import { stream } from '../../core/random.ts';
import { poissonNoise } from '../../generators/signal/noise.ts';
import { gaussianFilter } from '../../eval/baselines/index.ts';
import { psnr, valueRange } from '../../eval/metrics/index.ts';
import { train } from '../../training/index.ts';
import { loadModel } from '../../models/io.ts';
import { denoiseTiled, highCountParts } from '../../models/tiling.ts';

const quick = process.argv.includes('--quick');
const epochs = Number(process.env.BENCH_EPOCHS ?? (quick ? 2 : 8));
const work = mkdtempSync(join(tmpdir(), 'nanodose-guided-dose-'));
const D = 300;
try {
  const ds = join(work, 'ds');
  await generateDataset({
    out: ds, count: 10, seed: 21, quiet: true,
    config: { samplesPerShard: 10, split: { train: 0.7, val: 0.3, test: 0 }, simulation: { phantom: { size: 48, elements: ['Au', 'Ag'] }, geometry: { angles: '-70:70:10' }, acquisition: { dose: D } } },
  });
  const models: Record<string, string> = {};
  for (const [name, thinning] of [['narrow', [0.3, 0.7]], ['wide', [0.05, 0.95]]] as [string, [number, number]][]) {
    const out = join(work, name);
    const t0 = performance.now();
    await train({ data: ds, scheme: 'n2n-thinning', noise: 'fixed', thinning, out, model: { arch: 'unet', depth: 3, filters: 16 }, epochs, stepsPerEpoch: quick ? 4 : 15, batch: 8, patch: 48, lr: 2e-3, seed: 3, quiet: true });
    console.log(`trained ${name} (thinning ${thinning.join('-')}) in ${((performance.now() - t0) / 1000).toFixed(0)} s (loaded)`);
    models[name] = out;
  }
  const r = await openDataset(ds);
  const [, A, H, W] = r.shape.tilt;
  const P = H * W;
  const el = r.channels.map((c, i) => [c, i] as const).filter(([c]) => c !== 'HAADF');
  const doses = [D / 10, D, 10 * D];
  const loaded = Object.fromEntries(await Promise.all(Object.entries(models).map(async ([n, d]) => [n, await loadModel(d)] as const)));
  const sums: Record<string, number[]> = {};
  const add = (m: string, j: number, v: number) => { (sums[m] ??= doses.map(() => 0))[j] += v; };
  let n = 0;
  const sigmas = [0.5, 0.75, 1, 1.5, 2, 3, 4];
  const gauss: number[][] = doses.map(() => sigmas.map(() => 0));
  const parts: Record<number, number[]> = {};
  for (const i of r.indices('val')) {
    const s = await r.readSample(i, ['clean']);
    for (let a = 0; a < A; a++) for (const [, c] of el) {
      const clean = s.clean!.subarray((c * A + a) * P, (c * A + a + 1) * P);
      if (!(valueRange(clean) > 0)) continue;
      n++;
      for (const [j, d] of doses.entries()) {
        const lam = clean.map((v) => (v * d) / D);
        const R = valueRange(lam);
        const y = Float32Array.from(poissonNoise(lam, stream('guided-dose', i, a, c, j)));
        add('raw', j, psnr(lam, y, R));
        sigmas.forEach((sg, k) => (gauss[j][k] += psnr(lam, gaussianFilter(y, H, W, sg), R)));
        for (const [name, { model, metadata }] of Object.entries(loaded)) {
          add(name, j, psnr(lam, await denoiseTiled(model, y, [1, H, W], { metadata, highCounts: 'extrapolate' }), R));
          add(`${name}+split`, j, psnr(lam, await denoiseTiled(model, y, [1, H, W], { metadata, highCounts: 'split' }), R));
        }
        if (j === 2) (parts[j] ??= []).push(highCountParts(loaded.narrow.metadata, y, [1, H, W]));
      }
    }
  }
  await r.close();
  for (const { model } of Object.values(loaded)) model.dispose();
  for (const [j] of doses.entries()) {
    const k = gauss[j].indexOf(Math.max(...gauss[j]));
    add(`gaussian (oracle sigma per dose)`, j, gauss[j][k]);
  }
  const lv = (loaded.narrow.metadata.countLevels as Record<string, [number, number]>).Au;
  console.log(`\nmap PSNR (dB) against the expected counts, mean over ${n} validation maps (Au and Ag), stored dose D = ${D} e/A^2 per projection (loaded machine)`);
  console.log(`narrow model's trained count levels ${lv[0].toPrecision(3)}-${lv[1].toPrecision(3)} counts per pixel; parts of the split at 10 D: ${Math.min(...parts[2])}-${Math.max(...parts[2])}`);
  console.log(`  ${'method'.padEnd(34)} ${doses.map((d) => `${d} e/A^2`.padStart(12)).join('')}`);
  for (const [m, v] of Object.entries(sums)) console.log(`  ${m.padEnd(34)} ${v.map((x) => (x / n).toFixed(2).padStart(12)).join('')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
