/**
 * `nanodose denoise` end to end: a simulated dataset shard -> .h5 (EMD) and -> .tif per channel,
 * an MRC stack (+ .tlt) -> .mrc, a user HDF5 array (--dataset) -> .mrc; every written map equals
 * in-process denoiseTiled of the same projection; bad input exits 2 and writes nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, h5ready, openDataset, readImageStack, readMrc, writeMrc, writeTlt } from '../../datasets/index.ts';
import { buildModel, initBackend, loadModel, saveModel, validateModelSpec } from '../../models/index.ts';
import { defaultNormalisation } from '../../models/normalise.ts';
import { denoiseTiled } from '../../models/tiling.ts';
import { runCli } from '../testing/cli.ts';

const run = (...args: string[]) => runCli(['denoise', ...args, '--backend', 'wasm']);

const root = mkdtempSync(join(tmpdir(), 'nanodose-denoise-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

await initBackend({ backend: 'wasm', quiet: true });
const ds = join(root, 'ds');
await generateDataset({ count: 2, seed: 3, quiet: true, workers: 1, out: ds, config: { samplesPerShard: 2, simulation: { phantom: { size: 32 }, geometry: { angles: '-60:60:60' } } } });
const shard = join(ds, 'shard-00000.h5');
const reader = await openDataset(shard);
const [C, A, R, U] = reader.shape.tilt;
const elements = reader.elements.map((e) => e.symbol);
const modelDir = join(root, 'model');
{
  const spec = validateModelSpec({ arch: 'unet', depth: 2, filters: 4 });
  await saveModel(buildModel(spec), modelDir, { spec, normalisation: defaultNormalisation(), scheme: 'supervised', channels: [elements[0]], nanodoseVersion: '' });
}
const { model, metadata } = await loadModel(modelDir);
/** In-process reference for one projection [R, U] (tile 24, overlap 20: several tiles on 32 x 34). */
const reference = (x: Float32Array, h: number, w: number, tta = false) => denoiseTiled(model, x, [1, h, w], { metadata, tile: 24, overlap: 20, tta });

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return e / Math.max(1e-12, s);
}

test('dataset shard -> .h5: denoised element channels [sample, channel, angle, row, col] with angles, names, model attributes', async () => {
  const out = join(root, 'den.h5');
  const r = run(shard, '--model', modelDir, '--out', out, '--sample', '1', '--tile', '24', '--overlap', '20');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /backend: wasm/);
  assert.match(r.stdout, new RegExp(`denoised ${elements.length * A} projection\\(s\\) ${R}x${U} .*wrote ${out.replace(/[.]/g, '\\.')}`));
  const h5 = await h5ready();
  const f = new h5.File(out, 'r');
  try {
    const d = f.get('data/tilt_denoised/data') as import('h5wasm/node').Dataset;
    assert.equal(d.shape, [1, elements.length, A, R, U]);
    assert.equal(Array.from((f.get('data/tilt_denoised/dim3') as import('h5wasm/node').Dataset).value as Float64Array), Array.from(reader.angles));
    assert.equal((f.get('sample') as import('h5wasm/node').Group).attrs['channel_names'].value, elements);
    assert.is(f.attrs['model_scheme'].value, 'supervised');
    assert.is(f.attrs['model'].value, modelDir);
    const dim5 = (f.get('data/tilt_denoised/dim5') as import('h5wasm/node').Dataset).value as Float64Array;
    assert.ok(Math.abs(dim5[1] - dim5[0] - reader.shape.pixelSizeNm) < 1e-9, 'pixel size kept');
    const s = await reader.readSample(1, ['noisy']);
    const ch = reader.channels.indexOf(elements[1]);
    const x = Float32Array.from(s.noisy!.subarray((ch * A + 2) * R * U, (ch * A + 3) * R * U));
    const got = d.slice([[0, 1], [1, 2], [2, 3], [], []]) as Float32Array;
    assert.ok(maxRel(got, await reference(x, R, U)) < 1e-6, `${elements[1]} at the last angle equals in-process denoiseTiled`);
  } finally {
    f.close();
  }
});

test('dataset -> .tif: --sample all --channel with tta writes one stack (+ .tlt) per sample', async () => {
  const out = join(root, 'tif', 'den.tif');
  const r = run(ds, '--model', modelDir, '--out', out, '--sample', 'all', '--channel', elements[0], '--tta', '--tile', '24', '--overlap', '20', '--quiet');
  assert.is(r.status, 0, r.stderr);
  const files = readdirSync(join(root, 'tif')).sort();
  assert.equal(files, [`den_sample-00000_${elements[0]}.tif`, `den_sample-00000_${elements[0]}.tlt`, `den_sample-00001_${elements[0]}.tif`, `den_sample-00001_${elements[0]}.tlt`]);
  const st = await readImageStack(join(root, 'tif', files[0]));
  assert.equal(st.shape, [A, R, U]);
  assert.equal(Array.from(st.angles!), Array.from(reader.angles));
  const s = await reader.readSample(0, ['noisy']);
  const ch = reader.channels.indexOf(elements[0]);
  const x = Float32Array.from(s.noisy!.subarray(ch * A * R * U, (ch * A + 1) * R * U));
  assert.ok(maxRel(st.data.subarray(0, R * U), await reference(x, R, U, true)) < 1e-6, 'tta map equals in-process denoiseTiled');
});

test('MRC stack + .tlt -> .mrc with the pixel size and angles; user HDF5 array via --dataset -> .mrc', async () => {
  const [n, h, w] = [3, 41, 29];
  const stack = new Float32Array(n * h * w);
  for (let i = 0; i < stack.length; i++) stack[i] = Math.floor(4 + 3 * Math.sin(i * 0.37) + (i % 7));
  const mrc = join(root, 'in.mrc');
  writeMrc(mrc, stack, [n, h, w], { voxelSizeAngstrom: 2.5, kind: 'stack' });
  writeTlt(join(root, 'in.tlt'), [-30, 0, 30]);
  const out = join(root, 'mrc-out', 'den.mrc');
  const r = run(mrc, '--model', modelDir, '--out', out, '--tile', '24', '--overlap', '20');
  assert.is(r.status, 0, r.stderr);
  const m = readMrc(out);
  assert.equal(m.shape, [n, h, w]);
  assert.ok(Math.abs(m.voxelSizeAngstrom - 2.5) < 1e-6);
  assert.equal(readFileSync(join(root, 'mrc-out', 'den.tlt'), 'utf8').trim().split('\n').map(Number), [-30, 0, 30]);
  assert.ok(maxRel(m.data.subarray(h * w, 2 * h * w), await reference(stack.slice(h * w, 2 * h * w), h, w)) < 1e-6);
  // The same stack inside a user HDF5 file.
  const h5 = await h5ready();
  const user = join(root, 'user.h5');
  const f = new h5.File(user, 'w');
  f.create_group('my').create_dataset({ name: 'stack', data: stack, shape: [n, h, w], dtype: '<f' });
  f.close();
  const out2 = join(root, 'user-den.mrc');
  const r2 = run(user, '--dataset', '/my/stack', '--model', modelDir, '--out', out2, '--tile', '24', '--overlap', '20', '--quiet');
  assert.is(r2.status, 0, r2.stderr);
  const m2 = readMrc(out2);
  assert.equal(m2.shape, [n, h, w]);
  assert.ok(maxRel(m2.data, m.data) < 1e-6, 'same maps as from the MRC');
  assert.not.ok(existsSync(join(root, 'user-den.tlt')), 'no angles known, no .tlt');
});

test('bad input exits 2 with one clear message and writes nothing', () => {
  const dir = join(root, 'bad');
  const cases: [string[], RegExp][] = [
    [[shard, '--channel', 'Xx'], /channel: 'Xx' is not a channel of .*\(channels HAADF/],
    [[shard, '--channel', 'HAADF'], /channel: 'HAADF' is not an element channel and the model was trained on/],
    [[join(root, 'user.h5'), '--dataset', '/nope'], /dataset: .*user\.h5: hdf5: --dataset: no array \/nope/],
    [[join(root, 'missing.mrc')], /input: .*missing\.mrc: no such file or directory/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args, '--model', modelDir, '--out', join(dir, 'x.h5'));
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trim().split('\n').filter((l) => l.startsWith('nanodose:')).length, 1, 'one message');
    assert.not.ok(existsSync(dir) && readdirSync(dir).length > 0, `nothing written for ${args.join(' ')}`);
  }
});

test.after(async () => {
  await reader.close();
  model.dispose();
});

test.run();
