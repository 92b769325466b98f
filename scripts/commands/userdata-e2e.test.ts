/**
 * End to end from a user's files, all through the CLI (issue 20): a tilt series simulated from a
 * known phantom (datasets/formats/testing/make-fixtures.py: a ball and a rod, tilt-axis offset +2 px,
 * about 1 px of jitter per view, Poisson counts; parameters in e2e_phantom.json) as a MATLAB v5
 * .mat, a MATLAB v7.3 .mat (Au stored as counts / 50) and a Velox-like .emd (2 frames per view).
 * For each: `train` self-supervised on the file (tiny model, 6 epochs of 20 steps of 8 patches: n2n-thinning on the v5
 * counts, blind-spot with --count-scale 50 on v7.3, n2n-frames on the Velox frames), `denoise` the
 * file with it, `reconstruct` the denoised Au with the file's HAADF, `--align` (shifts and the axis
 * offset estimated on the HAADF), and score the Au volume by its Pearson correlation with the
 * phantom voxelised on the reconstruction grid.
 * Bounds that fail when a step breaks: the aligned volume correlates with the phantom above 0.8
 * (the noisy file's own aligned volume: 0.88), the estimated axis offset is within 0.5 px of +2, the
 * same volume with a deliberately wrong offset (-2 px, the sign flipped) scores at least 0.1 lower,
 * and the denoised volume is not worse than the noisy one's by more than 0.03 (an undertrained
 * model, 2 epochs of 6 steps, already costs 0.07-0.2; a broken one or a channel mix-up far more).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMrc } from '../../datasets/formats/mrc/mrc.ts';
import { runCli } from '../testing/cli.ts';
import { pearson } from '../../eval/metrics/correlation.ts';

const FX = fileURLToPath(new URL('../../datasets/formats/testing/fixtures/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'nanodose-userdata-e2e-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const run = (...args: string[]) => {
  const r = runCli(args, { env: { NANODOSE_THREADS: '1' } });
  assert.is(r.status, 0, `nanodose ${args.join(' ')}:\n${r.stderr}`);
  return r;
};

interface Phantom {
  ball: { center_xyz: [number, number, number]; radius: number };
  rod: { center_xy: [number, number]; radius: number; z: [number, number] };
  axis_offset_px: number;
  shape: [number, number, number];
}
const phantom = JSON.parse(readFileSync(join(FX, 'e2e_phantom.json'), 'utf8')) as Phantom;

/**
 * The phantom's Au fraction per voxel of a [nz, ny, nx] volume in nanodose's geometry
 * (generators/projection/geometry.ts: centred axes, z along the rows), 4^3 sub-samples per voxel.
 */
function voxelise(nz: number, ny: number, nx: number): Float64Array {
  const out = new Float64Array(nz * ny * nx);
  const { ball, rod } = phantom;
  const S = 4;
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    let hit = 0;
    for (let a = 0; a < S; a++) for (let b = 0; b < S; b++) for (let c = 0; c < S; c++) {
      const z = k - (nz - 1) / 2 + (a + 0.5) / S - 0.5, y = j - (ny - 1) / 2 + (b + 0.5) / S - 0.5, x = i - (nx - 1) / 2 + (c + 0.5) / S - 0.5;
      const inBall = (x - ball.center_xyz[0]) ** 2 + (y - ball.center_xyz[1]) ** 2 + (z - ball.center_xyz[2]) ** 2 <= ball.radius ** 2;
      const inRod = (x - rod.center_xy[0]) ** 2 + (y - rod.center_xy[1]) ** 2 <= rod.radius ** 2 && z >= rod.z[0] && z <= rod.z[1];
      if (inBall || inRod) hit++;
    }
    out[(k * ny + j) * nx + i] = hit / S ** 3;
  }
  return out;
}

/** Pearson r of the Au volume PREFIX_Au.mrc with the phantom. */
function score(prefix: string): number {
  const v = readMrc(`${prefix}_Au.mrc`);
  assert.equal(v.shape, [phantom.shape[1], phantom.shape[2], phantom.shape[2]], prefix);
  return pearson(v.data, voxelise(v.shape[0], v.shape[1], v.shape[2]));
}

const axisOffsetOf = (shifts: string) => Number(/axis_offset (-?[\d.]+)/.exec(readFileSync(shifts, 'utf8'))![1]);

/** train -> denoise -> reconstruct --align; returns the aligned and the noisy volumes' scores. */
function pipeline(name: string, file: string, train: string[], denoiseExt = '.mrc') {
  const model = join(root, `${name}-model`);
  const t = run('train', '--data', file, ...train, '--out', model, '--model', 'tiny', '--epochs', '6', '--steps', '20', '--batch', '8', '--workers', '1', '--seed', '1');
  assert.match(t.stdout, /views to train on, \d held out for validation/, name);
  assert.ok(existsSync(join(model, 'best', 'model.json')), `${name}: best model written`);
  const user = JSON.parse(readFileSync(join(model, 'user-data.json'), 'utf8')) as { trainViews: number[]; valViews: number[] };
  assert.ok(user.valViews.length >= 2 && user.valViews.every((v) => !user.trainViews.includes(v)), `${name}: held-out views ${user.valViews} not trained on`);
  const den = join(root, `${name}-den${denoiseExt}`);
  run('denoise', file, '--model', model, '--out', den, '--quiet');
  const rec = join(root, `${name}-rec`);
  run('reconstruct', `HAADF=${file},Au=${den}`, '--out', rec, '--method', 'sirt:30', '--align', '--workers', '1', '--quiet');
  const noisy = join(root, `${name}-noisy`);
  run('reconstruct', file, '--out', noisy, '--method', 'sirt:30', '--align', '--channels', 'Au', '--workers', '1', '--quiet');
  const r = { aligned: score(rec), noisy: score(noisy), offset: axisOffsetOf(`${rec}_shifts.txt`), rec, den };
  console.log(`${name}: r(denoised, aligned) ${r.aligned.toFixed(3)}, r(noisy, aligned) ${r.noisy.toFixed(3)}, axis offset ${r.offset.toFixed(2)} px (true ${phantom.axis_offset_px})`);
  assert.ok(r.aligned > 0.8, `${name}: r ${r.aligned} with the phantom`);
  assert.ok(Math.abs(r.offset - phantom.axis_offset_px) < 0.5, `${name}: axis offset ${r.offset}, true ${phantom.axis_offset_px}`);
  assert.ok(r.aligned > r.noisy - 0.03, `${name}: denoised ${r.aligned} vs noisy ${r.noisy}`);
  return r;
}

test('.mat v5 (integer counts): n2n-thinning, denoise, align, reconstruct; a wrong axis offset scores lower', () => {
  const file = join(FX, 'e2e_v5.mat');
  const r = pipeline('v5', file, ['--scheme', 'n2n-thinning']);
  const wrong = join(root, 'v5-wrong');
  run('reconstruct', `HAADF=${file},Au=${r.den}`, '--out', wrong, '--method', 'sirt:30', '--align', '--axis-offset', String(-phantom.axis_offset_px), '--workers', '1', '--quiet');
  const w = score(wrong);
  console.log(`v5: r with the wrong axis offset ${w.toFixed(3)}`);
  assert.ok(r.aligned > w + 0.1, `aligned ${r.aligned} vs wrong offset ${w}`);
});

test('.mat v7.3 (Au stored as counts / 50): blind-spot with --count-scale 50', () => {
  pipeline('v73', join(FX, 'e2e_v73.mat'), ['--scheme', 'blind-spot', '--count-scale', '50', '--channels', 'Au']);
});

test('Velox .emd with 2 frames per view: n2n-frames', () => {
  pipeline('velox', join(FX, 'e2e_velox.emd'), ['--scheme', 'n2n-frames']);
});

test.run();
