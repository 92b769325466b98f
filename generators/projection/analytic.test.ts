import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ellipsoid, Intersection, Polytope, buildShape, samplePhantom, defaultPhantomConfig, voxelise, type Phantom, type Region, type Solid } from '../phantoms/index.ts';
import { quaternionToMatrix } from '../../core/random.ts';
import { Projector, makeGeometry, analyticChords, analyticProjection, projectPhantom, isAnalyticRegion } from './index.ts';

const IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1];
const AU = { symbol: 'Au', Z: 79 }, AG = { symbol: 'Ag', Z: 47 };
const phantomOf = (N: number, regions: Region[], elements = [AU]): Phantom => ({ size: N, elements, regions, params: { shapeClass: 'test', composition: 'test' } });
/** Cube of edge a (planes +-x, +-y, +-z at a/2), rotated and centred. */
const cube = (a: number, rot: ArrayLike<number>, centre: [number, number, number], rounding = 0) =>
  new Polytope([1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1], new Array(6).fill(a / 2), rounding, rot, centre);
const ROT = (() => { const q = [0.8, 0.3, -0.4, 0.33], l = Math.hypot(...q); return quaternionToMatrix({ w: q[0] / l, x: q[1] / l, y: q[2] / l, z: q[3] / l }); })();
const sum = (a: ArrayLike<number>, lo = 0, hi = a.length) => { let s = 0; for (let i = lo; i < hi; i++) s += a[i]; return s; };

test('sphere: analytic projection = 2 sqrt(r^2 - d^2) at the pixel centres (s = 1), d from the closed-form detector coordinate', () => {
  const N = 48, r = 17.3, c: [number, number, number] = [2.2, -1.7, 0.9];
  const angles = [0, 31, -58.5, 90];
  const geom = makeGeometry({ angles, nz: N, ny: N, nx: N, nCols: 53 });
  const p = analyticChords(new Ellipsoid(r, r, r, IDENTITY, c), geom);
  let worst = 0, hits = 0;
  angles.forEach((ang, a) => {
    const th = (ang * Math.PI) / 180;
    const tc = c[0] * Math.cos(th) + c[1] * Math.sin(th); // detector coordinate of the centre
    for (let row = 0; row < N; row++) for (let u = 0; u < 53; u++) {
      const dt = u - 26 - tc, dz = row - (N - 1) / 2 - c[2];
      const d2 = dt * dt + dz * dz;
      const exact = d2 < r * r ? 2 * Math.sqrt(r * r - d2) : 0;
      if (exact > 0) hits++;
      worst = Math.max(worst, Math.abs(p[(a * N + row) * 53 + u] - exact));
    }
  });
  assert.ok(hits > 3000, `rays through the sphere: ${hits}`);
  assert.ok(worst < 1e-4, `max |analytic - 2 sqrt(r^2 - d^2)| = ${worst}`);
});

test('sphere: super-sampling converges to the pixel average of the chord, error at the rim falls with s', () => {
  const N = 40, r = 13.37, c: [number, number, number] = [0.31, 0.12, -0.27];
  const geom = makeGeometry({ angles: [0], nz: N, ny: N, nx: N });
  const sph = new Ellipsoid(r, r, r, IDENTITY, c);
  // Independent reference: 64 x 64 midpoint rule of the closed form over each pixel near the rim.
  const ref = (row: number, u: number): number => {
    const K = 64; let s = 0;
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) {
      const dt = u - (N - 1) / 2 + (i + 0.5) / K - 0.5 - c[0], dz = row - (N - 1) / 2 + (j + 0.5) / K - 0.5 - c[2];
      const d2 = dt * dt + dz * dz;
      if (d2 < r * r) s += 2 * Math.sqrt(r * r - d2);
    }
    return s / (K * K);
  };
  const rim: [number, number][] = [];
  for (let row = 0; row < N; row++) for (let u = 0; u < N; u++) {
    const d = Math.hypot(u - (N - 1) / 2 - c[0], row - (N - 1) / 2 - c[2]);
    if (Math.abs(d - r) < 0.7) rim.push([row, u]);
  }
  const refs = rim.map(([row, u]) => ref(row, u));
  const err = [1, 3, 8].map((s) => {
    const p = analyticChords(sph, geom, { supersample: s });
    let e = 0; rim.forEach(([row, u], k) => { e += Math.abs(p[row * N + u] - refs[k]); });
    return e / rim.length;
  });
  assert.ok(rim.length > 50);
  assert.ok(err[1] < 0.5 * err[0] && err[2] < 0.5 * err[1], `mean rim error s=1: ${err[0].toFixed(4)}, s=3: ${err[1].toFixed(4)}, s=8: ${err[2].toFixed(4)}`);
});

test('mass conservation: each projection sums to the volume (sphere 4/3 pi r^3, rotated cube a^3, rounded cube) to 1e-3', () => {
  const N = 64, angles = [0, 17, 45, -72];
  const geom = makeGeometry({ angles, nz: N, ny: N, nx: N });
  const a = 30, rr = 4;
  // Rounded cube: a^3 - (12 edges)(a - 2r) r^2 (4 - pi) ... = (a-2r)^3 + 6 (a-2r)^2 r + 3 pi (a-2r) r^2 + 4/3 pi r^3.
  const b = a - 2 * rr;
  const cases: [string, Solid, number][] = [
    ['sphere', new Ellipsoid(21, 21, 21, IDENTITY, [1.5, -2, 0.5]), (4 / 3) * Math.PI * 21 ** 3],
    ['rotated cube', cube(a, ROT, [-1.2, 0.8, 2.1]), a ** 3],
    ['rounded rotated cube', cube(a, ROT, [0.4, -0.3, -1.1], rr), b ** 3 + 6 * b * b * rr + 3 * Math.PI * b * rr * rr + (4 / 3) * Math.PI * rr ** 3],
  ];
  const img = N * N;
  for (const [name, sol, vol] of cases) {
    const p = analyticChords(sol, geom, { supersample: 3 });
    for (let k = 0; k < angles.length; k++) {
      const s = sum(p, k * img, (k + 1) * img);
      assert.ok(Math.abs(s - vol) < 1e-3 * vol, `${name} angle ${angles[k]}: sum ${s.toFixed(3)} vs volume ${vol.toFixed(3)}`);
    }
  }
});

/** Voxelised phantom projected by Joseph vs the analytic projection (s = 4) at N = 128, a few angles. */
async function voxelVsAnalytic(solid: Solid): Promise<{ l2: number; mean: number; max: number; count: number }> {
  const N = 128, angles = [0, 23, 45, -61.5];
  const geom = makeGeometry({ angles, nz: N, ny: N, nx: N });
  const vol = voxelise(phantomOf(N, [{ solid, fractions: [1], blur: 0 }]))[0];
  const proj = new Projector(geom, { workers: 1 });
  const vp = await proj.forward(vol);
  await proj.close();
  const an = analyticChords(solid, geom, { supersample: 4 });
  let mx = 0; for (const v of an) mx = Math.max(mx, v);
  let e2 = 0, r2 = 0, sr = 0, max = 0, count = 0;
  for (let i = 0; i < an.length; i++) {
    if (!(an[i] > 0.2 * mx)) continue;
    const d = vp[i] - an[i], rel = Math.abs(d) / an[i];
    e2 += d * d; r2 += an[i] * an[i]; sr += rel; count++;
    if (rel > max) max = rel;
  }
  return { l2: Math.sqrt(e2 / r2), mean: sr / count, max, count };
}

test('voxelised sphere (r = 45) at N = 128: Joseph projection vs analytic, relative error inside < 2 %', async () => {
  const e = await voxelVsAnalytic(new Ellipsoid(45, 45, 45, IDENTITY, [2.4, -1.3, 0.7]));
  const msg = `inside (chord > 20 % of max, ${e.count} px): relative L2 ${(100 * e.l2).toFixed(3)} %, mean |rel| ${(100 * e.mean).toFixed(3)} %, max |rel| ${(100 * e.max).toFixed(2)} %`;
  console.log(`  sphere: ${msg}`);
  assert.ok(e.count > 20000, msg);
  assert.ok(e.l2 < 0.02 && e.mean < 0.02, msg);
  // Pointwise the largest error sits on the 20 % contour, where the chord changes by ~50 % per voxel.
  assert.ok(e.max < 0.05, msg);
});

test('voxelised rotated cube (edge 60) at N = 128: Joseph projection vs analytic, relative error inside < 2 %', async () => {
  const e = await voxelVsAnalytic(cube(60, ROT, [3.3, -2.1, 1.7]));
  const msg = `inside (chord > 20 % of max, ${e.count} px): relative L2 ${(100 * e.l2).toFixed(3)} %, mean |rel| ${(100 * e.mean).toFixed(3)} %, max |rel| ${(100 * e.max).toFixed(2)} %`;
  console.log(`  cube: ${msg}`);
  assert.ok(e.count > 10000, msg);
  assert.ok(e.l2 < 0.02 && e.mean < 0.02, msg);
  assert.ok(e.max < 0.05, msg);
});

test('rounded polytopes: closed-form chord (edge cylinders, vertex balls) equals Polytope.chord (root finding)', () => {
  const N = 48, angles = [0, 37, -71];
  const geom = makeGeometry({ angles, nz: N, ny: N, nx: N });
  const cfg = { ...defaultPhantomConfig(), size: N, diffuseProbability: 0, rounding: [0.03, 0.1] as [number, number] };
  let worst = 0, rays = 0;
  for (let i = 0; i < 12; i++) {
    for (const reg of samplePhantom(cfg, 11, i).regions) {
      const sol = reg.solid as Polytope;
      const fast = analyticChords(sol, geom);
      let k = 0;
      for (const ang of angles) {
        const th = (ang * Math.PI) / 180, c = Math.cos(th), s = Math.sin(th);
        for (let r = 0; r < N; r++) for (let u = 0; u < N; u++, k++) {
          const t = u - (N - 1) / 2, z = r - (N - 1) / 2;
          const ref = sol.chord(t * c, t * s, z, -s, c, 0);
          if (ref > 0) rays++;
          worst = Math.max(worst, Math.abs(ref - fast[k]) / Math.max(1, ref));
        }
      }
    }
  }
  assert.ok(rays > 10000, `rays through the solids: ${rays}`);
  assert.ok(worst < 1e-6, `largest relative difference ${worst}`); // float32 output
});

test('core-shell: element amounts are chord arithmetic (core = L(cut core), shell = L(shell) - L(cut core)) times fractions', () => {
  const N = 64, angles = [0, 40, -65]; // the shell's circumsphere (radius < 29.5) fits inside the grid
  const geom = makeGeometry({ angles, nz: N, ny: N, nx: N });
  const shell = cube(34, ROT, [0.5, -0.3, 0.2], 2);
  const core = new Ellipsoid(12, 9, 14, ROT, [0.5, -0.3, 0.2]);
  const cut = new Intersection(core, shell);
  const fc = [0.9, 0.05], fs = [0.1, 0.7]; // core mostly Au, shell mostly Ag (alloy-like fractions in each)
  const ph = phantomOf(N, [{ solid: cut, fractions: fc, blur: 0 }, { solid: shell, minus: cut, fractions: fs, blur: 0 }], [AU, AG]);
  assert.ok(ph.regions.every(isAnalyticRegion));
  const { projected, voxelRegions } = analyticProjection(ph, geom, { supersample: 1 });
  assert.equal(voxelRegions, []);
  let k = 0, worst = 0, through = 0;
  for (const ang of angles) {
    const th = (ang * Math.PI) / 180, c = Math.cos(th), s = Math.sin(th);
    for (let r = 0; r < N; r++) for (let u = 0; u < N; u++, k++) {
      const t = u - (N - 1) / 2, z = r - (N - 1) / 2;
      const Ls = shell.chord(t * c, t * s, z, -s, c, 0), Lc = cut.chord(t * c, t * s, z, -s, c, 0);
      if (Lc > 0) through++;
      for (let e = 0; e < 2; e++) worst = Math.max(worst, Math.abs(projected[e][k] - (fc[e] * Lc + fs[e] * (Ls - Lc))));
    }
  }
  assert.ok(through > 1000, `rays through the core: ${through}`);
  assert.ok(worst < 1e-4, `max deviation from chord arithmetic ${worst}`);
  // Mass: with s = 3 each element's projection sums to sum_k fractions_k * volume_k. The core lies wholly
  // inside the shell (cut = core): 4/3 pi abc; the shell, a cube of edge 34 rounded by 2 (Steiner):
  // b^3 + 6 b^2 r + 3 pi b r^2 + 4/3 pi r^3 with b = 30, minus the core.
  const p3 = analyticProjection(ph, geom, { supersample: 3 }).projected;
  const vCore = (4 / 3) * Math.PI * 12 * 9 * 14, b = 30, rr = 2;
  const vShell = b ** 3 + 6 * b * b * rr + 3 * Math.PI * b * rr * rr + (4 / 3) * Math.PI * rr ** 3 - vCore;
  // The voxel count agrees too, to the voxeliser's accuracy at rounded edges (~2e-3).
  const vox = voxelise(ph);
  for (let e = 0; e < 2; e++) for (let a = 0; a < angles.length; a++) {
    const tot = sum(p3[e], a * N * N, (a + 1) * N * N), expect = fc[e] * vCore + fs[e] * vShell;
    assert.ok(Math.abs(tot - expect) < 1e-3 * expect, `element ${e} angle ${angles[a]}: ${tot.toFixed(2)} vs ${expect.toFixed(2)}`);
    assert.ok(Math.abs(sum(vox[e]) - expect) < 3e-3 * expect, `element ${e}: voxel count ${sum(vox[e]).toFixed(2)} vs ${expect.toFixed(2)}`);
  }
});

test('diffuse regions fall back to the voxel projector (projectPhantom); sharp ones are exact', async () => {
  const N = 40, geom = makeGeometry({ angles: [0, 60], nz: N, ny: N, nx: N });
  const sharp = new Ellipsoid(8, 8, 8, IDENTITY, [-9, 0, 0]);
  const soft = buildShape({ shapeClass: 'cube', size: 14, centre: [9, 1, -2], rotation: { w: 1, x: 0, y: 0, z: 0 }, rounding: 0, dims: { aspect: 1 } });
  const ph = phantomOf(N, [{ solid: sharp, fractions: [1, 0], blur: 0 }, { solid: soft, fractions: [0, 0.8], blur: 1.5 }], [AU, AG]);
  const proj = new Projector(geom, { workers: 1 });
  const res = await projectPhantom(ph, proj, { supersample: 2 });
  const vox = await proj.forward(voxelise(phantomOf(N, [ph.regions[1]], [AU, AG]))[1]);
  await proj.close();
  assert.equal(res.voxelRegions, [1]);
  const ref0 = analyticChords(sharp, geom, { supersample: 2 });
  assert.equal(Buffer.from(res.projected[0].buffer).equals(Buffer.from(ref0.buffer)), true);
  assert.equal(Buffer.from(res.projected[1].buffer).equals(Buffer.from(vox.buffer)), true);
  assert.ok(sum(res.projected[1]) > 0);
});

test('bad input: non-convex solid, wrong grid, bad supersample', () => {
  const geom = makeGeometry({ angles: [0], nz: 32, ny: 32, nx: 32 });
  const weird: Solid = { sdf: () => 1, chord: () => 0, boundingRadius: 1 };
  assert.throws(() => analyticChords(weird, geom), /not one of the convex solids/);
  assert.equal(isAnalyticRegion({ solid: weird, fractions: [1], blur: 0 }), false);
  assert.throws(() => analyticProjection(phantomOf(48, []), geom), /not the phantom's 48\^3 grid/);
  assert.throws(() => analyticChords(new Ellipsoid(3, 3, 3, IDENTITY, [0, 0, 0]), geom, { supersample: 0 }), /supersample/);
});

test.run();
