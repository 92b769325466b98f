/**
 * `nanodose quantify` end to end: a simulated Au/Ag core-shell dataset sample -> concentration volumes
 * (HDF5 with the calibration as attributes, MRC per element) within reach of the phantom; the same from
 * a user MRC tilt series of counts with --dose, and from a reconstructed HAADF volume; Au/Pt warns; bad
 * input is one line, exit 2, nothing written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, h5ready, openDataset, readMrc, writeMrc, writeTlt } from '../../datasets/index.ts';
import { runCli } from '../testing/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-quantify-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const run = (...args: string[]) => runCli(['quantify', ...args]);

const ds = join(root, 'ds');
const phantom = { size: 32, elements: ['Au', 'Ag'], classWeights: { sphere: 1 }, coreClassWeights: { sphere: 1 }, composition: { 'core-shell': 1 }, coreScale: [0.6, 0.6], diffuseProbability: 0, sizeFraction: [0.7, 0.7] };
await generateDataset({ count: 1, seed: 3, quiet: true, workers: 1, out: ds, config: { samplesPerShard: 1, store: { phantom: true, clean: true }, simulation: { phantom, geometry: { angles: '-90:87:3' }, acquisition: { dose: 3000 } } } as never });

test('a dataset sample: Au and Ag volumes, the calibration in the HDF5 attributes and printed, NRMSE against the phantom', async () => {
  const out = join(root, 'q');
  const r = run(ds, '--out', out, '--method', 'sirt:100', '--workers', '1');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /calibration: k = [\d.e-]+, gamma = 1\.7, threshold = [\d.e-]+ \(otsu\)/);
  assert.match(r.stdout, /conditioning: Au\/Ag Z ratio 0\.595, Z\^gamma contrast 58\.6 %, noise amplification x1\.71/);
  for (const el of ['Au', 'Ag']) assert.ok(existsSync(`${out}_${el}.mrc`));
  const nrmse = [...r.stdout.matchAll(/(Au|Ag): NRMSE against the phantom after LS scale ([\d.]+)/g)].map((m) => Number(m[2]));
  assert.is(nrmse.length, 2, r.stdout);
  assert.ok(nrmse.every((v) => v < 0.35), `NRMSE ${nrmse}`);
  const h5 = await h5ready();
  const f = new h5.File(`${out}.h5`, 'r');
  try {
    for (const k of ['k', 'gamma', 'threshold', 'calibration', 'noise_amplification']) assert.ok(f.attrs[k] !== undefined, k);
    assert.is(f.attrs['gamma'].value, '1.7');
    const au = f.get('data/reconstruction_Au/data') as import('h5wasm/node').Dataset;
    assert.equal(au.shape, [32, 32, 32]);
    const v = au.value as Float32Array;
    assert.ok(v.every((x) => x >= 0 && x <= 1));
  } finally { f.close(); }
});

test('a user MRC tilt series of HAADF counts with --dose, and its reconstruction with --volume, agree', async () => {
  const r0 = await openDataset(ds);
  const s = await r0.readSample(0, ['noisy']);
  const N = 32, nA = r0.angles.length, plane = nA * N * r0.shape.nCols;
  const stack = join(root, 'haadf.mrc');
  writeMrc(stack, Float32Array.from(s.noisy!.subarray(0, plane)), [nA, N, r0.shape.nCols], { voxelSizeAngstrom: r0.shape.pixelSizeNm * 10, kind: 'stack' });
  writeTlt(join(root, 'haadf.tlt'), Array.from(r0.angles));
  await r0.close();
  const r = run(stack, '--elements', 'Au,Ag', '--dose', '3000', '--out', join(root, 'user'), '--method', 'sirt:100', '--workers', '1', '--quiet');
  assert.is(r.status, 0, r.stderr);
  const fromDataset = readMrc(join(root, 'q_Au.mrc')).data, fromUser = readMrc(join(root, 'user_Au.mrc')).data;
  let d = 0;
  for (let i = 0; i < fromUser.length; i++) d = Math.max(d, Math.abs(fromUser[i] - fromDataset[i]));
  assert.ok(d < 1e-4, `largest difference ${d}`);
  // the HAADF reconstruction (of the counts: 'pure' calibrates on relative levels, the few % non-linearity
  // of 1 - exp(-x) aside) through --volume: close to the dataset result
  const rec = runCli(['reconstruct', ds, '--channels', 'HAADF', '--out', join(root, 'rec'), '--method', 'sirt:100', '--workers', '1', '--quiet']);
  assert.is(rec.status, 0, rec.stderr);
  const rv = run(join(root, 'rec_HAADF.mrc'), '--volume', '--elements', 'Au,Ag', '--out', join(root, 'vol'), '--quiet');
  assert.is(rv.status, 0, rv.stderr);
  const fromVolume = readMrc(join(root, 'vol_Au.mrc')).data;
  let sum = 0, n = 0;
  for (let i = 0; i < fromVolume.length; i++) if (fromDataset[i] > 0.5) { sum += Math.abs(fromVolume[i] - fromDataset[i]); n++; }
  assert.ok(n > 500 && sum / n < 0.05, `mean |difference| over ${n} Au voxels: ${sum / n}`);
});

test('Au/Pt: the warning names the Z ratio and the amplification', () => {
  const r = run(join(root, 'rec_HAADF.mrc'), '--volume', '--elements', 'Au,Pt', '--out', join(root, 'pt'), '--quiet');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: Au\/Pt is ill-conditioned for HAADF quantification: Z ratio 78\/79 = 0\.987.*noise amplification x46\.\d/);
});

test('bad input: one line naming the field, exit 2, nothing written', () => {
  const cases: [string[], RegExp][] = [
    [[join(root, 'rec_HAADF.mrc'), '--volume', '--elements', 'Au'], /^nanodose: elements: quantitative HAADF solves for exactly two elements.*got 1 \(Au\)/],
    [[join(root, 'rec_HAADF.mrc'), '--volume', '--elements', 'Au,Ag,Pd'], /got 3 \(Au, Ag, Pd\): three or more need EDX/],
    [[join(root, 'rec_HAADF.mrc'), '--volume', '--elements', 'Au,Au'], /elements: must not|same Z = 79/],
    [[join(root, 'haadf.mrc'), '--elements', 'Au,Ag'], /^nanodose: dose: .*give --dose D .* or --linear/],
    [[join(root, 'haadf.mrc'), '--elements', 'Au,Ag', '--dose', '1'], /^nanodose: dose: \d+ HAADF pixels hold more than the 4\.000 electrons the beam brings/],
    [[ds, '--calibration', 'magic'], /^nanodose: calibration: must be 'pure', 'physical'/],
    [[ds, '--method', 'fused:10'], /^nanodose: method: fused is a joint HAADF \+ EDX method/],
    [[join(root, 'missing.mrc'), '--elements', 'Au,Ag', '--linear'], /^nanodose: input: .*missing\.mrc: no such file/],
    [[join(root, 'rec_HAADF.mrc'), '--volume', '--elements', 'Au,Ag', '--calibration', 'physical'], /^nanodose: calibration: 'physical' needs the HAADF in units of the incident beam/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args, '--out', join(root, 'bad'), '--quiet');
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  assert.equal(readdirSync(root).filter((f) => f.startsWith('bad')), []);
});

test.run();
