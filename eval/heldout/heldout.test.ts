/**
 * Held-out scoring (eval/heldout): the splits against Poisson statistics, the score's ranking where
 * it is known, and `nanodose eval --data FILE` on the committed reader-layer fixtures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stream } from '../../core/random.ts';
import { gaussianFilter } from '../baselines/index.ts';
import { frameSplit, thinningSplit, scoreHeldOut, sigmaByFrameCv, meanWithInterval } from './index.ts';
import { evaluateUserFile, parseHeldOutMethods } from './run.ts';
import { runCli } from '../../scripts/testing/cli.ts';

const FIX = fileURLToPath(new URL('../../datasets/formats/testing/fixtures/', import.meta.url));
const run = (...args: string[]) => runCli(args);
const root = mkdtempSync(join(tmpdir(), 'nanodose-heldout-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** A smooth blob of expected counts (peak `peak`) on h x w and Poisson counts drawn from it. */
function blob(h: number, w: number, peak: number, seed: number) {
  const mu = new Float32Array(h * w);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) mu[r * w + c] = peak * Math.exp(-(((r - h / 2) / (h / 5)) ** 2 + ((c - w / 2) / (w / 4)) ** 2));
  const rng = stream(seed, 'blob');
  return { mu, y: mu.map((m) => rng.poisson(m)) };
}

test('binomial thinning gives two independent Poisson halves: means p mu and (1-p) mu, covariance 0, within 4 standard errors', () => {
  const n = 40000, lam = 3, p = 0.3, rng = stream(1, 'y');
  const y = Float32Array.from({ length: n }, () => rng.poisson(lam));
  const s = thinningSplit(y, 200, 200, p, stream(1, 'thin'));
  let m1 = 0, m2 = 0;
  for (let i = 0; i < n; i++) { m1 += s.input[i] / n; m2 += s.heldout[i] / n; }
  let cov = 0, v1 = 0;
  for (let i = 0; i < n; i++) { cov += ((s.input[i] - m1) * (s.heldout[i] - m2)) / n; v1 += (s.input[i] - m1) ** 2 / n; }
  assert.ok(Math.abs(m1 - p * lam) < 4 * Math.sqrt((p * lam) / n), `input mean ${m1}`);
  assert.ok(Math.abs(m2 - (1 - p) * lam) < 4 * Math.sqrt(((1 - p) * lam) / n), `held-out mean ${m2}`);
  assert.ok(Math.abs(v1 - p * lam) < 4 * p * lam * Math.sqrt(2 / n) + 0.05, `input variance ${v1} (Poisson: = mean)`);
  // independent halves: cov 0; its standard error is sqrt(var1 var2 / n)
  assert.ok(Math.abs(cov) < 4 * Math.sqrt((p * lam * (1 - p) * lam) / n), `covariance ${cov}`);
  assert.equal(Array.from(s.ref.slice(0, 5)), Array.from(s.heldout.slice(0, 5), (v) => Math.fround((v * p) / (1 - p))));
  assert.throws(() => thinningSplit(new Float32Array([1.5]), 1, 1, 0.5, stream(0)), /integer counts/);
});

test('frame split: input and held-out sums with their weights; the score ranks the true mean before a Gaussian and raw', () => {
  const h = 32, w = 32, K = 6, { mu } = blob(h, w, 0.4, 0);
  const rng = stream(2, 'frames');
  const frames = Array.from({ length: K }, () => mu.map((m) => rng.poisson(m)));
  const s = frameSplit(frames, [0, 1], h, w);
  assert.is(s.wIn, 2); assert.is(s.wOut, 4); assert.is(s.inputFrames!.length, 2);
  for (let i = 0; i < h * w; i++) {
    assert.is(s.input[i], frames[0][i] + frames[1][i]);
    assert.is(s.heldout[i], frames[2][i] + frames[3][i] + frames[4][i] + frames[5][i]);
  }
  const truth = scoreHeldOut(s, mu.map((m) => 2 * m)), raw = scoreHeldOut(s, s.input), g = scoreHeldOut(s, gaussianFilter(s.input, h, w, 2));
  assert.ok(truth.deviance < g.deviance && g.deviance < raw.deviance, `deviance truth ${truth.deviance}, gaussian ${g.deviance}, raw ${raw.deviance}`);
  assert.throws(() => frameSplit(frames, [0, 1, 2, 3, 4, 5], h, w), /some but not all/);
});

test('frame cross-validation picks a smoothing sigma at low counts, a small one at high counts', () => {
  const h = 48, w = 48, pick = (peak: number) => {
    const { mu } = blob(h, w, peak, 3), rng = stream(3, peak);
    return sigmaByFrameCv([Array.from({ length: 3 }, () => mu.map((m) => rng.poisson(m)))], h, w);
  };
  const lo = pick(0.3), hi = pick(300);
  assert.ok(lo >= 2 && hi <= 1.5 && hi < lo, `sigma at peak 0.3: ${lo}; at peak 300: ${hi}`);
});

test('mean with a bootstrap interval: contains the mean, collapses for equal values, none for one view', () => {
  const r = meanWithInterval([1, 2, 3, 4, 5, 6], stream(0));
  assert.is(r.mean, 3.5);
  assert.ok(r.lo < 3.5 && r.hi > 3.5 && r.lo >= 1 && r.hi <= 6);
  const c = meanWithInterval([2, 2, 2], stream(0));
  assert.equal([c.lo, c.hi], [2, 2]);
  assert.ok(Number.isNaN(meanWithInterval([1], stream(0)).lo));
});

test('eval on a per-frame Velox file (13 views x 2 frames): split by frames; a Gaussian beats raw at ~0.5 counts per pixel, its interval over views below 0', async () => {
  const out = join(root, 'frames');
  const r = await evaluateUserFile({ data: join(FIX, 'e2e_velox.emd'), methods: 'gaussian:1.5,median', out, quiet: true });
  assert.equal(r.split, { kind: 'frames', framesPerView: 2, inputFrames: 1, framesFrom: r.split.kind === 'frames' ? r.split.framesFrom : '' });
  assert.is(r.views, 13);
  assert.equal(r.channels, ['Au']);
  const g = r.rows.find((x) => x.method === 'gaussian:1.5')!, raw = r.rows.find((x) => x.method === 'raw')!;
  assert.is(g.param, 1.5); assert.is(g.paramFrom, 'given');
  assert.ok(g.vsRawHi < 0 && g.deviance < raw.deviance, `gaussian - raw: ${g.vsRaw} [${g.vsRawLo}, ${g.vsRawHi}]`);
  assert.ok(g.devianceLo <= g.deviance && g.deviance <= g.devianceHi);
  const csv = readFileSync(join(out, 'scores.csv'), 'utf8').trim().split('\n');
  assert.is(csv[0], 'channel,method,param,param_from,views,deviance,deviance_lo,deviance_hi,deviance_vs_raw,deviance_vs_raw_lo,deviance_vs_raw_hi,mse,psnr');
  assert.is(csv.length, 4);
  const json = JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8'));
  assert.is(json.perView.Au.raw.length, 13);
});

test('eval on single-frame integer counts (Velox, 9 views): binomial thinning, every classical method with its parameter cross-validated on the input; deterministic', async () => {
  const a = await evaluateUserFile({ data: join(FIX, 'tilt_velox.emd'), methods: 'raw,gaussian,median,tv,anscombe', out: join(root, 'thin1'), quiet: true });
  const b = await evaluateUserFile({ data: join(FIX, 'tilt_velox.emd'), methods: 'raw,gaussian,median,tv,anscombe', out: join(root, 'thin2'), quiet: true });
  assert.equal(a.split, { kind: 'thinning', p: 0.5, seed: 0 });
  assert.equal(a.rows.map((x) => x.method), ['raw', 'gaussian', 'median', 'tv', 'anscombe']);
  for (const x of a.rows.slice(1)) assert.match(x.paramFrom, /^thinning cross-validation/);
  const g = a.rows.find((x) => x.method === 'gaussian')!;
  assert.ok(g.vsRawHi < 0, `gaussian - raw: [${g.vsRawLo}, ${g.vsRawHi}]`);
  assert.is(readFileSync(join(root, 'thin1', 'scores.csv'), 'utf8'), readFileSync(join(root, 'thin2', 'scores.csv'), 'utf8'));
  // another seed is another split
  const c = await evaluateUserFile({ data: join(FIX, 'tilt_velox.emd'), methods: 'raw', seed: 5, out: join(root, 'thin3'), quiet: true });
  assert.not.equal(c.rows[0].deviance, a.rows[0].deviance);
});

test('methods: raw first, labels, bad ones refused naming the method', () => {
  assert.equal(parseHeldOutMethods('gaussian:2,smooth=gaussian:4').map((m) => m.label), ['raw', 'gaussian:2', 'smooth']);
  assert.throws(() => parseHeldOutMethods('fused'), /methods: 'fused' cannot be scored on a user's file/);
  assert.throws(() => parseHeldOutMethods('gaussian,gaussian'), /listed twice/);
  assert.throws(() => parseHeldOutMethods(`model:${root}`), /is not a model folder/);
});

test('nanodose eval --data FILE: the table printed and written (exit 0); bad input is one line, exit 2, nothing written', () => {
  const out = join(root, 'cli');
  const ok = run('eval', '--data', join(FIX, 'tilt_velox.emd'), '--methods', 'gaussian:1', '--out', out);
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /binomial thinning p = 0\.5/);
  assert.match(ok.stdout, /Au:\n\s+method\s+deviance/);
  assert.ok(existsSync(join(out, 'scores.csv')) && existsSync(join(out, 'scores.json')));
  const bad: [string[], RegExp][] = [
    [['--count-scale', '0.37'], /count-scale: .*tilt_velox\.emd \(Au\) has .* not an integer count/],
    [['--methods', 'fused'], /methods: 'fused' cannot be scored/],
    [['--thinning', '1.5'], /thinning: must be a probability in \(0, 1\)/],
    [['--phantoms', '2'], /phantoms: applies to a nanodose dataset/],
    [['--channels', 'Pt'], /channels: .*channel Pt missing \(the file has HAADF, Au\)/],
    [['--input-frames', '1'], /input-frames: applies to per-frame data/],
  ];
  for (const [args, re] of bad) {
    const o = join(root, `bad-${args[0].slice(2)}`);
    const r = run('eval', '--data', join(FIX, 'tilt_velox.emd'), '--out', o, ...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.not.ok(existsSync(join(o, 'scores.csv')), `${args.join(' ')} wrote scores`);
  }
  const frames = run('eval', '--data', join(FIX, 'e2e_velox.emd'), '--out', join(root, 'bad-if'), '--input-frames', '2');
  assert.is(frames.status, 2);
  assert.match(frames.stderr, /input-frames: must leave frames to hold out: 2 of 2/);
});

test.run();
