/** `nanodose reconstruct` and `nanodose eval` end to end through the CLI. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMrc, writeTlt, readMrc, generateDataset, h5ready } from '../datasets/index.ts';
import { SliceMatrixOperator } from './recon/joseph-matrix.ts';
import { nrmseScaled } from './metrics/index.ts';
import { runCli } from '../scripts/testing/cli.ts';

const SRC = new URL('../datasets/testing/synthetic-source.ts', import.meta.url).href;
const run = (...args: string[]) => runCli(args);
const root = mkdtempSync(join(tmpdir(), 'nanodose-evalcli-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('reconstruct: MRC stack + .tlt -> MRC and HDF5 volumes close to the phantom', async () => {
  const N = 32, nz = 2, nCols = 46;
  const angles = Array.from({ length: 36 }, (_, i) => -90 + i * 5);
  const vol = new Float32Array(nz * N * N);
  for (let z = 0; z < nz; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
    const r = Math.hypot(x - 15.5, y - 15.5);
    vol[(z * N + y) * N + x] = r < 10 ? 1 + (r < 4 ? 1 : 0) : 0;
  }
  const op = new SliceMatrixOperator(nz, N, N, angles, nCols);
  const ts = await op.forward(vol);
  writeMrc(join(root, 'ts.mrc'), ts, [angles.length, nz, nCols], { voxelSizeAngstrom: 3, kind: 'stack' });
  writeTlt(join(root, 'ts.tlt'), angles);
  const r = run('reconstruct', join(root, 'ts.mrc'), '--out', join(root, 'rec'), '--size', String(N), '--method', 'sirt:80', '--quiet');
  assert.is(r.status, 0, r.stderr);
  const m = readMrc(join(root, 'rec_stack.mrc'));
  assert.equal(m.shape, [nz, N, N]);
  assert.ok(Math.abs(m.voxelSizeAngstrom - 3) < 1e-6);
  const e = nrmseScaled(m.data, vol);
  assert.ok(e < 0.12, `NRMSE ${e}`);
  const h5 = await h5ready();
  const f = new h5.File(join(root, 'rec.h5'), 'r');
  const d = f.get('data/reconstruction_stack/data') as { shape: number[]; value: Float32Array };
  assert.equal(d.shape, [nz, N, N]);
  assert.ok(Math.abs(d.value[16 * N + 16] - m.data[16 * N + 16]) < 1e-6);
  f.close();
  const bad = run('reconstruct', join(root, 'ts.mrc'), '--out', join(root, 'x'), '--method', 'fbp:cosine');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /FBP filter must be one of/);
  assert.not.ok(existsSync(join(root, 'x.h5')));
});

/** NRMSE after the best integer translation within +-3 voxels (the alignment cannot see a rigid translation of the particle). */
function nrmseRegistered(v: Float32Array, ref: Float32Array, nz: number, n: number): number {
  let best = Infinity;
  for (let dz = -3; dz <= 3; dz++) for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) {
    const m = new Float32Array(v.length);
    for (let z = 0; z < nz; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
      const zz = z + dz, yy = y + dy, xx = x + dx;
      if (zz >= 0 && zz < nz && yy >= 0 && yy < n && xx >= 0 && xx < n) m[(z * n + y) * n + x] = v[(zz * n + yy) * n + xx];
    }
    best = Math.min(best, nrmseScaled(m, ref));
  }
  return best;
}

test('reconstruct --align / --shifts / --axis-offset: an off-centre, jittered MRC series is aligned and reconstructed closer to the phantom', async () => {
  const { Projector, makeGeometry } = await import('../generators/projection/index.ts');
  const { shiftTiltSeries } = await import('../generators/signal/index.ts');
  const N = 32, nz = 10, nCols = 44;
  const angles = Array.from({ length: 29 }, (_, i) => -70 + i * 5);
  const vol = new Float32Array(nz * N * N);
  for (let z = 2; z < 8; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
    if (Math.hypot(x - 13, y - 17) < 8 - Math.abs(z - 4.5)) vol[(z * N + y) * N + x] = 1 + (x > 14 ? 1 : 0);
  }
  const op = new Projector(makeGeometry({ angles, nz, ny: N, nx: N, nCols, axisOffset: 2 }), { workers: 1 });
  const ts = await op.forward(vol);
  const rows = angles.map((_, a) => ((a * 7) % 5) - 2), cols = angles.map((_, a) => ((a * 3) % 7) - 3);
  const jit = shiftTiltSeries(ts, nz, nCols, { rows, cols });
  writeMrc(join(root, 'jit.mrc'), jit, [angles.length, nz, nCols], { voxelSizeAngstrom: 3, kind: 'stack' });
  writeTlt(join(root, 'jit.tlt'), angles);
  const plain = run('reconstruct', join(root, 'jit.mrc'), '--out', join(root, 'plain'), '--size', String(N), '--method', 'sirt:40', '--quiet');
  assert.is(plain.status, 0, plain.stderr);
  const al = run('reconstruct', join(root, 'jit.mrc'), '--out', join(root, 'al'), '--size', String(N), '--method', 'sirt:40', '--align');
  assert.is(al.status, 0, al.stderr);
  assert.match(al.stdout, /tilt-axis offset/);
  const shifts = readFileSync(join(root, 'al_shifts.txt'), 'utf8');
  assert.match(shifts, /axis_offset/);
  const eP = nrmseRegistered(readMrc(join(root, 'plain_stack.mrc')).data, vol, nz, N), eA = nrmseRegistered(readMrc(join(root, 'al_stack.mrc')).data, vol, nz, N);
  assert.ok(eA < 0.7 * eP, `aligned NRMSE ${eA} vs unaligned ${eP}`);
  const again = run('reconstruct', join(root, 'jit.mrc'), '--out', join(root, 'again'), '--size', String(N), '--method', 'sirt:40', '--shifts', join(root, 'al_shifts.txt'), '--quiet');
  assert.is(again.status, 0, again.stderr);
  assert.ok(Math.abs(nrmseRegistered(readMrc(join(root, 'again_stack.mrc')).data, vol, nz, N) - eA) < 1e-3);
  // The unjittered off-centre series: --axis-offset 2 against none.
  writeMrc(join(root, 'off.mrc'), ts, [angles.length, nz, nCols], { voxelSizeAngstrom: 3, kind: 'stack' });
  writeTlt(join(root, 'off.tlt'), angles);
  const o0 = run('reconstruct', join(root, 'off.mrc'), '--out', join(root, 'o0'), '--size', String(N), '--method', 'sirt:40', '--quiet');
  const o2 = run('reconstruct', join(root, 'off.mrc'), '--out', join(root, 'o2'), '--size', String(N), '--method', 'sirt:40', '--axis-offset', '2', '--quiet');
  assert.is(o0.status, 0, o0.stderr);
  assert.is(o2.status, 0, o2.stderr);
  const e0 = nrmseScaled(readMrc(join(root, 'o0_stack.mrc')).data, vol), e2 = nrmseScaled(readMrc(join(root, 'o2_stack.mrc')).data, vol);
  assert.ok(e2 < 0.6 * e0, `with the offset NRMSE ${e2}, without ${e0}`);
  const bad = run('reconstruct', join(root, 'off.mrc'), '--out', join(root, 'b'), '--shifts', join(root, 'jit.tlt'));
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /jit.tlt:1: expected 'angle row_shift col_shift'/);
});

test('eval on a dataset directory writes results, summary and report', async () => {
  const ds = join(root, 'ds');
  await generateDataset({ count: 4, seed: 3, quiet: true, workers: 1, source: SRC, out: ds, config: { samplesPerShard: 2, simulation: { size: 8, nAngles: 5 } } });
  const out = join(root, 'report');
  const r = run('eval', '--data', ds, '--split', 'train', '--methods', 'raw,box', '--doses', '10,100', '--recon', 'sirt:5', '--out', out, '--phantoms', '1', '--bootstrap', '10', '--quiet');
  assert.is(r.status, 0, r.stderr);
  const rows = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  // phantom x doses x methods x elements x metrics, plus raw at 1000 and 10000 (--raw-extra-decades 2, the default)
  assert.is(rows.length - 1, 1 * 2 * 2 * 2 * 6 + 1 * 2 * 2 * 6);
  assert.ok(existsSync(join(out, 'summary.json')) && existsSync(join(out, 'report.html')));
  const bad = run('eval', '--data', ds, '--methods', 'raw,wiener', '--out', join(root, 'r2'));
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /methods: unknown method 'wiener'/);
});

test.run();
