/** A NaN pixel in a user's tilt series: refused with the file and index (exit 2, nothing written), or masked and reported. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMrc, writeMrc, writeTlt } from '../../datasets/formats/mrc/mrc.ts';
import { runCli } from '../testing/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-finite-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const run = (...args: string[]) => runCli(args);

const A = 5, R = 4, C = 8;
const input = join(root, 'tilt.mrc');
const data = new Float32Array(A * R * C).fill(1);
data[2 * R * C + 1 * C + 3] = NaN;
writeMrc(input, data, [A, R, C], { voxelSizeAngstrom: 2, kind: 'stack' });
writeTlt(join(root, 'tilt.tlt'), [-60, -30, 0, 30, 60]);

test('reconstruct refuses a NaN pixel: names the file and [angle, row, col], exit 2, writes nothing', () => {
  const out = join(root, 'rec');
  const r = run('reconstruct', input, '--out', out, '--method', 'sirt:2', '--workers', '1', '--quiet');
  assert.is(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /tilt\.mrc .*1 non-finite value\(s\) \(first NaN at \[angle 2, row 1, col 3\]\)/);
  assert.equal(readdirSync(root).filter((f) => f.startsWith('rec')), []);
});

test('reconstruct --mask-nonfinite sets it to 0, says so and gives a finite volume', () => {
  const out = join(root, 'masked');
  const r = run('reconstruct', input, '--out', out, '--method', 'sirt:2', '--workers', '1', '--quiet', '--mask-nonfinite');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /1 non-finite value\(s\) set to 0/);
  const mrc = readdirSync(root).find((f) => f.startsWith('masked') && f.endsWith('.mrc'));
  assert.ok(mrc && existsSync(join(root, mrc)));
  const v = readMrc(join(root, mrc!)).data;
  assert.ok(v.every(Number.isFinite));
});

test.run();
