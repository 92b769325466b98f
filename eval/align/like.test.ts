/**
 * generate --like's shape class (eval/align/like.ts): the principal lengths recovered from the
 * projections' second moments against the phantom volume's own, on randomly turned simulated particles.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inferFromTiltSeries, symmetricEigenvalues3, volumePrincipalLengths } from './like.ts';
import { simulateSample, validateSimulationConfig } from '../../generators/simulate.ts';

test('symmetric 3 x 3 eigenvalues: a rotated diagonal matrix gives its diagonal back', () => {
  const d = [9, 4, 1], a = 0.7, b = -0.4;
  const Rz = [[Math.cos(a), -Math.sin(a), 0], [Math.sin(a), Math.cos(a), 0], [0, 0, 1]], Rx = [[1, 0, 0], [0, Math.cos(b), -Math.sin(b)], [0, Math.sin(b), Math.cos(b)]];
  const mul = (A: number[][], B: number[][]) => A.map((r) => B[0].map((_, j) => r.reduce((s, x, k) => s + x * B[k][j], 0)));
  const R = mul(Rz, Rx), D = [[d[0], 0, 0], [0, d[1], 0], [0, 0, d[2]]];
  const M = mul(mul(R, D), R.map((_, i) => R.map((r) => r[i])));
  const e = symmetricEigenvalues3(M);
  e.forEach((v, i) => assert.ok(Math.abs(v - d[i]) < 1e-10, `eigenvalue ${i}: ${v} vs ${d[i]}`));
});

const CLASSES = ['sphere', 'ellipsoid', 'cube', 'rod', 'octahedron', 'truncated-octahedron', 'cuboctahedron', 'icosahedron', 'decahedron', 'bipyramid', 'triangle-plate', 'truncated-triangle-plate', 'hexagon-plate', 'square-plate'];

test('shape class of randomly turned rods, plates and compact particles from noisy counts: the principal lengths within 15 % of the phantom volume\'s, the class the same', async () => {
  const N = 40, nC = 48;
  const want: Record<string, string> = { rod: 'rod', 'hexagon-plate': 'plate', 'square-plate': 'plate', sphere: 'compact', icosahedron: 'compact' };
  for (const [cls, expected] of Object.entries(want)) {
    const cfg = validateSimulationConfig({
      phantom: { size: N, classWeights: Object.fromEntries(CLASSES.map((c) => [c, c === cls ? 1 : 0])), sizeFraction: [0.6, 0.6], elements: ['Au', 'Ag'], rodAspect: [2.5, 3.5] },
      geometry: { angles: '-65:65:10', nCols: nC },
      acquisition: { mode: 'counts', countsInParticle: 1.5 },
    });
    const s = await simulateSample(cfg, 2, 0);
    const nA = s.angles.length, plane = nA * N * nC;
    const channels = ['HAADF', 'Au', 'Ag'].map((name, k) => ({ name, data: Float32Array.from(s.noisy.subarray(k * plane, (k + 1) * plane)) }));
    const e = inferFromTiltSeries({ channels, angles: s.angles, nRows: N, nCols: nC });
    const vol = new Float64Array(N * N * N);
    for (const v of s.volume) for (let i = 0; i < vol.length; i++) vol[i] += v[i];
    const truth = volumePrincipalLengths(vol, N);
    e.principalPx.forEach((v, i) => assert.ok(Math.abs(v / truth[i] - 1) < 0.15, `${cls}: principal length ${i} ${v.toFixed(2)} px vs the volume's ${truth[i].toFixed(2)} px`));
    assert.is(e.shapeClass, expected, `${cls}: ${e.principalPx.map((x) => x.toFixed(1)).join('/')} px (volume ${truth.map((x) => x.toFixed(1)).join('/')})`);
  }
});

test.run();
