/**
 * generate --like's shape class (eval/align/like.ts) on simulated tilt series with known particles:
 * 40^3 phantoms, one particle of each class turned at random, 14 tilts over +-65 deg, noisy counts
 * (counts mode, 1.5 EDX counts per particle pixel). Prints per class the class read from the
 * projections' second moments, the agreement with the class name (rod; *-plate; the rest compact;
 * bipyramids not scored) and with the class the phantom volume's own principal lengths give, the
 * worst absolute and relative error of the principal lengths against the volume's, and the time per series.
 *
 *   npm run bench -- like-shape        (BENCH_LIKE_SEEDS=6 per class)
 */
import { inferFromTiltSeries, shapeClassOf, volumePrincipalLengths } from '../../eval/align/like.ts';
import { simulateSample, validateSimulationConfig } from '../../generators/simulate.ts';

const CLASSES = ['sphere', 'ellipsoid', 'cube', 'rod', 'octahedron', 'truncated-octahedron', 'cuboctahedron', 'icosahedron', 'decahedron', 'bipyramid', 'triangle-plate', 'truncated-triangle-plate', 'hexagon-plate', 'square-plate'];
const TESTED = ['sphere', 'cube', 'octahedron', 'icosahedron', 'rod', 'triangle-plate', 'hexagon-plate', 'square-plate'];
const byName = (c: string) => (c === 'rod' ? 'rod' : c.endsWith('plate') ? 'plate' : c === 'bipyramid' ? undefined : 'compact');
const N = 40, nC = 48, seeds = Number(process.env.BENCH_LIKE_SEEDS ?? 6);
let okName = 0, nName = 0, okGeom = 0, nGeom = 0, worst = 0, worstPx = 0, tInfer = 0;
console.log(`like-shape: ${N}^3 phantoms, 14 tilts over +-65 deg, noisy counts, ${seeds} random orientations per class`);
for (const cls of TESTED) {
  const cfg = validateSimulationConfig({ phantom: { size: N, classWeights: Object.fromEntries(CLASSES.map((c) => [c, c === cls ? 1 : 0])), sizeFraction: [0.6, 0.6], elements: ['Au', 'Ag'] }, geometry: { angles: '-65:65:10', nCols: nC }, acquisition: { mode: 'counts', countsInParticle: 1.5 } });
  const got: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const s = await simulateSample(cfg, seed, 0);
    const plane = s.angles.length * N * nC;
    const channels = ['HAADF', 'Au', 'Ag'].map((name, k) => ({ name, data: Float32Array.from(s.noisy.subarray(k * plane, (k + 1) * plane)) }));
    const t0 = performance.now();
    const e = inferFromTiltSeries({ channels, angles: s.angles, nRows: N, nCols: nC });
    tInfer += performance.now() - t0;
    const vol = new Float64Array(N * N * N);
    for (const v of s.volume) for (let i = 0; i < vol.length; i++) vol[i] += v[i];
    const truth = volumePrincipalLengths(vol, N), geom = shapeClassOf(truth);
    worst = Math.max(worst, ...e.principalPx.map((v, i) => Math.abs(v / truth[i] - 1)));
    worstPx = Math.max(worstPx, ...e.principalPx.map((v, i) => Math.abs(v - truth[i])));
    nGeom++; if (geom === e.shapeClass) okGeom++;
    const name = byName(cls);
    if (name) { nName++; if (name === e.shapeClass) okName++; }
    got.push(e.shapeClass + (geom !== e.shapeClass ? ` (volume: ${geom})` : ''));
  }
  console.log(`  ${cls.padEnd(16)} ${got.join(', ')}`);
}
console.log(`accuracy: class name ${okName}/${nName}, the phantom volume's own principal lengths ${okGeom}/${nGeom}; worst principal-length error ${worstPx.toFixed(2)} px, ${(100 * worst).toFixed(1)} % (the relative error is largest on a thin plate's 2-5 px thickness)`);
console.log(`time: inferFromTiltSeries ${(tInfer / nGeom).toFixed(0)} ms per series`);
