/**
 * 2.5-D input (issue 14, "decided by measurement"): do neighbouring tilts as extra input channels
 * help the guided network? The same particle is seen from nearby angles (5 deg steps, as the demo),
 * so projection a +- 1 carries nearly the same element map, with independent noise.
 *   guided      HAADF + Au + Ag of projection a in, Au + Ag of projection a out
 *   guided-2.5d HAADF of a, Au and Ag of a - 1, a, a + 1 in (the end projections repeat their one
 *               neighbour), Au + Ag of a out
 * Both supervised with fresh noise (every channel an independent Poisson draw at one dose), the same
 * network and budget; scored by map PSNR of Au and Ag against the expected counts on the validation
 * projections at D/4, D and 4 D (the training dose range), beside raw.
 *
 * First, without training (seconds), the information the neighbours carry for a linear filter: map
 * PSNR of the Gaussian (best sigma per dose, an oracle) of projection a alone against the Gaussian
 * of the weighted sum w y_{a-1} + (1 - 2w) y_a + w y_{a+1} (best w in 0.1-1/3 and sigma per dose):
 * if the best neighbour mix gains nothing over the centre alone, the neighbours' extra counts are
 * cancelled by the particle's rotation between tilts.
 *
 *   npm run bench -- guided-25d         (about 10-20 min on 2 loaded cores)
 *   BENCH_EPOCHS=N (default 8; 0: the filter measurement only), --quick (2 epochs: a smoke run)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, openDataset } from '../../datasets/index.ts';
import { stream } from '../../core/random.ts';
import { poissonNoise } from '../../generators/signal/noise.ts';
import { psnr, valueRange } from '../../eval/metrics/index.ts';
import { gaussianFilter } from '../../eval/baselines/index.ts';
import { train, type MapItem } from '../../training/index.ts';
import { loadModel } from '../../models/io.ts';
import { denoiseTiled } from '../../models/tiling.ts';

const quick = process.argv.includes('--quick');
const epochs = Number(process.env.BENCH_EPOCHS ?? (quick ? 2 : 8));
const work = mkdtempSync(join(tmpdir(), 'nanodose-guided-25d-'));
const D = 300;
try {
  const ds = join(work, 'ds');
  await generateDataset({
    out: ds, count: 8, seed: 31, quiet: true,
    config: { samplesPerShard: 8, split: { train: 0.75, val: 0.25, test: 0 }, simulation: { phantom: { size: 48, elements: ['Au', 'Ag'] }, geometry: { angles: '-70:70:5' }, acquisition: { dose: D } } },
  });
  const r = await openDataset(ds);
  const [, A, H, W] = r.shape.tilt;
  const P = H * W;
  const ci = (n: string) => r.channels.indexOf(n);
  {
    // The filter measurement: every projection of every sample, Au and Ag, one Poisson draw per projection and dose.
    const doses = [D / 4, D, 4 * D], sigmas = [0.75, 1, 1.5, 2, 3], ws = [0, 0.1, 0.2, 1 / 3];
    const acc = doses.map(() => ws.map(() => sigmas.map(() => 0)));
    let n = 0;
    for (const i of r.indices()) {
      const s = await r.readSample(i, ['clean']);
      for (const e of ['Au', 'Ag']) {
        const c = ci(e);
        const lamOf = (a: number, d: number) => s.clean!.subarray((c * A + a) * P, (c * A + a + 1) * P).map((v) => (v * d) / D);
        for (const [j, d] of doses.entries()) {
          const y = Array.from({ length: A }, (_, a) => Float32Array.from(poissonNoise(lamOf(a, d), stream('guided-25d-filter', i, e, a, j))));
          for (let a = 0; a < A; a++) {
            const lam = lamOf(a, d), R = valueRange(lam);
            if (!(R > 0)) continue;
            if (j === 0) n++;
            const lo = y[a > 0 ? a - 1 : a + 1], hi = y[a < A - 1 ? a + 1 : a - 1];
            ws.forEach((w, k) => {
              const mix = y[a].map((v, q) => w * lo[q] + (1 - 2 * w) * v + w * hi[q]);
              sigmas.forEach((sg, l) => (acc[j][k][l] += psnr(lam, gaussianFilter(mix, H, W, sg), R)));
            });
          }
        }
      }
    }
    console.log(`filter measurement: map PSNR (dB) of the Gaussian of w y(a-1) + (1-2w) y(a) + w y(a+1), best sigma per dose, mean over ${n} maps (Au, Ag; 5 deg tilt steps)`);
    console.log(`  ${'w'.padEnd(8)} ${doses.map((d) => `${d} e/A^2`.padStart(14)).join('')}`);
    ws.forEach((w, k) => console.log(`  ${w.toFixed(2).padEnd(8)} ${doses.map((_, j) => { const b = Math.max(...acc[j][k]); return `${(b / n).toFixed(2)} (s ${sigmas[acc[j][k].indexOf(b)]})`.padStart(14); }).join('')}`));
  }
  if (epochs > 0) {
  type Group = { clean: Float32Array[]; sample: number; angle: number };
  const groups = async (split: 'train' | 'val', neighbours: boolean): Promise<Group[]> => {
    const out: Group[] = [];
    for (const i of r.indices(split)) {
      const s = await r.readSample(i, ['clean']);
      const map = (c: number, a: number) => s.clean!.subarray((c * A + a) * P, (c * A + a + 1) * P);
      for (let a = 0; a < A; a++) {
        const lo = a > 0 ? a - 1 : a + 1, hi = a < A - 1 ? a + 1 : a - 1;
        const el = (n: string) => (neighbours ? [map(ci(n), lo), map(ci(n), a), map(ci(n), hi)] : [map(ci(n), a)]);
        out.push({ clean: [map(ci('HAADF'), a), ...el('Au'), ...el('Ag')], sample: i, angle: a });
      }
    }
    return out;
  };
  const variants = { guided: ['HAADF', 'Au', 'Ag'], 'guided-2.5d': ['HAADF', 'Au-1', 'Au', 'Au+1', 'Ag-1', 'Ag', 'Ag+1'] };
  const models: Record<string, Awaited<ReturnType<typeof loadModel>>> = {};
  const val: Record<string, Group[]> = {};
  for (const [name, channels] of Object.entries(variants)) {
    const nb = channels.length > 3;
    const items = (g: Group[]): MapItem[][] => g.map((x) => x.clean.map((c) => ({ h: H, w: W, clean: c, dose: D })));
    const tr = await groups('train', nb);
    val[name] = await groups('val', nb);
    const out = join(work, name);
    const t0 = performance.now();
    await train({
      data: { kind: 'multi-maps', channels, train: items(tr), val: items(val[name]) }, scheme: 'supervised', out, inputs: channels, outputs: ['Au', 'Ag'],
      model: { arch: 'unet', depth: 3, filters: 16 }, epochs, stepsPerEpoch: quick ? 4 : 15, batch: 8, patch: 48, lr: 2e-3, doseRange: [D / 4, 4 * D], seed: 4, quiet: true,
    });
    console.log(`trained ${name} (${channels.length} channels in) in ${((performance.now() - t0) / 1000).toFixed(0)} s (loaded)`);
    models[name] = await loadModel(out);
  }
  await r.close();
  const doses = [D / 4, D, 4 * D];
  const sums: Record<string, number[]> = {};
  const add = (m: string, j: number, v: number) => { (sums[m] ??= doses.map(() => 0))[j] += v; };
  let n = 0;
  const v3 = val.guided, v7 = val['guided-2.5d'];
  for (let g = 0; g < v3.length; g++) {
    for (const [j, d] of doses.entries()) {
      // One Poisson draw per projection and channel, shared by both models (the 2.5-D model's neighbours are the other projections' draws).
      const draw = (x: Float32Array, a: number, c: string) => Float32Array.from(poissonNoise(x.map((v) => (v * d) / D), stream('guided-25d', v3[g].sample, a, c, j)));
      const a = v3[g].angle, lo = a > 0 ? a - 1 : a + 1, hi = a < A - 1 ? a + 1 : a - 1;
      const x3 = [draw(v3[g].clean[0], a, 'HAADF'), draw(v3[g].clean[1], a, 'Au'), draw(v3[g].clean[2], a, 'Ag')];
      const c7 = v7[g].clean;
      const x7 = [x3[0], draw(c7[1], lo, 'Au'), x3[1], draw(c7[3], hi, 'Au'), draw(c7[4], lo, 'Ag'), x3[2], draw(c7[6], hi, 'Ag')];
      const run = async (name: string, xs: Float32Array[]) => {
        const x = new Float32Array(xs.length * P);
        xs.forEach((m, k) => x.set(m, k * P));
        return denoiseTiled(models[name].model, x, [xs.length, H, W], { metadata: models[name].metadata });
      };
      const y3 = await run('guided', x3), y7 = await run('guided-2.5d', x7);
      for (let e = 0; e < 2; e++) {
        const lam = v3[g].clean[e + 1].map((v) => (v * d) / D);
        const R = valueRange(lam);
        if (!(R > 0)) continue;
        if (j === 0) n++;
        add('raw', j, psnr(lam, x3[e + 1], R));
        add('guided', j, psnr(lam, y3.subarray(e * P, (e + 1) * P), R));
        add('guided-2.5d', j, psnr(lam, y7.subarray(e * P, (e + 1) * P), R));
      }
    }
  }
  for (const { model } of Object.values(models)) model.dispose();
  console.log(`\nmap PSNR (dB) against the expected counts, mean over ${n} validation maps (Au and Ag of ${v3.length} projections), stored dose D = ${D} (loaded machine)`);
  console.log(`  ${'method'.padEnd(14)} ${doses.map((d) => `${d} e/A^2`.padStart(12)).join('')}`);
  for (const [m, v] of Object.entries(sums)) console.log(`  ${m.padEnd(14)} ${v.map((x) => (x / n).toFixed(2).padStart(12)).join('')}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
