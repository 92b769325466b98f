/**
 * The Velox spectrum-stream fixture (testing/make-velox-stream.py) from the CLI: `inspect` names the
 * element maps decoded from the stream and their energy windows, `denoise --method gaussian` filters
 * the Au map frame by frame (3 frames of one tilt), and a truncated stream exits 2 with one line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMrc } from '../mrc/mrc.ts';

const PRELOAD = fileURLToPath(new URL('../../testing/preload.mjs', import.meta.url));
const CLI_TS = fileURLToPath(new URL('../../../scripts/cli.ts', import.meta.url));
const FX = fileURLToPath(new URL('../testing/fixtures/', import.meta.url));
const env = { ...process.env, FORCE_COLOR: '0' };
const run = (...args: string[]) => spawnSync(process.execPath, [PRELOAD, CLI_TS, ...args], { encoding: 'utf8', env });
const root = mkdtempSync(join(tmpdir(), 'nanodose-velox-cli-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const truth = JSON.parse(readFileSync(join(FX, 'velox_si_truth.json'), 'utf8')) as { maps: Record<string, number[]> };

test('inspect and denoise --method gaussian on a Velox spectrum stream; a truncated stream exits 2 in one line', () => {
  const i = run('inspect', join(FX, 'velox_si.emd'));
  assert.is(i.status, 0, i.stderr);
  assert.match(i.stdout, /3 projection\(s\) \(1 views x 3 frames\) x 16 rows x 16 cols; channels HAADF \(uint16\), Ag \(EDX stream counts, Ag La 2\.89-3\.08 keV\), Au \(EDX stream counts, Au La 9\.56-9\.87 keV\)/);
  assert.match(i.stdout, /Au\s+integer counts/);
  const out = join(root, 'au.mrc');
  const d = run('denoise', join(FX, 'velox_si.emd'), '--method', 'gaussian:1', '--channels', 'Au', '--out', out, '--quiet');
  assert.is(d.status, 0, d.stderr);
  const m = readMrc(out);
  assert.equal(m.shape, [3, 16, 16]);
  let sum = 0, raw = 0, changed = 0;
  for (let k = 0; k < m.data.length; k++) {
    assert.ok(Number.isFinite(m.data[k]) && m.data[k] >= 0, `value ${k}: ${m.data[k]}`);
    sum += m.data[k];
    raw += truth.maps.Au[k];
    if (Math.abs(m.data[k] - truth.maps.Au[k]) > 1e-6) changed++;
  }
  assert.ok(changed > m.data.length / 4, `the filter changed ${changed} values`);
  // a normalised Gaussian keeps the counts but for what leaves the 16 x 16 border
  assert.ok(Math.abs(sum - raw) < 0.15 * raw, `counts ${sum} after, ${raw} before`);
  const bad = run('denoise', join(FX, 'velox_si_truncated.emd'), '--method', 'gaussian', '--out', join(root, 'bad.mrc'), '--quiet');
  assert.is(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /velox_si_truncated\.emd: emd-velox: .*the stream .* is truncated/);
  assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.not.ok(existsSync(join(root, 'bad.mrc')));
});

test.run();
