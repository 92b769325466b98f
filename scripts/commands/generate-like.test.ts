/**
 * `nanodose generate --like FILE` on a tilt series simulated with known settings (written as one MRC per
 * channel with .tlt files, as a user would have them): the inferred config has the angles exactly, the
 * EDX counts per particle pixel and the particle's extent within 10 %, the pixel size, elements and
 * shape class; it is a valid config; a missing file is one line and exit 2, nothing written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMrc, writeTlt } from '../../datasets/formats/mrc/mrc.ts';
import { validateDatasetConfig } from '../../datasets/config.ts';
import { simulateSample, validateSimulationConfig } from '../../generators/simulate.ts';
import { runCli } from '../testing/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'nanodose-like-'));
const run = (...args: string[]) => runCli(['generate', ...args], { cwd: root });
test.after(() => rmSync(root, { recursive: true, force: true }));

test('--like recovers the angles exactly and the counts per particle pixel and the extent within 10 %', async () => {
  const classes = ['sphere', 'ellipsoid', 'cube', 'rod', 'octahedron', 'truncated-octahedron', 'cuboctahedron', 'icosahedron', 'decahedron', 'bipyramid', 'triangle-plate', 'truncated-triangle-plate', 'hexagon-plate', 'square-plate'];
  const known = { size: 40, nCols: 48, angles: '-65:65:10', counts: 1.5, sizeFraction: 0.6, pixel: 2.5 };
  const cfg = validateSimulationConfig({
    phantom: { size: known.size, classWeights: Object.fromEntries(classes.map((c) => [c, c === 'sphere' ? 1 : 0])), sizeFraction: [known.sizeFraction, known.sizeFraction], elements: ['Au', 'Ag'] },
    geometry: { angles: known.angles, nCols: known.nCols },
    acquisition: { mode: 'counts', countsInParticle: known.counts, pixelSizeAngstrom: known.pixel },
  });
  const s = await simulateSample(cfg, 4, 0);
  const nA = s.angles.length, plane = nA * known.size * known.nCols;
  const files = ['HAADF', 'Au', 'Ag'].map((c, k) => {
    const p = join(root, `tilt_${c}.mrc`);
    writeMrc(p, Float32Array.from(s.noisy.subarray(k * plane, (k + 1) * plane)), [nA, known.size, known.nCols], { voxelSizeAngstrom: known.pixel, kind: 'stack' });
    writeTlt(join(root, `tilt_${c}.tlt`), s.angles);
    return `${c}=${p}`;
  });
  const r = run('--like', files.join(','), '--like-out', 'like.json');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /net EDX counts per particle pixel: Au [\d.]+, Ag [\d.]+/);
  assert.match(r.stdout, /saved like\.json/);
  const got = JSON.parse(readFileSync(join(root, 'like.json'), 'utf8'));
  const sim = got.simulation;
  assert.equal(sim.geometry.angles, Array.from(s.angles), 'angles exactly');
  assert.is(sim.phantom.size, known.size);
  assert.is(sim.geometry.nCols, known.nCols);
  assert.is(sim.acquisition.pixelSizeAngstrom, known.pixel);
  assert.equal(sim.phantom.elements, ['Au', 'Ag']);
  assert.is(sim.acquisition.mode, 'counts');
  const c = sim.acquisition.countsInParticle;
  assert.ok(Math.abs(c / known.counts - 1) < 0.1, `counts per particle pixel ${c} vs ${known.counts}`);
  const f = (sim.phantom.sizeFraction[0] + sim.phantom.sizeFraction[1]) / 2;
  assert.ok(Math.abs(f / known.sizeFraction - 1) < 0.1, `extent ${f} vs ${known.sizeFraction}`);
  assert.is(sim.phantom.classWeights.sphere, 1);
  assert.is(sim.phantom.classWeights.rod, 0);
  validateDatasetConfig(got);
});

test('--like on a missing file: one line, exit 2, no config written', () => {
  const r = run('--like', 'nope.mrc', '--like-out', 'x.json');
  assert.is(r.status, 2, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /nope\.mrc/);
  assert.ok(!existsSync(join(root, 'x.json')));
});

test.run();
