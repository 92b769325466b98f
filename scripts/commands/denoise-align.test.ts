/**
 * `nanodose denoise --align | --shifts FILE | --axis-offset PX` on a user's file: the series is aligned
 * (eval/align/cli.ts) before the filter, every channel the same way, the axis moved to the centre;
 * --align writes OUT_shifts.txt; conflicting options are refused with one line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMrc } from '../../datasets/index.ts';
import { gaussianFilter } from '../../eval/baselines/index.ts';
import { applyAlignment, parseShifts } from '../../eval/align/index.ts';
import { runCli } from '../testing/cli.ts';

const FX = fileURLToPath(new URL('../../datasets/formats/testing/fixtures/', import.meta.url));
const run = (...args: string[]) => runCli(['denoise', ...args]);
const root = mkdtempSync(join(tmpdir(), 'nanodose-denoise-align-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('--shifts and --axis-offset: the filtered output is the filter of the aligned, axis-centred series', () => {
  const au = readMrc(join(FX, 'tilt_Au.mrc'));
  const [A, R, C] = au.shape, plane = R * C;
  const text = '# axis_offset 0.5\n' + Array.from({ length: A }, (_, a) => `${a} ${(a % 3) - 1} ${(a % 2) - 0.5}`).join('\n') + '\n';
  writeFileSync(join(root, 's.txt'), text);
  const out = join(root, 'g.mrc');
  const r = run(join(FX, 'tilt_v5.mat'), '--method', 'gaussian:1', '--shifts', join(root, 's.txt'), '--axis-offset', '1', '--out', out);
  assert.is(r.status, 0, r.stderr);
  const al = { ...parseShifts(text, A, 's.txt'), axisOffset: 1 };
  const moved = applyAlignment(au.data, R, C, al, { centreAxis: true });
  const m = readMrc(out);
  for (let k = 0; k < A; k++) {
    const ref = gaussianFilter(moved.subarray(k * plane, (k + 1) * plane), R, C, 1);
    for (let i = 0; i < plane; i++) if (Math.abs(m.data[k * plane + i] - ref[i]) > 1e-5) assert.unreachable(`projection ${k} pixel ${i}: ${m.data[k * plane + i]} vs ${ref[i]}`);
  }
});

test('--align writes OUT_shifts.txt and says so; --align with --shifts: one line, exit 2, nothing written', () => {
  const out = join(root, 'a.mrc');
  const r = run(join(FX, 'tilt_v5.mat'), '--method', 'gaussian:1', '--align', '--out', out);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /aligned on the HAADF: tilt-axis offset/);
  const sh = readFileSync(join(root, 'a_shifts.txt'), 'utf8');
  assert.match(sh, /axis_offset/);
  assert.ok(existsSync(out));
  const bad = run(join(FX, 'tilt_v5.mat'), '--method', 'gaussian:1', '--align', '--shifts', join(root, 'a_shifts.txt'), '--out', join(root, 'b.mrc'));
  assert.is(bad.status, 2, bad.stderr);
  assert.match(bad.stderr.trim(), /^nanodose: shifts: give either --shifts FILE or --align, not both$/m);
  assert.ok(!existsSync(join(root, 'b.mrc')));
});

test.run();
