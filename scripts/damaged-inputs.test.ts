/**
 * Damaged inputs and unwritable outputs as a user meets them (issue 16): random bytes named .h5, a
 * truncated shard, a dataset folder whose shard was damaged in place, a missing or truncated model,
 * a read-only output location. Each run of the CLI must exit 2 with one line naming the file and
 * the problem, show no HDF5 diagnostics, and leave no output behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeMrc, writeTlt } from '../datasets/formats/mrc/mrc.ts';
import { runCli } from './testing/cli.ts';

const SRC = fileURLToPath(new URL('../datasets/testing/synthetic-source.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'nanodose-damaged-'));
let mounted: string | null = null;
test.after(() => {
  if (mounted) spawnSync('umount', [mounted]);
  rmSync(root, { recursive: true, force: true });
});
/** A tiny saved model (tfjs' "running in Node.js" banner silenced in this test process). */
async function savedModel(dir: string): Promise<void> {
  (await import('@tensorflow/tfjs')).enableProdMode();
  const { buildModel, saveModel, validateModelSpec, nanodoseVersion } = await import('../models/index.ts');
  const spec = validateModelSpec({ arch: 'tiny' });
  await saveModel(buildModel(spec), dir, { spec, normalisation: { kind: 'scale', scale: 1 }, scheme: 'supervised', doseRange: [1, 1000], channels: ['Au'], nanodoseVersion: nanodoseVersion() });
}
const run = (...args: string[]) => runCli(args);

/** Exit 2, exactly one line on stderr matching `re`, no HDF5 diagnostics, and `out` not created. */
function refused(r: ReturnType<typeof run>, re: RegExp, out?: string): void {
  assert.is(r.status, 2, `status ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n').filter(Boolean);
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
  assert.not.match(r.stderr, /HDF5-DIAG|#00\d/);
  if (out) assert.not.ok(existsSync(out), `${out} was created`);
}

const ds = join(root, 'ds');
const cfg = join(root, 'cfg.json');
writeFileSync(cfg, JSON.stringify({ samplesPerShard: 2, simulation: { size: 8, nAngles: 3 }, split: { train: 0.5, val: 0.25, test: 0.25 } }));

test('setup: a small dataset', () => {
  const r = run('generate', '--config', cfg, '--count', '4', '--out', ds, '--source', SRC, '--workers', '1', '--quiet');
  assert.is(r.status, 0, r.stderr);
});

test('random bytes named .h5, a truncated shard: "not an HDF5 file" / "truncated", naming the file', () => {
  const junk = join(root, 'junk.h5');
  writeFileSync(junk, Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 251)));
  refused(run('inspect', junk), /junk\.h5: (not an HDF5 file \(no HDF5 signature in its 4000 bytes\)|input: unknown format \(no .*HDF5 signature\))/);
  refused(run('train', '--data', junk, '--scheme', 'supervised', '--out', join(root, 'model-junk'), '--model', 'tiny', '--epochs', '1', '--quiet'), /junk\.h5: .*(not an HDF5 file|unknown format)/, join(root, 'model-junk'));
  const cut = join(root, 'cut.h5');
  copyFileSync(join(ds, 'shard-00000.h5'), cut);
  const size = readFileSync(cut).length;
  truncateSync(cut, 3000);
  const out = join(root, 'model-cut');
  refused(run('train', '--data', cut, '--scheme', 'supervised', '--out', out, '--model', 'tiny', '--epochs', '1', '--quiet'), new RegExp(`cut\\.h5: (hdf5: )?damaged HDF5 file.*truncated: 3000 bytes of the ${size}`), out);
});

test('a dataset folder whose shard is damaged in place (same size): eval names the shard and writes nothing', () => {
  const bad = join(root, 'ds-bad');
  cpSync(ds, bad, { recursive: true });
  const p = join(bad, 'shard-00001.h5');
  const b = readFileSync(p);
  // a byte inside the first object header after the root group's: HDF5's checksum refuses it
  const at = b.indexOf('OHDR', 200);
  assert.ok(at > 0);
  b[at + 30] ^= 0xff;
  writeFileSync(p, b);
  const out = join(root, 'eval-bad');
  refused(run('eval', '--data', bad, '--methods', 'raw', '--doses', '100', '--recon', 'sirt:2', '--bootstrap', '10', '--out', out, '--quiet'), /shard-00001\.h5: damaged HDF5 file/, out);
});

test('eval --methods raw,model:MISSING: refused before raw is computed, nothing written', () => {
  const out = join(root, 'eval-missing');
  refused(run('eval', '--data', ds, '--methods', `raw,model:${join(root, 'MISSING')}`, '--doses', '100', '--recon', 'sirt:2', '--bootstrap', '10', '--out', out, '--quiet'), /methods: model:.*MISSING: no such model folder/, out);
});

test('a truncated weights.bin: denoise names it and the bytes it needs, writes nothing', async () => {
  const dir = join(root, 'model');
  await savedModel(dir);
  truncateSync(join(dir, 'weights.bin'), 1001);
  const tilt = join(root, 'tilt.mrc');
  writeMrc(tilt, new Float32Array(3 * 8 * 8).fill(2), [3, 8, 8], { voxelSizeAngstrom: 2, kind: 'stack' });
  writeTlt(join(root, 'tilt.tlt'), [-60, 0, 60]);
  const out = join(root, 'denoised.mrc');
  refused(run('denoise', tilt, '--model', dir, '--out', out, '--quiet'), /weights\.bin: 1001 bytes, model\.json's \d+ weights need \d+ \(truncated or damaged/, out);
});

test('one NaN pixel in an MRC or HDF5 tilt series: denoise and reconstruct name the file and the index, write nothing', async () => {
  const model = join(root, 'good-model');
  await savedModel(model);
  const data = new Float32Array(3 * 8 * 8).fill(2);
  data[1 * 64 + 2 * 8 + 5] = NaN;
  const mrc = join(root, 'nan.mrc');
  writeMrc(mrc, data, [3, 8, 8], { voxelSizeAngstrom: 2, kind: 'stack' });
  writeTlt(join(root, 'nan.tlt'), [-60, 0, 60]);
  const { h5ready } = await import('../datasets/formats/hdf5/emd.ts');
  const h5 = await h5ready();
  const h5path = join(root, 'nan.h5');
  const f = new h5.File(h5path, 'w');
  f.create_dataset({ name: 'tilt', data, shape: [3, 8, 8] });
  f.close();
  const where = /1 non-finite value\(s\) \(first NaN at \[angle 1, row 2, col 5\]\)/;
  refused(run('denoise', mrc, '--model', model, '--out', join(root, 'dn.mrc'), '--quiet'), new RegExp(`nan\\.mrc .*${where.source}`), join(root, 'dn.mrc'));
  refused(run('denoise', h5path, '--dataset', 'tilt', '--model', model, '--out', join(root, 'dn.h5'), '--quiet'), new RegExp(`nan\\.h5 .*${where.source}`), join(root, 'dn.h5'));
  refused(run('reconstruct', h5path, '--dataset', 'tilt', '--out', join(root, 'rec-nan'), '--method', 'sirt:2', '--quiet'), new RegExp(`nan\\.h5 .*${where.source}`), join(root, 'rec-nan.h5'));
});

test('an MRC whose header says nx < 0: one line, not "Invalid DataView length"', () => {
  const p = join(root, 'neg.mrc');
  writeMrc(p, new Float32Array(3 * 8 * 8).fill(2), [3, 8, 8], { voxelSizeAngstrom: 2, kind: 'stack' });
  const b = readFileSync(p);
  b.writeInt32LE(-8, 0);
  writeFileSync(p, b);
  refused(run('reconstruct', p, '--out', join(root, 'rec'), '--quiet'), /neg\.mrc: .*nx = -8; each dimension must be an integer/, join(root, 'rec.h5'));
});

test('a read-only output location: refused before any work, for generate, eval and reconstruct (root: a read-only tmpfs)', () => {
  const ro = join(root, 'ro');
  mkdirSync(ro);
  if (process.getuid?.() === 0) {
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]);
    if (m.status !== 0) {
      console.log('  (skipped: root cannot mount a read-only tmpfs here, and root writes anywhere else)');
      return;
    }
    mounted = ro;
  } else spawnSync('chmod', ['0555', ro]);
  const why = /cannot be written: .*ro (is on a read-only file system \(EROFS\)|is not writable by this user \(EACCES\))/;
  refused(run('generate', '--config', cfg, '--count', '2', '--out', join(ro, 'a', 'ds'), '--source', SRC, '--quiet'), why);
  refused(run('eval', '--data', ds, '--methods', 'raw', '--doses', '100', '--recon', 'sirt:2', '--bootstrap', '10', '--out', join(ro, 'ev'), '--quiet'), why);
  refused(run('reconstruct', join(root, 'tilt.mrc'), '--out', join(ro, 'rec'), '--quiet'), why);
  assert.equal(readdirSync(ro), []);
});

test.run();
