/**
 * Real-data check (issue 5/7): the STEM-EDX counting frames of one InP/ZnSe/ZnS quantum-dot
 * projection (../shared/data/qd-edx-frames.h5, Han et al., Nat. Mach. Intell. 3, 267, 2021:
 * `/counts/{Se,S,Zn}` uint8 [15, 256, 256], one count = 1).
 *
 * Protocol, per element: the input is the sum of frames 0-2 (3 frames); frames 3-14 (12 frames)
 * are held out and never seen by any method, model or parameter choice except the "oracle"
 * Gaussian, which is labelled as such. Every estimate of the 3-frame expected counts is scored
 * against the held-out sum y12 ~ Poisson(4 mu):
 *   - mean Poisson deviance D(y12, 4 mu_hat) (a proper score: lowest on average at the true mean;
 *     eval/metrics/counts.ts),
 *   - MSE and PSNR against y12 x 3/12 (the held-out sum at the input's dose; its own Poisson noise
 *     adds the same floor, about mean(ref)/4, to every method's MSE, printed as "floor").
 * Methods:
 *   raw              the 3-frame sum;
 *   gaussian-cv      Gaussian filter, sigma chosen WITHOUT held-out data: frame cross-validation
 *                    inside the 3 input frames (the Gaussian of two frames predicts the third,
 *                    scored by Poisson deviance);
 *   gaussian-oracle  the best sigma on the held-out score itself (an upper bound for the filter);
 *   (a) synthetic    a U-Net trained supervised on simulated maps (several particles per field,
 *                    counts mode at this data's level) and applied as is;
 *   (b) n2n-frames   a U-Net trained self-supervised on these 3 frames alone (Noise2Noise between
 *                    one frame and the other two, cryoCARE-style; the three elements pooled);
 *   (b) n2n-thinning a U-Net trained on binomially thinned halves of the 3-frame sums alone.
 *   (c) guided-n2n-frames / guided-n2n-thinning: one network with the HAADF (/haadf, its 3 input
 *                    frames summed, given whole) and Se, S, Zn in, the three maps out, trained on
 *                    the 3 frames alone (the same schemes on the EDX channels; checkpoint by the
 *                    held-out thinned-half deviance inside the 3 input frames); +tta: the same
 *                    model averaged over the 8 dihedral transforms.
 *
 *   npm run bench -- realdata            (several minutes on 2 cores)
 *   npm run bench -- realdata --quick    (shorter training: a smoke run, figures not meaningful)
 *   BENCH_MODELS=guided-n2n-frames,...   train only these model rows (default all: n2n-frames,
 *                                        n2n-thinning, guided-n2n-frames, guided-n2n-thinning, synthetic);
 *                                        raw and the Gaussian rows are always printed
 *   BENCH_EPOCHS=N                       epochs of every model (default 12; --quick 2)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readImageStack } from '../../datasets/formats/imagestack.ts';
import { generateDataset } from '../../datasets/generate.ts';
import { gaussianFilter } from '../../eval/baselines/index.ts';
import { frameSplit, scoreHeldOut, sigmaByFrameCv, CV_SIGMAS, type HeldOutSplit, type HeldOutScore } from '../../eval/heldout/index.ts';
import { train, type MapItem } from '../../training/index.ts';
import { loadModel } from '../../models/io.ts';
import { denoiseTiled } from '../../models/tiling.ts';

const quick = process.argv.includes('--quick');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argData = process.argv.find((a) => a.startsWith('--data='))?.slice(7);
const file = resolve(argData ?? join(root, '..', 'shared', 'data', 'qd-edx-frames.h5'));
if (!existsSync(file)) {
  console.log(`real-data benchmark skipped: ${file} not found (pass --data=PATH to the qd-edx-frames.h5 file)`);
  process.exit(0);
}
const ELEMENTS = ['Se', 'S', 'Zn'];
const IN_FRAMES = [0, 1, 2];
const H = 256, W = 256, P = H * W;

interface ElementData { element: string; frames: Float32Array[]; input: Float32Array; heldout: Float32Array; ref: Float32Array; split: HeldOutSplit }
const data: ElementData[] = [];
for (const e of ELEMENTS) {
  const s = await readImageStack(file, { dataset: `/counts/${e}` });
  if (s.shape.length !== 3 || s.shape[1] !== H || s.shape[2] !== W) throw new Error(`${file} /counts/${e}: expected [frames, 256, 256], got [${s.shape}]`);
  const F = s.shape[0];
  const frames = Array.from({ length: F }, (_, f) => s.data.subarray(f * P, (f + 1) * P));
  // The held-out split and its scores are eval/heldout's (shared with `nanodose eval --data FILE`).
  const split = frameSplit(frames, IN_FRAMES, H, W);
  data.push({ element: e, frames: split.inputFrames!, input: split.input, heldout: split.heldout, ref: split.ref, split });
}
const heldRatio = (15 - IN_FRAMES.length) / IN_FRAMES.length;
console.log(`real data: ${file}`);
for (const d of data) {
  const sum = (a: Float32Array) => a.reduce((x, v) => x + v, 0);
  console.log(`  ${d.element.padEnd(2)}: input ${IN_FRAMES.length} frames ${sum(d.input)} counts (${(sum(d.input) / P).toFixed(4)} per pixel), held out ${15 - IN_FRAMES.length} frames ${sum(d.heldout)} counts`);
}

type Scores = HeldOutScore;
const score = (d: ElementData, est: Float32Array): Scores => scoreHeldOut(d.split, est);
const SIGMAS = CV_SIGMAS;

const results: Record<string, Record<string, Scores & { note?: string }>> = {};
const put = (method: string, e: string, s: Scores, note?: string) => ((results[method] ??= {})[e] = { ...s, note });
for (const d of data) {
  put('raw', d.element, score(d, d.input));
  const sCv = sigmaByFrameCv([d.frames], H, W);
  put('gaussian-cv', d.element, score(d, gaussianFilter(d.input, H, W, sCv)), `sigma ${sCv}`);
  let bestO: Scores | null = null, sO = 0;
  for (const s of SIGMAS) { const sc = score(d, gaussianFilter(d.input, H, W, s)); if (!bestO || sc.deviance < bestO.deviance) { bestO = sc; sO = s; } }
  put('gaussian-oracle', d.element, bestO!, `sigma ${sO} (chosen on the held-out frames)`);
}

const work = mkdtempSync(join(tmpdir(), 'nanodose-realdata-'));
const epochs = Number(process.env.BENCH_EPOCHS ?? (quick ? 2 : 12)), steps = quick ? 5 : 40;
const net = { arch: 'unet', depth: 3, filters: 16 };
const tTrain: Record<string, number> = {};
const MODELS = ['n2n-frames', 'n2n-thinning', 'guided-n2n-frames', 'guided-n2n-thinning', 'synthetic'];
const only = process.env.BENCH_MODELS ? process.env.BENCH_MODELS.split(',').map((m) => m.trim()) : MODELS;
for (const m of only) if (!MODELS.includes(m)) throw new Error(`BENCH_MODELS: unknown model row '${m}'; allowed: ${MODELS.join(', ')}`);
const wanted = (m: string) => only.includes(m);
async function applyModel(dir: string, method: string) {
  const { model, metadata } = await loadModel(dir);
  for (const d of data) put(method, d.element, score(d, await denoiseTiled(model, d.input, [1, H, W], { metadata })));
  model.dispose();
}
try {
  // (b) self-supervised on the 3 input frames alone: the three elements pooled as one channel.
  const items: MapItem[] = data.map((d) => ({ h: H, w: W, noisy: d.input, frames: d.frames }));
  for (const scheme of ['n2n-frames', 'n2n-thinning'] as const) {
    if (!wanted(scheme)) continue;
    const t0 = performance.now();
    const out = join(work, scheme);
    await train({ data: { kind: 'maps', channel: 'EDX', train: items, val: items }, scheme, out, model: net, noise: 'fixed', epochs, stepsPerEpoch: steps, batch: 8, patch: 64, loss: 'poisson', seed: 7, quiet: true });
    tTrain[scheme] = (performance.now() - t0) / 1000;
    await applyModel(join(out, 'best'), scheme);
  }
  // (c) HAADF-guided, self-supervised on the 3 input frames alone: HAADF (sum of its 3 frames, given
  // whole) + Se + S + Zn in, the three element maps out; n2n-frames and n2n-thinning on the EDX channels.
  {
    const hs = await readImageStack(file, { dataset: '/haadf' });
    const haadf = new Float32Array(P);
    for (const f of IN_FRAMES) for (let i = 0; i < P; i++) haadf[i] += hs.data[f * P + i];
    const hFrames = IN_FRAMES.map((f) => Float32Array.from(hs.data.subarray(f * P, (f + 1) * P)));
    const group = [{ h: H, w: W, noisy: haadf, frames: hFrames }, ...data.map((d) => ({ h: H, w: W, noisy: d.input, frames: d.frames }))];
    for (const scheme of ['n2n-frames', 'n2n-thinning'] as const) {
      const name = `guided-${scheme}`;
      if (!wanted(name)) continue;
      const t0 = performance.now();
      const out = join(work, name);
      await train({ data: { kind: 'multi-maps', channels: ['HAADF', ...ELEMENTS], train: [group], val: [group] }, scheme, out, model: net, noise: 'fixed', epochs, stepsPerEpoch: steps, batch: 8, patch: 64, loss: 'poisson', seed: 7, quiet: true });
      tTrain[name] = (performance.now() - t0) / 1000;
      const { model, metadata } = await loadModel(join(out, 'best'));
      const x = new Float32Array(4 * P);
      x.set(haadf, 0);
      data.forEach((d, k) => x.set(d.input, (k + 1) * P));
      const y = await denoiseTiled(model, x, [4, H, W], { metadata });
      data.forEach((d, k) => put(name, d.element, score(d, y.slice(k * P, (k + 1) * P)), `best epoch ${metadata.epoch}`));
      // the same model averaged over the 8 dihedral transforms (it is trained with them): lower variance
      const yt = await denoiseTiled(model, x, [4, H, W], { metadata, tta: true });
      data.forEach((d, k) => put(`${name}+tta`, d.element, score(d, yt.slice(k * P, (k + 1) * P)), `best epoch ${metadata.epoch}, 8 dihedral transforms`));
      model.dispose();
    }
  }
  // (a) supervised on simulated data: 128^3 fields of 3-6 particles of about 30 px (the real dots
  // are 30-40 px in a 256 px field), counts mode at 0.1 counts per pixel inside the particles per
  // tilt (the 3-frame level: 0.25-0.66 after 15 frames), 8 tilts each, several element layouts.
  if (wanted('synthetic')) {
    const t0 = performance.now();
    const dataDir = join(work, 'synthetic');
    await generateDataset({
      config: {
        simulation: {
          phantom: { size: 128, elements: ['Zn', 'Se'], particles: [3, 6], sizeFraction: [0.55, 0.8], composition: { solid: 1, alloy: 1, 'core-shell': 2 } },
          geometry: { angles: '-70:70:20' },
          acquisition: { mode: 'counts', countsInParticle: 0.1 },
        },
        split: { train: 0.75, val: 0.25, test: 0 },
        store: { phantom: false, clean: true, noisy: true, frames: false },
        samplesPerShard: 16,
      },
      count: quick ? 10 : 32, out: dataDir, seed: 12, quiet: true,
    });
    const out = join(work, 'synthetic-model');
    // doses as a ratio of the stored one: 0.3x to 3x of 0.1 counts per particle pixel
    const { openDataset } = await import('../../datasets/index.ts');
    const ds = await openDataset(dataDir);
    const d0 = ds.meta(ds.indices()[0]).dose;
    await ds.close();
    await train({ data: dataDir, scheme: 'supervised', out, model: net, epochs, stepsPerEpoch: steps, batch: 8, patch: 64, loss: 'poisson', doseRange: [0.3 * d0, 3 * d0], seed: 5, quiet: true });
    tTrain.synthetic = (performance.now() - t0) / 1000;
    await applyModel(join(out, 'best'), 'synthetic');
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const NW = Math.max(...Object.keys(results).map((m) => m.length)) + 1;
console.log(`\nscores against the held-out ${15 - IN_FRAMES.length}-frame sum (lower deviance/MSE and higher PSNR are better)`);
for (const d of data) {
  const floor = d.ref.reduce((a, v) => a + v, 0) / P / heldRatio;
  console.log(`\n${d.element}: (MSE floor from the reference's own noise: mean(ref)/4 = ${floor.toExponential(3)}; MSE - floor estimates the error against the true mean)`);
  console.log(`  ${'method'.padEnd(NW)} ${'deviance'.padStart(10)} ${'MSE'.padStart(11)} ${'MSE-floor'.padStart(11)} ${'PSNR dB'.padStart(8)}  vs raw`);
  const raw = results.raw[d.element];
  for (const [m, byEl] of Object.entries(results)) {
    const s = byEl[d.element];
    if (!s) continue;
    console.log(`  ${m.padEnd(NW)} ${s.deviance.toFixed(5).padStart(10)} ${s.mse.toExponential(3).padStart(11)} ${(s.mse - floor).toExponential(3).padStart(11)} ${s.psnr.toFixed(2).padStart(8)}  ${(s.psnr - raw.psnr >= 0 ? '+' : '') + (s.psnr - raw.psnr).toFixed(2)} dB${s.note ? `  (${s.note})` : ''}`);
  }
}
console.log('\nmean over elements:');
for (const [m, byEl] of Object.entries(results)) {
  const v = Object.values(byEl);
  const mean = (k: keyof Scores) => v.reduce((a, s) => a + s[k], 0) / v.length;
  console.log(`  ${m.padEnd(NW)} deviance ${mean('deviance').toFixed(5)}  PSNR ${mean('psnr').toFixed(2)} dB${tTrain[m] ? `  (trained in ${tTrain[m].toFixed(0)} s)` : ''}`);
}
