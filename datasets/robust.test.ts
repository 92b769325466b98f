/**
 * Faults a user or a machine brings: a full disk, a truncated shard, a refused config, a
 * non-numeric option. Each ends in exit 2 with one line naming the problem, and leaves no
 * finished-looking file behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../scripts/testing/cli.ts';

const SRC = fileURLToPath(new URL('./testing/synthetic-source.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'nanodose-robust-'));
const run = (...args: string[]) => runCli(args);
const lines = (s: string) => s.trim().split('\n').filter(Boolean);
let tmpfs: string | null = null;
test.after(() => {
  if (tmpfs) spawnSync('umount', [tmpfs]);
  rmSync(root, { recursive: true, force: true });
});

test('store.frames with one frame is refused before any file, naming the real value', () => {
  const cfg = join(root, 'frames.json');
  writeFileSync(cfg, JSON.stringify({ simulation: { acquisition: { frames: 1 } }, store: { frames: true } }));
  const out = join(root, 'frames-out');
  const r = run('generate', '--config', cfg, '--count', '2', '--out', out, '--quiet');
  assert.is(r.status, 2, r.stderr);
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /store\.frames: .*frames = 1/);
  assert.not.ok(existsSync(out), 'nothing written');
});

test('--count abc says what was found (NaN), not "null"', () => {
  const r = run('generate', '--count', 'abc', '--out', join(root, 'never'), '--source', SRC);
  assert.is(r.status, 2);
  assert.match(r.stderr, /count: must be an integer .*got NaN/);
  assert.not.ok(existsSync(join(root, 'never')));
});

test('inspect checks each finished shard against the manifest: a truncated shard is named, exit 2', () => {
  const cfg = join(root, 'small.json');
  writeFileSync(cfg, JSON.stringify({ samplesPerShard: 2, simulation: { size: 6, nAngles: 3 } }));
  const out = join(root, 'ds');
  const g = run('generate', '--config', cfg, '--count', '6', '--out', out, '--source', SRC, '--workers', '1', '--quiet');
  assert.is(g.status, 0, g.stderr);
  const ok = run('inspect', out, '--verify');
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /finished 3\/3 \(sizes and sha256 checked\)/);
  const shard = join(out, 'shard-00001.h5');
  const size = readFileSync(shard).length;
  truncateSync(shard, Math.floor(size / 2));
  const r = run('inspect', out);
  assert.is(r.status, 2, r.stdout + r.stderr);
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`shard-00001\\.h5: ${Math.floor(size / 2)} bytes, the manifest records ${size}`));
  assert.match(r.stdout, /finished 2\/3, 1 damaged/);
  // Same size, one byte changed: only --verify (sha256) sees it.
  const g2 = run('generate', '--config', cfg, '--count', '6', '--out', out, '--source', SRC, '--workers', '1', '--quiet', '--resume');
  assert.is(g2.status, 0, g2.stderr);
  const buf = readFileSync(shard);
  buf[buf.length - 1] ^= 0xff;
  writeFileSync(shard, buf);
  assert.is(run('inspect', out).status, 0);
  const v = run('inspect', out, '--verify');
  assert.is(v.status, 2);
  assert.match(v.stderr, /shard-00001\.h5: sha256 differs/);
});

test('disk full during generate: one line, no shard under its final name (tmpfs, where mounting is allowed)', () => {
  const dir = join(root, 'tmpfs');
  mkdirSync(dir);
  const m = process.getuid?.() === 0 ? spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]) : null;
  if (!m || m.status !== 0) {
    console.log('  (skipped: cannot mount a tmpfs here)');
    return;
  }
  tmpfs = dir;
  const cfg = join(root, 'big.json');
  writeFileSync(cfg, JSON.stringify({ samplesPerShard: 4, compression: { phantom: 0, clean: 0, counts: 'none' }, simulation: { size: 40, nAngles: 8 } }));
  const out = join(dir, 'ds');
  const r = run('generate', '--config', cfg, '--count', '8', '--out', out, '--source', SRC, '--workers', '1', '--quiet');
  assert.is(r.status, 2, r.stderr);
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /shard-00000\.h5: cannot write: no space left on the device/);
  assert.not.match(r.stderr, /HDF5-DIAG/);
  const left = readdirSync(out);
  assert.equal(left.filter((f) => /^shard-|^\.tmp-/.test(f)), [], `left: ${left.join(', ')}`);
  const man = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  assert.is(man.finishedShards, 0, 'the manifest records no finished shard');
});

test.run();
