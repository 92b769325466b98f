/** `nanodose reconstruct --method fused|bimodal|tnv` end to end through the CLI on a small dataset sample. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, openDataset, writeMrc, writeTlt, h5ready } from '../../datasets/index.ts';
import { haadfCoefficients } from '../../generators/signal/index.ts';
import { nrmseScaled } from '../../eval/metrics/index.ts';
import { runCli } from '../testing/cli.ts';

const run = (...args: string[]) => runCli(args);
const root = mkdtempSync(join(tmpdir(), 'nanodose-joint-cli-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const ds = join(root, 'ds');
await generateDataset({ out: ds, count: 1, seed: 5, workers: 1, quiet: true, config: { samplesPerShard: 1, split: { train: 1, val: 0, test: 0 }, simulation: { phantom: { size: 32, elements: ['Au', 'Ag'] }, geometry: { angles: '-60:60:15' } } } });

test('reconstruct --method fused on a dataset sample writes every element volume and the HAADF model volume (HDF5 + MRC)', async () => {
  const out = join(root, 'fused');
  // noise-free expected counts: a small TV weight given (the default is scaled to the Poisson noise of real counts and
  // over-smooths noise-free data: here it is 32, which flattens the small Au core away)
  const r = run('reconstruct', ds, '--out', out, '--method', 'fused:15:3', '--field', 'clean', '--quiet');
  assert.is(r.status, 0, r.stderr);
  // the default weight is said, with the count scale it comes from
  const d = run('reconstruct', ds, '--out', join(root, 'fused-default'), '--method', 'fused:2');
  assert.is(d.status, 0, d.stderr);
  const said = d.stdout.match(/fused: weight ([0-9.e+-]+) \(the default, 6 \/ sqrt\(([0-9.e+-]+) EDX counts per element and pixel on the HAADF support\)/);
  assert.ok(said && Math.abs(Number(said[1]) - 6 / Math.sqrt(Number(said[2]))) < 1e-3 * Number(said[1]), d.stdout);
  for (const c of ['Au', 'Ag', 'HAADF-model']) assert.ok(existsSync(`${out}_${c}.mrc`), `no ${c} MRC`);
  const h5 = await h5ready();
  const f = new h5.File(`${out}.h5`, 'r');
  const vol = (c: string) => (f.get(`data/reconstruction_${c}/data`) as { value: Float32Array }).value;
  const [au, ag, hm] = ['Au', 'Ag', 'HAADF-model'].map(vol);
  f.close();
  assert.is(au.length, 32 ** 3);
  const reader = await openDataset(ds);
  const s = await reader.readSample(reader.indices()[0], ['phantom']);
  const acq = (reader.config as { simulation: { acquisition: { haadfGamma: number; haadfMuAu: number; pixelSizeAngstrom: number } } }).simulation.acquisition;
  const mu = haadfCoefficients(reader.elements, acq), a = reader.shape.pixelSizeNm * 10;
  await reader.close();
  // The HAADF model volume is sum_e mu_e a x_e of the written element volumes.
  let err = 0, ref = 0;
  for (let j = 0; j < hm.length; j++) { const want = mu[0] * a * au[j] + mu[1] * a * ag[j]; err += (hm[j] - want) ** 2; ref += want * want; }
  assert.ok(Math.sqrt(err / ref) < 1e-4, `HAADF model volume vs sum mu_e a x_e: ${Math.sqrt(err / ref)}`);
  assert.ok(au.every((v) => v >= 0 && Number.isFinite(v)) && ag.every((v) => v >= 0 && Number.isFinite(v)), 'negative or non-finite element volume');
  const N3 = 32 ** 3;
  const eAu = nrmseScaled(au, s.phantom!.subarray(0, N3)), eAg = nrmseScaled(ag, s.phantom!.subarray(N3, 2 * N3));
  assert.ok(eAu < 0.6 && eAg < 0.8, `NRMSE against the phantom Au ${eAu}, Ag ${eAg}`);
});

test('reconstruct --method fused --weight auto chooses the weight by the discrepancy principle on the noisy counts; --weight on bimodal or on clean (non-count) EDX: one line, exit 2, nothing written', () => {
  const out = join(root, 'auto');
  const r = run('reconstruct', ds, '--out', out, '--method', 'fused:4', '--weight', 'auto');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /fused: weight auto chose [0-9.e+-]+ \(x[0-9.]+ the default\)/);
  assert.is((r.stdout.match(/EDX deviance [0-9.]+, expected [0-9.]+, ratio/g) ?? []).length, 6, r.stdout);
  assert.ok(existsSync(`${out}_Au.mrc`) && existsSync(`${out}.h5`));
  for (const [args, re] of [[['--method', 'bimodal:4', '--weight', 'auto'], /weight: only for --method fused or tnv/], [['--method', 'fused:4', '--weight', 'auto', '--field', 'clean'], /is not a count/], [['--method', 'fused:4:0.1', '--weight', '2'], /already gives the weight/]] as const) {
    const bad = run('reconstruct', ds, '--out', join(root, 'bad'), ...args);
    assert.is(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, re);
    assert.is(bad.stderr.trim().split('\n').filter((l) => !l.startsWith('[nanodose]')).length, 1, bad.stderr);
    assert.not.ok(existsSync(join(root, 'bad.h5')));
  }
});

test('reconstruct --method fused without a HAADF channel: one line naming the input, exit 2, nothing written', () => {
  const N = 8;
  writeMrc(join(root, 'ts.mrc'), new Float32Array(3 * N * N).fill(1), [3, N, N], { voxelSizeAngstrom: 3, kind: 'stack' });
  writeTlt(join(root, 'ts.tlt'), [-30, 0, 30]);
  const r = run('reconstruct', join(root, 'ts.mrc'), '--out', join(root, 'none'), '--method', 'tnv:5');
  assert.is(r.status, 2);
  assert.match(r.stderr, /ts\.mrc has no HAADF channel; tnv needs a HAADF tilt series/);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.not.ok(existsSync(join(root, 'none.h5')));
});

test('reconstruct --method fused on a user tilt series, one MRC per channel (HAADF=,Au=,Ag=) with --dose, gives the dataset sample\'s volumes', async () => {
  const { readTiltSeries } = await import('../../eval/recon/volume-io.ts');
  const t = await readTiltSeries(ds, { field: 'clean' });
  const reader = await openDataset(ds);
  const dose = (await reader.readSample(reader.indices()[0], [])).dosePerProjection;
  await reader.close();
  const shape: [number, number, number] = [t.angles.length, t.nRows, t.nCols];
  const files = ['HAADF', ...t.channels].map((c, i) => {
    const f = join(root, `in_${c}.mrc`);
    writeMrc(f, i === 0 ? t.haadf! : t.series[i - 1], shape, { voxelSizeAngstrom: t.voxelSizeAngstrom, kind: 'stack' });
    return `${c}=${f}`;
  });
  writeTlt(join(root, 'user.tlt'), Array.from(t.angles));
  const out = join(root, 'user'), ref = join(root, 'ref');
  const r = run('reconstruct', files.join(','), '--tlt', join(root, 'user.tlt'), '--dose', String(dose), '--size', String(t.size), '--out', out, '--method', 'fused:10', '--quiet');
  assert.is(r.status, 0, r.stderr);
  const r0 = run('reconstruct', ds, '--field', 'clean', '--out', ref, '--method', 'fused:10', '--quiet');
  assert.is(r0.status, 0, r0.stderr);
  const h5 = await h5ready();
  const read = (p: string, c: string) => { const f = new h5.File(`${p}.h5`, 'r'); const v = (f.get(`data/reconstruction_${c}/data`) as { value: Float32Array }).value; f.close(); return v; };
  for (const c of [...t.channels, 'HAADF-model']) {
    const u = read(out, c), d = read(ref, c);
    let diff = 0, mx = 0;
    for (let j = 0; j < d.length; j++) { diff = Math.max(diff, Math.abs(u[j] - d[j])); mx = Math.max(mx, Math.abs(d[j])); }
    assert.ok(diff <= 1e-4 * mx, `${c}: user files and dataset differ by ${diff} (max ${mx})`);
  }
  // Without --dose the user's HAADF cannot be linearised: one line, exit 2.
  const bad = run('reconstruct', files.join(','), '--tlt', join(root, 'user.tlt'), '--out', join(root, 'nodose'), '--method', 'fused:3');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /needs --dose/, bad.stderr);
  assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.not.ok(existsSync(join(root, 'nodose.h5')));
  // A dose far too low for these counts: the HAADF would hold more electrons than the beam brings.
  const low = run('reconstruct', files.join(','), '--tlt', join(root, 'user.tlt'), '--dose', String(dose / 1000), '--out', join(root, 'lowdose'), '--method', 'fused:3');
  assert.is(low.status, 2);
  assert.match(low.stderr, /electrons the beam brings/, low.stderr);
  assert.is(low.stderr.trim().split('\n').length, 1, low.stderr);
  assert.not.ok(existsSync(join(root, 'lowdose.h5')));
});

test.run();
