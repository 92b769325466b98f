/**
 * Real clients read our files: h5py and h5dump (HDF5 tools) read a generated shard, mrcfile.validate
 * checks exported MRC files. CI installs them (`apt-get install -y hdf5-tools python3-h5py
 * python3-mrcfile`, .ci/run) and sets NANODOSE_REQUIRE_CLIENTS=1, so there a missing client FAILS
 * the test; elsewhere a test whose client is missing is skipped with one line naming the Debian
 * package (scripts/test.ts counts and repeats those lines).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportSample } from './export.ts';
import { generateDataset } from './generate.ts';
import { openDataset } from './reader.ts';

const PY = '/usr/bin/python3';
const INSTALL = 'apt-get install -y hdf5-tools python3-h5py python3-mrcfile python3-numpy';
const root = mkdtempSync(join(tmpdir(), 'nanodose-clients-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const REQUIRED = process.env.NANODOSE_REQUIRE_CLIENTS === '1';

/** `test`, or `test.skip` with one line naming the missing Debian package (a failure in CI). */
type Register = (name: string, fn: () => void | Promise<void>) => void;
function needs(pkg: string, cmd: string, args: string[]): Register {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (!r.error && r.status === 0) return (name, fn) => test(name, fn);
  const why = `${pkg} is not installed (${cmd} ${args.join(' ')}: ${(r.error?.message ?? r.stderr.trim().split('\n').at(-1)) || `exit ${r.status}`})`;
  if (REQUIRED) return (name) => test(name, () => assert.unreachable(`${why}; install it: ${INSTALL}`));
  console.log(`skip: ${why}; apt-get install -y ${pkg} runs this test`);
  return (name, fn) => test.skip(name, fn);
}

const out = join(root, 'ds');
test.before(async () => {
  await generateDataset({ out, count: 3, seed: 5, quiet: true, workers: 1, source: new URL('./testing/synthetic-source.ts', import.meta.url).href, config: { samplesPerShard: 3, simulation: { size: 6, nAngles: 4 } } });
});

needs('python3-h5py', PY, ['-c', 'import h5py, numpy'])('h5py reads a shard: EMD layout, dtypes, chunks, gzip, and the values written here', async () => {
  const r = await openDataset(out);
  const exp = { noisy_sum: [] as number[], clean_first: [] as number[][], phantom_sum: [] as number[], index: r.indices(), split: [] as string[], dose: [] as number[] };
  for (const i of r.indices()) {
    const s = await r.readSample(i, ['phantom', 'clean', 'noisy']);
    exp.noisy_sum.push(s.noisy!.reduce((a, x) => a + x, 0));
    exp.clean_first.push(Array.from(s.clean!.subarray(0, 5)));
    let ps = 0;
    for (const x of s.phantom!) ps += x;
    exp.phantom_sum.push(ps);
    exp.split.push(s.split);
    exp.dose.push(s.dosePerProjection);
  }
  await r.close();
  const ej = join(root, 'expected.json');
  writeFileSync(ej, JSON.stringify(exp));
  const p = spawnSync(PY, [here('./clients/check_shard.py'), join(out, 'shard-00000.h5'), ej], { encoding: 'utf8' });
  assert.is(p.status, 0, `h5py check failed:\n${p.stdout}\n${p.stderr}`);
  assert.match(p.stdout, /OK/);
});

needs('hdf5-tools', 'h5dump', ['--version'])('h5dump -H lists the EMD groups and attributes', () => {
  const p = spawnSync('h5dump', ['-H', join(out, 'shard-00000.h5')], { encoding: 'utf8' });
  assert.is(p.status, 0, p.stderr);
  for (const s of ['ATTRIBUTE "version_major"', 'ATTRIBUTE "version_minor"', 'GROUP "microscope"', 'GROUP "sample"', 'GROUP "user"', 'GROUP "comments"', 'GROUP "tilt_noisy"', 'ATTRIBUTE "emd_group_type"', 'DATASET "dim5"', 'H5T_STD_U32LE', 'H5T_IEEE_F32LE']) {
    assert.ok(p.stdout.includes(s), `h5dump -H lacks ${s}`);
  }
});

needs('python3-mrcfile', PY, ['-c', 'import mrcfile, numpy'])('mrcfile.validate accepts exported volumes and tilt series', async () => {
  const r = await openDataset(out);
  const files = await exportSample(r, 1, { format: 'mrc', what: ['phantom', 'noisy'], outDir: join(root, 'mrc') });
  const s = await r.readSample(1, ['phantom', 'noisy']);
  await r.close();
  const N = 6, per = N ** 3;
  const mrcs = files.filter((f) => f.endsWith('.mrc'));
  assert.is(mrcs.length, 2 + 3, 'two element volumes and three channel stacks');
  for (const f of mrcs) {
    let sum = 0, kind = 'stack';
    if (f.includes('_phantom_')) {
      const k = f.includes('_Au') ? 0 : 1;
      for (let i = k * per; i < (k + 1) * per; i++) sum += s.phantom![i];
      kind = 'volume';
    } else {
      const c = ['HAADF', 'Au', 'Pd'].findIndex((ch) => f.endsWith(`_${ch}.mrc`));
      const n = s.noisy!.length / 3;
      for (let i = c * n; i < (c + 1) * n; i++) sum += s.noisy![i];
    }
    const p = spawnSync(PY, [here('./clients/check_mrc.py'), f, String(sum), kind], { encoding: 'utf8' });
    assert.is(p.status, 0, `mrcfile check of ${f} failed:\n${p.stdout}\n${p.stderr}`);
  }
});

test.run();
