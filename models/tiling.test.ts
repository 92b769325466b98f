/**
 * Tiled inference: tile layout, the exact cone of each architecture against an empirical
 * perturbation test, tiled = whole-image inference (predictPadded on the normalised map) on an odd,
 * non-square map for several tile sizes and with test-time augmentation, the normalisation round
 * trip (constant k in, k out; scale equivariance), no tensor leaks, and clear errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend.ts';
import type { ModelMetadata } from './io.ts';
import { buildModel, padMultiple, predictPadded, receptiveField } from './networks/build.ts';
import { type ModelSpec, validateModelSpec } from './networks/spec.ts';
import { channelScales, defaultNormalisation } from './normalise.ts';
import { randomValues } from './testing.ts';
import { axisWeights, contextExtent, denoiseTiled, highCountParts, minimumOverlap, splitCounts, tileStarts } from './tiling.ts';
import { stream } from '../core/random.ts';
import { ConfigError } from '../core/validate.ts';

await initBackend({ backend: 'wasm', quiet: true });

const meta = (spec: ModelSpec, channels: string[]): ModelMetadata => ({ spec, normalisation: defaultNormalisation(), scheme: 'test', channels, nanodoseVersion: '0' });

/** Poisson-like positive counts with structure (a blob and a gradient), deterministic. */
function counts(C: number, h: number, w: number, seed: number): Float32Array {
  const r = randomValues(C * h * w, seed);
  const out = new Float32Array(C * h * w);
  for (let c = 0; c < C; c++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const blob = Math.exp(-((i - h / 3) ** 2 + (j - w / 2) ** 2) / (2 * (h / 5) ** 2));
    out[(c * h + i) * w + j] = Math.max(0, Math.round((3 + 5 * c) * (0.2 + blob + j / w) + 2 * r[(c * h + i) * w + j]));
  }
  return out;
}

/** The reference: whole-image inference of the normalised map (predictPadded), times the scales. */
function wholeImage(model: tf.LayersModel, spec: ModelSpec, x: Float32Array, C: number, h: number, w: number, tta = false, outScale?: number[]): Float32Array {
  const s = channelScales(x, C, h, w, defaultNormalisation());
  const Cout = spec.outChannels;
  const outIdx = outScale ?? Array.from({ length: Cout }, (_, o) => (Cout === C ? o : C - Cout + o));
  const y = tf.tidy(() => {
    const chw = tf.tensor3d(x, [C, h, w]).div(tf.tensor3d(Float32Array.from(s), [C, 1, 1]));
    const img = chw.transpose([1, 2, 0]).expandDims(0) as tf.Tensor4D; // NHWC
    const run = (t: tf.Tensor4D) => predictPadded(model, spec, t);
    let out: tf.Tensor4D;
    if (!tta) out = run(img);
    else {
      // The 8 dihedral transforms with tf ops: rotations by 0/90/180/270 degrees, each with and without a flip.
      const terms: tf.Tensor4D[] = [];
      for (const flip of [false, true]) {
        const base = flip ? (tf.reverse(img, 2) as tf.Tensor4D) : img;
        for (let k = 0; k < 4; k++) {
          let t = base;
          for (let q = 0; q < k; q++) t = tf.reverse(tf.transpose(t, [0, 2, 1, 3]), 2) as tf.Tensor4D; // rot90
          let p = run(t);
          for (let q = 0; q < k; q++) p = tf.transpose(tf.reverse(p, 2), [0, 2, 1, 3]) as tf.Tensor4D; // undo rot90
          terms.push(flip ? (tf.reverse(p, 2) as tf.Tensor4D) : p);
        }
      }
      out = tf.addN(terms).div(8) as tf.Tensor4D;
    }
    const sc = tf.tensor1d(Float32Array.from(outIdx, (c) => s[c]));
    return out.mul(sc).squeeze([0]).transpose([2, 0, 1]);
  });
  const data = Float32Array.from(y.dataSync());
  y.dispose();
  return data;
}

async function rejects(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    // A caller's mistake (a bad argument or option): ConfigError, exit 2 at the CLI.
    assert.instance(e, ConfigError, `${(e as Error).name}: ${(e as Error).message}`);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

function relToRange(a: Float32Array, b: Float32Array): number {
  let mn = Infinity, mx = -Infinity, err = 0;
  for (let i = 0; i < b.length; i++) {
    mn = Math.min(mn, b[i]);
    mx = Math.max(mx, b[i]);
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / Math.max(1e-12, mx - mn);
}

test('tileStarts: origins on the pad multiple, overlaps >= requested, last tile ends at the border, one tile when it fits', () => {
  for (const [L, T, o, m] of [[101, 40, 18, 2], [77, 64, 46, 4], [1000, 256, 110, 8], [300, 256, 110, 8], [263, 256, 30, 8], [57, 20, 9, 1]]) {
    const t = tileStarts(L, T, o, m);
    assert.is(t[0][0], 0);
    assert.is(t[t.length - 1][1], L);
    for (const [s, e] of t) {
      assert.is(s % m, 0, `start ${s} on multiples of ${m}`);
      assert.ok(e - s <= Math.max(T, L <= T ? L : 0) + m - 1, `tile ${s}..${e} at most tile + m - 1 long`);
    }
    for (let i = 1; i < t.length; i++) assert.ok(t[i - 1][1] - t[i][0] >= o, `L=${L} T=${T}: overlap ${t[i - 1][1] - t[i][0]} >= ${o}`);
  }
  assert.equal(tileStarts(77, 128, 50, 4), [[0, 77]]);
  assert.throws(() => tileStarts(200, 50, 46, 4), (e: Error) => e instanceof ConfigError && /tile: 50 px is too small for an overlap of 46 px/.test(e.message));
});

test('axisWeights: zero in the guard bands, raised cosine over the blend zone, two tiles sum to 1 over the overlap', () => {
  const [before, after, overlap] = [5, 7, 20];
  const blend = overlap - before - after;
  const a = axisWeights(0, 40, 80, before, after, blend); // left tile, image border at 0
  const b = axisWeights(20, 80, 80, before, after, blend); // right tile, overlap [20, 40)
  assert.is(a[0], 1);
  for (let i = 0; i < after; i++) assert.is(a[39 - i], 0, 'guard band before the right edge');
  for (let i = 0; i < before; i++) assert.is(b[i], 0, 'guard band after the left edge');
  for (let x = 20; x < 40; x++) assert.ok(Math.abs(a[x] + b[x - 20] - 1) < 1e-6, `sum at ${x}: ${a[x] + b[x - 20]}`);
});

test('contextExtent: the cone of each architecture equals the empirical extent of a perturbation (every pooling alignment)', () => {
  const specs: Partial<ModelSpec>[] = [
    { arch: 'unet', depth: 3, filters: 4, activation: 'leakyRelu' },
    { arch: 'unet', depth: 3, filters: 4, down: 'strided', activation: 'leakyRelu' },
    { arch: 'unet', depth: 3, filters: 4, up: 'bilinear', activation: 'leakyRelu' },
    { arch: 'unet', depth: 2, filters: 4, up: 'nearest', down: 'strided', activation: 'leakyRelu' },
    { arch: 'unet', depth: 2, filters: 4, smooth: 1.5, smoothResidual: true, activation: 'leakyRelu' },
    { arch: 'tiny', activation: 'leakyRelu' },
    { arch: 'dncnn', depth: 4, filters: 4, batchNorm: false, activation: 'leakyRelu' },
  ];
  for (const raw of specs) {
    const spec = validateModelSpec(raw);
    const { before, after } = contextExtent(spec);
    const rf = receptiveField(spec), m = padMultiple(spec);
    assert.ok(before + after + 1 <= rf + m - 1, `${JSON.stringify(raw)}: cone ${before}+${after}+1 within rf ${rf} + ${m - 1}`);
    const model = buildModel(spec);
    // seeded weights (tf's initialisers are unseeded: at the cone's edge an unlucky draw left an influence
    // under the 1e-5 threshold now and then); the fixed smoothing kernel is not trainable and stays
    tf.tidy(() => model.trainableWeights.forEach((v, i) => v.write(tf.tensor(randomValues(tf.util.sizeFromShape(v.shape as number[]), 500 + i), v.shape as number[]))));
    const H = 2 * m, W = m * Math.ceil((3 * rf + 4 * m) / m);
    const base = randomValues(H * W, 3);
    const n = 2 * m, c0 = m * Math.floor(W / (2 * m));
    const batch = new Float32Array(n * H * W);
    for (let k = 0; k < n; k++) {
      batch.set(base, k * H * W);
      for (let r = 0; r < H; r++) batch[k * H * W + r * W + c0 + k] += 30;
    }
    const [ref, out] = tf.tidy(() => [model.predict(tf.tensor4d(base, [1, H, W, 1])) as tf.Tensor, model.predict(tf.tensor4d(batch, [n, H, W, 1])) as tf.Tensor]).map((t) => {
      const d = t.dataSync().slice();
      t.dispose();
      return d;
    });
    // Input column j = c0 + k changed; output column x responds: it depends on inputs up to x - j before / j - x after.
    let eb = 0, ea = 0;
    for (let k = 0; k < n; k++) for (let x = 0; x < W; x++) {
      let changed = false;
      for (let r = 0; r < H && !changed; r++) changed = Math.abs(out[k * H * W + r * W + x] - ref[r * W + x]) > 1e-5;
      if (changed) {
        ea = Math.max(ea, c0 + k - x);
        eb = Math.max(eb, x - c0 - k);
      }
    }
    assert.equal([eb, ea], [before, after], `${JSON.stringify(raw)}: empirical [before, after] vs contextExtent`);
    model.dispose();
  }
  const def = validateModelSpec({});
  assert.equal(contextExtent(def), { before: 51, after: 51 });
  assert.is(minimumOverlap(def), 102);
});

const h = 77, w = 101;

test('tiled = whole-image inference on a 77 x 101 map (U-Nets, several tile sizes, 2-in/1-out, batch 1 and 3)', async () => {
  const cases: { raw: Partial<ModelSpec>; channels: string[]; tiles: [number, number?][] }[] = [
    // depth 3: m = 4, rf 44, minimum overlap 46
    { raw: { arch: 'unet', depth: 3, filters: 4 }, channels: ['Au'], tiles: [[52, 46], [64, 46], [72, 50], [96], [128]] },
    // strided down + bilinear up, HAADF + element in, element out (output scaled by the element's scale)
    { raw: { arch: 'unet', depth: 3, filters: 4, down: 'strided', up: 'bilinear', batchNorm: true, inChannels: 2, outChannels: 1 }, channels: ['HAADF', 'Au'], tiles: [[64, 55], [90]] },
    { raw: { arch: 'unet', depth: 2, filters: 4, up: 'nearest', residual: true }, channels: ['Pd'], tiles: [[24, 18], [40]] },
  ];
  for (const { raw, channels, tiles } of cases) {
    const spec = validateModelSpec(raw);
    const model = buildModel(spec);
    const C = spec.inChannels;
    const x = counts(C, h, w, 5);
    const ref = wholeImage(model, spec, x, C, h, w);
    for (const [tile, overlap] of tiles) {
      for (const batch of [1, 3]) {
        const before = tf.memory().numTensors;
        const y = await denoiseTiled(model, x, [C, h, w], { metadata: meta(spec, channels), tile, overlap, batch });
        assert.is(tf.memory().numTensors, before, 'no tensor leaks');
        assert.is(y.length, spec.outChannels * h * w);
        const e = relToRange(y, ref);
        const nTiles = tileStarts(h, tile, overlap ?? minimumOverlap(spec) + 16, padMultiple(spec)).length * tileStarts(w, tile, overlap ?? minimumOverlap(spec) + 16, padMultiple(spec)).length;
        assert.ok(e <= 1e-5, `${JSON.stringify(raw)} tile ${tile} overlap ${overlap ?? 'default'} batch ${batch} (${nTiles} tiles): max error ${e.toExponential(2)} of the output range`);
      }
    }
    model.dispose();
  }
});

test('guided multi-channel model (HAADF + 2 elements in any order -> 2 elements out, named outputs): tiled = whole image to 1e-5', async () => {
  // Inputs Au, HAADF, Ag; outputs Ag, Au: each output is scaled back by its own input's scale.
  const spec = validateModelSpec({ arch: 'unet', depth: 3, filters: 4, inChannels: 3, outChannels: 2 });
  const model = buildModel(spec);
  const x = counts(3, h, w, 11);
  // The HAADF channel 100x brighter than the EDX maps: per-channel normalisation makes the scale irrelevant.
  for (let i = h * w; i < 2 * h * w; i++) x[i] *= 100;
  const ref = wholeImage(model, spec, x, 3, h, w, false, [2, 0]);
  const metadata = { ...meta(spec, ['Au', 'HAADF', 'Ag']), outputChannels: ['Ag', 'Au'] };
  for (const [tile, overlap] of [[52, 46], [72, undefined], [128, undefined]] as [number, number | undefined][]) {
    const y = await denoiseTiled(model, x, [3, h, w], { metadata, tile, overlap, batch: 2 });
    const e = relToRange(y, ref);
    assert.ok(e <= 1e-5, `tile ${tile}: max error ${e.toExponential(2)} of the output range`);
  }
  // Outputs naming a channel that is not an input are refused.
  await denoiseTiled(model, x, [3, h, w], { metadata: { ...metadata, outputChannels: ['Ag', 'Pd'] } }).then(() => assert.unreachable('accepted'), (e) => assert.match(String(e), /outputChannels/));
  model.dispose();
});

test('tiled test-time augmentation = whole-image average over the 8 dihedral transforms', async () => {
  const spec = validateModelSpec({ arch: 'unet', depth: 3, filters: 4, inChannels: 2, outChannels: 2 });
  const model = buildModel(spec);
  const x = counts(2, h, w, 9);
  const ref = wholeImage(model, spec, x, 2, h, w, true);
  const plain = wholeImage(model, spec, x, 2, h, w, false);
  assert.ok(relToRange(plain, ref) > 1e-3, 'tta changes the output of an untrained net (the test can fail)');
  for (const tile of [56, 200]) {
    const before = tf.memory().numTensors;
    const y = await denoiseTiled(model, x, [2, h, w], { metadata: meta(spec, ['Au', 'Pd']), tile, overlap: 46, tta: true });
    assert.is(tf.memory().numTensors, before, 'no tensor leaks');
    const e = relToRange(y, ref);
    assert.ok(e <= 1e-5, `tile ${tile}: tta error ${e.toExponential(2)} of the output range`);
  }
  // A model whose metadata says tta: its default (the evaluation and denoise apply it); tta: false overrides.
  const withTta = { ...meta(spec, ['Au', 'Pd']), tta: true };
  assert.ok(relToRange(await denoiseTiled(model, x, [2, h, w], { metadata: withTta }), ref) <= 1e-5, 'metadata tta is the default');
  assert.ok(relToRange(await denoiseTiled(model, x, [2, h, w], { metadata: withTta, tta: false }), plain) <= 1e-5, 'tta: false overrides the metadata');
  model.dispose();
});

test('normalisation round trip: a constant map k through an identity model returns k; the output scales with the input', async () => {
  // Residual U-Net with every weight zero: network output = normalised input exactly.
  const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 4, residual: true });
  const model = buildModel(spec);
  model.setWeights(model.getWeights().map((t) => tf.zerosLike(t)));
  for (const k of [0.05, 3, 1234]) {
    const x = new Float32Array(h * w).fill(k);
    const y = await denoiseTiled(model, x, [1, h, w], { metadata: meta(spec, ['Au']), tile: 40, tta: true });
    let err = 0;
    for (const v of y) err = Math.max(err, Math.abs(v - k));
    assert.ok(err <= 1e-5 * k, `k = ${k}: max |y - k| = ${err}`);
  }
  model.dispose();
  // A random net: f(a x) = a f(x) because the network sees x / mean(x) (whole-map scale, not per tile).
  const spec2 = validateModelSpec({ arch: 'unet', depth: 3, filters: 4 });
  const net = buildModel(spec2);
  const x = counts(1, h, w, 2);
  const y1 = await denoiseTiled(net, x, [1, h, w], { metadata: meta(spec2, ['Au']), tile: 52, overlap: 46 });
  const y2 = await denoiseTiled(net, x.map((v) => 40 * v), [1, h, w], { metadata: meta(spec2, ['Au']), tile: 52, overlap: 46 });
  assert.ok(relToRange(y2, y1.map((v) => 40 * v)) < 1e-5, 'scale equivariance');
  net.dispose();
});

test('high-count split: parts are independent Poisson maps at 1/m of the dose that sum to the input; an identity model returns the input; within range nothing changes', async () => {
  // Poisson(lambda) counts split into m parts: each part Poisson(lambda / m) (mean = variance), parts uncorrelated.
  const N = 40000, lambda = 6, m = 4;
  const rng = stream('split-test');
  const x = Float32Array.from({ length: N }, () => rng.poisson(lambda));
  const parts = splitCounts(x, [1, 1, N], m);
  assert.is(parts.length, m);
  for (let i = 0; i < N; i++) assert.is(parts.reduce((a, p) => a + p[i], 0), x[i]);
  const mom = (a: Float32Array) => { let s = 0, q = 0; for (const v of a) { s += v; q += v * v; } const mu = s / N; return { mu, v: q / N - mu * mu }; };
  const se = Math.sqrt(lambda / m / N);
  for (const p of parts) {
    const { mu, v } = mom(p);
    assert.ok(Math.abs(mu - lambda / m) < 5 * se, `part mean ${mu} vs ${lambda / m}`);
    // Var of the sample variance of Poisson(l) ~ (l + 2 l^2) / N
    assert.ok(Math.abs(v - lambda / m) < 5 * Math.sqrt((lambda / m + 2 * (lambda / m) ** 2) / N), `part variance ${v} vs ${lambda / m}`);
  }
  const a = mom(parts[0]), b = mom(parts[1]);
  let cov = 0;
  for (let i = 0; i < N; i++) cov += (parts[0][i] - a.mu) * (parts[1][i] - b.mu);
  const corr = cov / N / Math.sqrt(a.v * b.v);
  assert.ok(Math.abs(corr) < 5 / Math.sqrt(N), `parts correlated: ${corr}`);
  // A non-count guide channel is given whole to every part.
  const g = Float32Array.from({ length: 2 * 16 }, (_, i) => (i < 16 ? 0.5 + i : 3 + (i % 5)));
  for (const p of splitCounts(g, [2, 4, 4], 3)) assert.equal(Array.from(p.subarray(0, 16)), Array.from(g.subarray(0, 16)));

  // Identity model (zero-weight residual U-Net): the split estimate sums back to the input exactly.
  const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 4, residual: true });
  const model = buildModel(spec);
  model.setWeights(model.getWeights().map((t) => tf.zerosLike(t)));
  const y0 = counts(1, h, w, 9); // mean about 5 counts per pixel
  const mean = y0.reduce((s, v) => s + v, 0) / y0.length;
  const md = { ...meta(spec, ['Au']), countLevels: { Au: [mean / 8, mean / 3.5] }, highCounts: 'split' };
  assert.is(highCountParts(md, y0, [1, h, w]), 4);
  const y = await denoiseTiled(model, y0, [1, h, w], { metadata: md });
  let err = 0;
  for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - y0[i]));
  assert.ok(err < 1e-4, `identity with split: max |y - x| = ${err}`);
  model.dispose();
  // A random net: the split estimate is the sum of its estimates of the parts; 'extrapolate' and in-range maps are untouched.
  const spec2 = validateModelSpec({ arch: 'unet', depth: 2, filters: 4 });
  const net = buildModel(spec2);
  const md2 = { ...md, spec: spec2 };
  const split = await denoiseTiled(net, y0, [1, h, w], { metadata: md2 });
  const once = await denoiseTiled(net, y0, [1, h, w], { metadata: md2, highCounts: 'extrapolate' });
  const ref = new Float32Array(y0.length);
  for (const p of splitCounts(y0, [1, h, w], 4)) (await denoiseTiled(net, p, [1, h, w], { metadata: md2 })).forEach((v, i) => (ref[i] += v));
  // the parts' tiles share network calls (batches across parts), each tile keeping the bits it gets alone
  assert.ok(Buffer.from(split.buffer).equals(Buffer.from(ref.buffer)), 'split = sum over the parts, bit for bit');
  const tiled = await denoiseTiled(net, y0, [1, h, w], { metadata: md2, tile: 40, batch: 3 });
  const refTiled = new Float32Array(y0.length);
  for (const p of splitCounts(y0, [1, h, w], 4)) (await denoiseTiled(net, p, [1, h, w], { metadata: md2, tile: 40, batch: 3 })).forEach((v, i) => (refTiled[i] += v));
  assert.ok(Buffer.from(tiled.buffer).equals(Buffer.from(refTiled.buffer)), 'several tiles per part, batches of 3 across parts: the same bits as the parts alone');
  assert.ok(relToRange(split, once) > 1e-3, 'the split changed the estimate');
  const inRange = { ...md2, countLevels: { Au: [mean / 2, mean * 1.2] } };
  assert.is(highCountParts(inRange, y0, [1, h, w]), 1);
  assert.equal(await denoiseTiled(net, y0, [1, h, w], { metadata: inRange }), once);
  // Non-integer element counts cannot be thinned: applied as is.
  assert.is(highCountParts(md2, y0.map((v) => v + 0.5), [1, h, w]), 1);
  net.dispose();
});

test('errors: channel count, overlap below the cone, missing metadata, wrong length', async () => {
  const spec = validateModelSpec({ arch: 'unet', depth: 3, filters: 4 });
  const model = buildModel(spec);
  const x = counts(1, h, w, 1);
  const before = tf.memory().numTensors;
  await rejects(() => denoiseTiled(model, counts(2, h, w, 1), [2, h, w], { metadata: meta(spec, ['Au']) }), /the image has 2 channel\(s\) but the model takes 1 \(Au\)/);
  await rejects(() => denoiseTiled(model, x, [1, h, w], { metadata: meta(spec, ['Au']), overlap: 44 }), /overlap: must be an integer >= 46 .*receptive field 44 px/);
  await rejects(() => denoiseTiled(model, x, [1, h, w]), /metadata .* is required/);
  await rejects(() => denoiseTiled(model, x, [1, h, w + 1], { metadata: meta(spec, ['Au']) }), /7777 values, shape \[1, 77, 102\] needs 7854/);
  await rejects(() => denoiseTiled(model, x, [1, h, w], { metadata: meta(spec, ['Au']), tile: 40, overlap: 46 }), /tile: 40 px is too small/);
  assert.is(tf.memory().numTensors, before, 'no tensors left behind by failed calls');
  model.dispose();
});

test.run();
