/**
 * Multi-channel (HAADF-guided) training on a tiny simulated dataset: the trained network's output
 * depends on the HAADF (non-zero gradient; changing the HAADF changes the output); at the same
 * training budget the guided network beats the pooled single-channel one in map PSNR on the same
 * noisy maps; every scheme trains with a guide and records its channels; a resumed guided run is
 * byte-identical to the uninterrupted one; bad channel options are refused before anything is
 * written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, openDataset } from '../datasets/index.ts';
import { stream } from '../core/random.ts';
import { poissonNoise } from '../generators/signal/noise.ts';
import { ConfigError } from '../core/validate.ts';
import { loadModel } from '../models/index.ts';
import { denoiseTiled } from '../models/tiling.ts';
import { psnr, valueRange } from '../eval/metrics/index.ts';
import { train, type TrainOptions } from './index.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-guided-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const ds = join(root, 'ds');
await generateDataset({
  out: ds, count: 6, seed: 5, workers: 1, quiet: true,
  config: { samplesPerShard: 6, split: { train: 0.5, val: 0.5, test: 0 }, store: { frames: true }, simulation: { phantom: { size: 32, elements: ['Au', 'Ag'] }, geometry: { angles: '-60:60:30' }, acquisition: { frames: 4, dose: 1500 } } },
});
const base = (o: Partial<TrainOptions>): TrainOptions => ({
  data: ds, scheme: 'supervised', out: '', model: { arch: 'unet', depth: 2, filters: 8 }, epochs: 4, stepsPerEpoch: 15, batch: 8, patch: 32, lr: 3e-3,
  workers: 1, backend: 'wasm', quiet: true, valProjections: 6, seed: 1, ...o,
});
const lines = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('guided beats unguided at the same budget (supervised, map PSNR on the same noisy val maps); the output depends on the HAADF', async () => {
  const g = join(root, 'guided'), u = join(root, 'pooled');
  // The pooled net sees Au and Ag maps one at a time: the same number of element-map patches as the guided one's.
  await train(base({ out: g, inputs: ['HAADF', 'Au', 'Ag'], outputs: ['Au', 'Ag'] }));
  await train(base({ out: u, batch: 16 }));
  const G = await loadModel(g), U = await loadModel(u);
  assert.equal(G.metadata.channels, ['HAADF', 'Au', 'Ag']);
  assert.equal(G.metadata.outputChannels, ['Au', 'Ag']);
  assert.equal(G.metadata.guideChannels, ['HAADF']);
  assert.equal(G.metadata.normalisation, { kind: 'mean', floor: 1e-3, perChannel: true, channels: ['HAADF', 'Au', 'Ag'] });
  const levels = G.metadata.countLevels as Record<string, [number, number]>;
  for (const c of ['HAADF', 'Au', 'Ag']) assert.ok(levels[c][0] >= 0 && levels[c][1] > levels[c][0], `count levels of ${c}: ${levels[c]}`);
  const r = await openDataset(ds);
  const [, A, H, W] = r.shape.tilt;
  const P = H * W;
  let sumG = 0, sumU = 0, n = 0;
  let dependence = 0;
  for (const i of r.indices('val')) {
    const s = await r.readSample(i, ['clean']);
    const rng = stream('guided-test', i);
    for (let a = 0; a < A; a++) {
      // All three channels at the stored dose, one Poisson draw shared by both models.
      const noisy = [0, 1, 2].map((c) => Float32Array.from(poissonNoise(s.clean!.subarray((c * A + a) * P, (c * A + a + 1) * P), rng)));
      const x = new Float32Array(3 * P);
      noisy.forEach((m, c) => x.set(m, c * P));
      const yg = await denoiseTiled(G.model, x, [3, H, W], { metadata: G.metadata });
      for (let e = 0; e < 2; e++) {
        const clean = s.clean!.subarray(((e + 1) * A + a) * P, ((e + 1) * A + a + 1) * P);
        const R = valueRange(clean);
        if (!(R > 0)) continue;
        const yu = await denoiseTiled(U.model, noisy[e + 1], [1, H, W], { metadata: U.metadata });
        sumG += psnr(clean, yg.subarray(e * P, (e + 1) * P), R);
        sumU += psnr(clean, yu, R);
        n++;
      }
      if (a === 0) {
        // Changing only the HAADF changes the element outputs.
        const x2 = Float32Array.from(x);
        for (let k = 0; k < P; k++) x2[k] = x[(k + 7 * W) % P];
        const y2 = await denoiseTiled(G.model, x2, [3, H, W], { metadata: G.metadata });
        for (let k = 0; k < y2.length; k++) dependence = Math.max(dependence, Math.abs(y2[k] - yg[k]));
      }
    }
  }
  await r.close();
  assert.ok(n > 0);
  const mg = sumG / n, mu = sumU / n;
  console.log(`  guided ${mg.toFixed(2)} dB vs pooled single-channel ${mu.toFixed(2)} dB map PSNR (${n} maps)`);
  assert.ok(mg > mu, `guided ${mg.toFixed(2)} dB must beat unguided ${mu.toFixed(2)} dB`);
  assert.ok(dependence > 1e-3, `moving the HAADF changed the output by at most ${dependence}`);
  // Non-zero gradient of the outputs with respect to the HAADF input channel.
  const gradH = tf.tidy(() => {
    const x = tf.randomUniform([1, 32, 32, 3], 0, 2, 'float32', 3);
    const dx = tf.grad((t: tf.Tensor) => (G.model.apply(t) as tf.Tensor).sum())(x);
    return tf.abs(dx.slice([0, 0, 0, 0], [1, 32, 32, 1])).sum().dataSync()[0];
  });
  assert.ok(gradH > 0, `gradient w.r.t. the HAADF is ${gradH}`);
  G.model.dispose();
  U.model.dispose();
});

// Blind-spot learns from ~2 % of the pixels per patch: 2 x 6 steps leave it untrained (clean PSNR 7.6 -> 8.2 dB, a held-out
// deviance within noise of the untrained one, and it first gets worse); 4 x 15 steps train it (measured: deviance 0.116 -> 0.082
// as the clean PSNR rises 7.6 -> 10.0 dB).
for (const [scheme, extra] of [['n2n-thinning', { noise: 'fixed' }], ['n2n-frames', { noise: 'fixed' }], ['blind-spot', { epochs: 4, stepsPerEpoch: 15 }], ['n2n-thinning', {}]] as [TrainOptions['scheme'], Partial<TrainOptions>][]) {
  test(`${scheme} (${extra.noise ?? 'fresh'} noise) trains with the HAADF guide; checkpoints on the held-out deviance`, async () => {
    const out = join(root, `${scheme}-${extra.noise ?? 'fresh'}`);
    const r = await train(base({ scheme, out, inputs: ['HAADF', 'Au', 'Ag'], epochs: 2, stepsPerEpoch: 6, ...extra }));
    const log = lines(out);
    assert.is(log.length, (extra.epochs ?? 2) + 1);
    for (const e of log) assert.ok(Number.isFinite(e.heldoutDeviance) && e.heldoutDeviance > 0, `held-out deviance ${e.heldoutDeviance}`);
    const best = log.reduce((b, e) => (e.heldoutDeviance < b.heldoutDeviance ? e : b));
    assert.is(r.bestEpoch, best.epoch, 'the best epoch is the lowest held-out deviance');
    assert.ok(log.at(-1).heldoutDeviance < log[0].heldoutDeviance, `trained ${log.at(-1).heldoutDeviance} vs untrained ${log[0].heldoutDeviance}`);
    const cfg = JSON.parse(readFileSync(join(out, 'train-config.json'), 'utf8'));
    assert.is(cfg.criterion, 'heldout-deviance');
    assert.equal(cfg.roles, ['guide', 'element', 'element']);
    const { model, metadata } = await loadModel(out);
    assert.equal(metadata.outputChannels, ['Au', 'Ag']);
    assert.is(metadata.spec.inChannels, 3);
    assert.is(metadata.spec.outChannels, 2);
    model.dispose();
  });
}

test('resume of a guided run is byte-identical to the uninterrupted run', async () => {
  const full = join(root, 'g-full'), part = join(root, 'g-part');
  const o = { scheme: 'n2n-thinning' as const, noise: 'fixed' as const, inputs: ['HAADF', 'Au', 'Ag'], epochs: 3, stepsPerEpoch: 4, batch: 4, seed: 'resume-guided' };
  await train(base({ ...o, out: full }));
  await train(base({ ...o, out: part, onEpoch: (e) => { if (e.epoch === 1) throw new Error('simulated crash'); } })).catch(() => {});
  assert.is(lines(part).length, 2);
  await train(base({ ...o, out: part, resume: true }));
  for (const f of ['last/weights.bin', 'last/optimizer.bin', 'best/weights.bin']) assert.ok(readFileSync(join(full, f)).equals(readFileSync(join(part, f))), `${f} identical`);
  let err: unknown;
  await train(base({ ...o, out: part, resume: true, outputs: ['Au'] })).catch((e) => (err = e));
  assert.ok(err instanceof ConfigError && /(outputs|spec) differs/.test((err as Error).message), String(err));
});

test('bad channel options are refused before anything is written', async () => {
  const cases: [Partial<TrainOptions>, RegExp][] = [
    [{ inputs: ['HAADF', 'Au'], outputs: ['HAADF'] }, /HAADF is a guide/],
    [{ inputs: ['HAADF', 'Au'], outputs: ['Ag'] }, /'Ag' is not among the inputs/],
    [{ inputs: ['HAADF', 'Pd'] }, /'Pd' is not a channel of .*HAADF, Au, Ag/],
    [{ inputs: ['HAADF'] }, /at least one element channel/],
    [{ inputs: ['Au', 'Au'] }, /listed twice/],
    [{ inputs: ['HAADF', 'Au'], channels: ['Au'] }, /channels/],
  ];
  for (const [o, re] of cases) {
    const out = join(root, `bad-${Math.random().toString(36).slice(2)}`);
    let err: unknown;
    await train(base({ out, ...o })).catch((e) => (err = e));
    assert.ok(err instanceof ConfigError, `${JSON.stringify(o)}: ${err}`);
    assert.match((err as Error).message, re);
    assert.not.ok(existsSync(out), 'nothing written');
  }
});

test.run();
