import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { quaternionToMatrix, stream, type Quaternion, type RandomStream } from '../../core/random.ts';
import { SHAPE_CLASSES, buildShape, maxRounding, type ShapeClass, type ShapeParams } from './shapes.ts';
import { Ellipsoid, Intersection, Polytope, type ConvexSolid } from './solids.ts';
import { cubeFraction, voxelise } from './voxelise.ts';
import type { Phantom } from './types.ts';

/** A random line: unit direction d (isotropic, from three normals) through a point p uniform in [-h, h]^3. */
function randomLine(rng: RandomStream, h: number): { p: number[]; d: number[] } {
  const dir = [rng.normal(), rng.normal(), rng.normal()];
  const n = Math.hypot(...dir);
  const d = dir.map((v) => v / n);
  return { p: [rng.uniformIn(-h, h), rng.uniformIn(-h, h), rng.uniformIn(-h, h)], d };
}

const ROT: Quaternion = (() => {
  const q = { w: 0.9, x: 0.3, y: -0.2, z: 0.25 };
  const n = Math.hypot(q.w, q.x, q.y, q.z);
  return { w: q.w / n, x: q.x / n, y: q.y / n, z: q.z / n };
})();

function shape(shapeClass: ShapeClass, size: number, rounding = 0, dims: Record<string, number> = {}, centre: [number, number, number] = [0.31, -0.17, 0.23]): ShapeParams {
  return { shapeClass, size, centre, rotation: ROT, rounding, dims };
}

function volumeAt128(solid: ConvexSolid): number {
  const ph: Phantom = { size: 128, elements: [{ symbol: 'Au', Z: 79 }], regions: [{ solid, fractions: [1], blur: 0 }], params: { shapeClass: 'x', composition: 'solid' } };
  const v = voxelise(ph)[0];
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}

test('voxelised volumes of sphere, cube, octahedron and rounded cube within 1% of analytic at N = 128', () => {
  const R = 50;
  const checks: [string, number, number][] = [];
  checks.push(['sphere', volumeAt128(buildShape(shape('sphere', 2 * R))), (4 / 3) * Math.PI * R ** 3]);
  // Cube of circumscribed diameter 100: edge 100 / sqrt 3.
  const a = 100 / Math.sqrt(3);
  checks.push(['cube', volumeAt128(buildShape(shape('cube', 100, 0, { aspect: 1 }))), a ** 3]);
  // Octahedron |x|+|y|+|z| <= R: volume 4/3 R^3.
  checks.push(['octahedron', volumeAt128(buildShape(shape('octahedron', 100, 0, { truncation: 0 }))), (4 / 3) * R ** 3]);
  // Rounded cube: (a-2r)^3 + 6 (a-2r)^2 r + 3 pi (a-2r) r^2 + 4/3 pi r^3.
  const r = 8, b = a - 2 * r;
  checks.push(['rounded cube', volumeAt128(buildShape(shape('cube', 100, r, { aspect: 1 }))), b ** 3 + 6 * b * b * r + 3 * Math.PI * b * r * r + (4 / 3) * Math.PI * r ** 3]);
  // Sub-cell supersampling keeps the same volume (it refines edges and tips, not the mean).
  const rc = buildShape(shape('cube', 100, r, { aspect: 1 }));
  const ph: Phantom = { size: 128, elements: [{ symbol: 'Au', Z: 79 }], regions: [{ solid: rc, fractions: [1], blur: 0 }], params: { shapeClass: 'cube', composition: 'solid' } };
  checks.push(['rounded cube, supersample 2', voxelise(ph, { supersample: 2 })[0].reduce((p, q) => p + q, 0), checks[3][2]]);
  for (const [name, got, want] of checks) {
    assert.ok(Math.abs(got / want - 1) < 0.01, `${name}: voxel volume ${got} vs analytic ${want}`);
  }
});

test('rounded cube sdf equals the closed-form rounded-box distance (rotated, off-centre)', () => {
  const a = 30, r = 4;
  const solid = buildShape({ ...shape('cube', 2 * a * Math.sqrt(3), r, { aspect: 1 }), centre: [1.5, -2, 0.5] });
  const m = quaternionToMatrix(ROT);
  const rng = stream(7, 0, 'test');
  for (let i = 0; i < 2000; i++) {
    const p = [rng.uniformIn(-45, 45), rng.uniformIn(-45, 45), rng.uniformIn(-45, 45)];
    const w = [p[0] - 1.5, p[1] + 2, p[2] - 0.5];
    // Local = R^T w.
    const l = [0, 1, 2].map((j) => m[j] * w[0] + m[3 + j] * w[1] + m[6 + j] * w[2]);
    const q = l.map((v) => Math.abs(v) - (a - r));
    const out = Math.hypot(Math.max(q[0], 0), Math.max(q[1], 0), Math.max(q[2], 0));
    const want = out + Math.min(Math.max(q[0], q[1], q[2]), 0) - r;
    assert.ok(Math.abs(solid.sdf(p[0], p[1], p[2]) - want) < 1e-9, `point ${p}: ${solid.sdf(p[0], p[1], p[2])} vs ${want}`);
  }
});

test('ellipsoid sdf: the foot point lies on the surface and the offset is along its normal', () => {
  const e = new Ellipsoid(20, 12, 7, quaternionToMatrix(ROT), [1, 2, -1]);
  const g = new Float64Array(3);
  const rng = stream(8, 0, 'test');
  for (let i = 0; i < 2000; i++) {
    const p = [rng.uniformIn(-30, 30), rng.uniformIn(-30, 30), rng.uniformIn(-30, 30)];
    const d = e.sdfGrad(p[0], p[1], p[2], g);
    const q = [p[0] - d * g[0], p[1] - d * g[1], p[2] - d * g[2]];
    // Foot point in local coordinates must satisfy the implicit equation.
    const m = quaternionToMatrix(ROT);
    const w = [q[0] - 1, q[1] - 2, q[2] + 1];
    const l = [0, 1, 2].map((j) => m[j] * w[0] + m[3 + j] * w[1] + m[6 + j] * w[2]);
    const k = (l[0] / 20) ** 2 + (l[1] / 12) ** 2 + (l[2] / 7) ** 2;
    assert.ok(Math.abs(k - 1) < 1e-7, `foot point off the surface: ${k}`);
    // The normal there (gradient of the implicit function) is parallel to g.
    const nl = [l[0] / 400, l[1] / 144, l[2] / 49];
    const nw = [0, 1, 2].map((j) => m[3 * j] * nl[0] + m[3 * j + 1] * nl[1] + m[3 * j + 2] * nl[2]);
    const len = Math.hypot(...nw);
    const dot = (nw[0] * g[0] + nw[1] * g[1] + nw[2] * g[2]) / len;
    assert.ok(dot > 1 - 1e-7, `gradient not the outward normal at the foot point (${dot})`);
    // And the bound used for culling never exceeds the distance.
    const b = e.bound(p[0], p[1], p[2]);
    assert.ok(Math.sign(b) === Math.sign(d) || b === 0, 'bound sign');
    assert.ok(Math.abs(b) <= Math.abs(d) + 1e-9, 'bound magnitude');
  }
});

/**
 * Brute-force chord: scan the line in steps of h for sign changes of the sdf, refine each change by
 * plain bisection to 1e-12, sum the inside intervals.
 */
function bruteChord(s: ConvexSolid, p: number[], d: number[], T: number, h: number): number {
  const f = (t: number): number => s.sdf(p[0] + t * d[0], p[1] + t * d[1], p[2] + t * d[2]);
  let total = 0, prev = -T, fprev = f(-T), enter = fprev < 0 ? -T : NaN;
  const refine = (a: number, b: number): number => {
    const fa = f(a);
    for (let i = 0; i < 60; i++) {
      const m = 0.5 * (a + b);
      if ((f(m) < 0) === (fa < 0)) a = m; else b = m;
    }
    return 0.5 * (a + b);
  };
  for (let t = -T + h; t <= T + 1e-12; t += h) {
    const ft = f(t);
    if ((ft < 0) !== (fprev < 0)) {
      const x = refine(prev, t);
      if (ft < 0) enter = x; else { total += x - enter; enter = NaN; }
    }
    prev = t;
    fprev = ft;
  }
  return total;
}

test('exact chord lengths match brute-force scans for every class, rounded and truncated', () => {
  const rng = stream(9, 0, 'chords');
  const variants: ShapeParams[] = [];
  const dimsOf: Record<string, Record<string, number>> = {
    cube: { aspect: 1.6 }, ellipsoid: { ratioB: 1.7, ratioC: 1.3 }, rod: { aspect: 3 }, octahedron: { truncation: 0.1 },
    'truncated-octahedron': { truncation: 0.67 }, decahedron: { truncation: 0.2 }, bipyramid: { truncation: 0.08 },
    'triangle-plate': { thickness: 0.25 }, 'truncated-triangle-plate': { truncation: 0.4, thickness: 0.3 },
    'hexagon-plate': { thickness: 0.3 }, 'square-plate': { thickness: 0.3 },
  };
  for (const c of SHAPE_CLASSES) {
    const sp = shape(c, 24, 0, dimsOf[c] ?? {});
    variants.push(sp);
    const mr = maxRounding(sp);
    if (mr > 0) variants.push({ ...sp, rounding: Math.min(2.4, 0.8 * mr) });
  }
  let worst = 0;
  for (const sp of variants) {
    const s = buildShape(sp);
    for (let k = 0; k < 6; k++) {
      const { p, d } = randomLine(rng, 6);
      const want = bruteChord(s, p, d, 30, 0.02);
      const got = s.chord(p[0], p[1], p[2], d[0], d[1], d[2]);
      // A scan with step 0.02 cannot see a grazing chord shorter than its step.
      if (want === 0 && got < 0.02) continue;
      worst = Math.max(worst, Math.abs(got - want));
      assert.ok(Math.abs(got - want) < 1e-6, `${sp.shapeClass} rounding ${sp.rounding}: chord ${got} vs brute force ${want}`);
    }
  }
  assert.ok(worst < 1e-6);
});

test('a cut core (intersection) has the chord of the overlap and lies inside its shell', () => {
  const shell = buildShape(shape('octahedron', 40, 2, { truncation: 0.05 }));
  const core = buildShape({ ...shape('rod', 36, 0, { aspect: 2 }), rotation: { w: 0.5, x: 0.5, y: 0.5, z: 0.5 } });
  const cut = new Intersection(core, shell);
  const rng = stream(10, 0, 'cut');
  for (let k = 0; k < 20; k++) {
    const { p, d } = randomLine(rng, 5);
    const want = bruteChord(cut, p, d, 30, 0.02);
    assert.ok(Math.abs(cut.chord(p[0], p[1], p[2], d[0], d[1], d[2]) - want) < 1e-6);
    assert.ok(cut.chord(p[0], p[1], p[2], d[0], d[1], d[2]) <= shell.chord(p[0], p[1], p[2], d[0], d[1], d[2]) + 1e-9);
  }
  for (let k = 0; k < 5000; k++) {
    const x = rng.uniformIn(-25, 25), y = rng.uniformIn(-25, 25), z = rng.uniformIn(-25, 25);
    if (cut.sdf(x, y, z) < 0) assert.ok(shell.sdf(x, y, z) < 0);
  }
});

/**
 * Euclidean projection onto {x : n_i . x <= d_i} by Dykstra's alternating projections (Boyle & Dykstra
 * 1986): independent of the face/edge/vertex search in Polytope.
 */
function dykstraProject(n: Float64Array, d: ArrayLike<number>, p: number[], cycles: number): number[] {
  const F = d.length, x = [...p], inc = new Float64Array(3 * F);
  for (let c = 0; c < cycles; c++) for (let f = 0; f < F; f++) {
    const y0 = x[0] + inc[3 * f], y1 = x[1] + inc[3 * f + 1], y2 = x[2] + inc[3 * f + 2];
    const v = n[3 * f] * y0 + n[3 * f + 1] * y1 + n[3 * f + 2] * y2 - d[f];
    const t = v > 0 ? v : 0;
    x[0] = y0 - t * n[3 * f]; x[1] = y1 - t * n[3 * f + 1]; x[2] = y2 - t * n[3 * f + 2];
    inc[3 * f] = y0 - x[0]; inc[3 * f + 1] = y1 - x[1]; inc[3 * f + 2] = y2 - x[2];
  }
  return x;
}

test('polytope sdf outside = distance to the shrunk polytope (Dykstra projection) - r, every polytope class', () => {
  const rng = stream(12, 0, 'dist');
  let worst = 0, nEdge = 0;
  for (const c of SHAPE_CLASSES) {
    for (const rounding of [0, 1.5]) {
      const sp = shape(c, 30, 0);
      const solid = buildShape({ ...sp, rounding: Math.min(rounding, 0.8 * maxRounding(sp)) });
      if (!(solid instanceof Polytope)) continue;
      const ds = Array.from(solid.d, (v) => v - solid.r);
      for (let k = 0; k < 60; k++) {
        // Points 0-15 voxels outside, many of them nearest to an edge or a vertex.
        const dir = [rng.normal(), rng.normal(), rng.normal()], l = Math.hypot(...dir);
        const rad = solid.radius * rng.uniformIn(0.6, 1.1) + rng.uniformIn(0, 15);
        const p = [solid.cx + (rad * dir[0]) / l, solid.cy + (rad * dir[1]) / l, solid.cz + (rad * dir[2]) / l];
        let m = -Infinity;
        for (let f = 0; f < ds.length; f++) m = Math.max(m, solid.n[3 * f] * p[0] + solid.n[3 * f + 1] * p[1] + solid.n[3 * f + 2] * p[2] - ds[f]);
        if (m <= 0) continue;
        const q = dykstraProject(solid.n, ds, p, 4000);
        const want = Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) - solid.r;
        if (want > m - solid.r + 1e-3) nEdge++;
        const got = solid.sdf(p[0], p[1], p[2]);
        worst = Math.max(worst, Math.abs(got - want));
        assert.ok(Math.abs(got - want) < 1e-6, `${c} r=${solid.r}: sdf ${got} vs projection ${want}`);
      }
    }
  }
  assert.ok(nEdge > 50, `too few points nearest to an edge or vertex (${nEdge})`);
  assert.ok(worst < 1e-6);
});

test('sdfWithin: exact sdf and gradient within the cut, the right side of +-cut beyond it (every class, cut core)', () => {
  const rng = stream(13, 0, 'within');
  const solids: [string, ConvexSolid][] = SHAPE_CLASSES.map((c) => {
    const sp = shape(c, 30, 0);
    return [c, buildShape({ ...sp, rounding: Math.min(1.2, 0.8 * maxRounding(sp)) })];
  });
  solids.push(['cut core', new Intersection(buildShape(shape('cube', 26)), buildShape(shape('octahedron', 34, 1, { truncation: 0.1 })))]);
  const g1 = new Float64Array(3), g2 = new Float64Array(3);
  let within = 0;
  for (const [name, s] of solids) for (const cut of [0.87, 4, 15]) for (let k = 0; k < 300; k++) {
    const x = rng.uniformIn(-35, 35), y = rng.uniformIn(-35, 35), z = rng.uniformIn(-35, 35);
    const exact = s.sdfGrad(x, y, z, g1);
    const v = s.sdfWithin(x, y, z, cut, g2), w = s.sdfWithin(x, y, z, cut, null);
    assert.is(v, w, `${name}: value does not depend on asking for the gradient`);
    if (Math.abs(exact) < cut) {
      within++;
      assert.is(v, exact, `${name} cut ${cut}: ${v} vs sdf ${exact}`);
      assert.equal(Array.from(g2), Array.from(g1), `${name}: gradient`);
    } else {
      assert.ok(Math.sign(v) === Math.sign(exact) && Math.abs(v) >= cut && Math.abs(v) <= Math.abs(exact) + 1e-12, `${name} cut ${cut}: ${v} for sdf ${exact}`);
    }
  }
  assert.ok(within > 500, `few points within the cut (${within})`);
});

test('cubeFraction matches a midpoint-rule integral over the cube', () => {
  const rng = stream(11, 0, 'cube');
  const M = 40;
  for (let k = 0; k < 20; k++) {
    const v = [rng.normal(), rng.normal(), rng.normal()];
    if (k === 0) { v[0] = 1; v[1] = 0; v[2] = 0; }
    const n = Math.hypot(...v);
    const nv = v.map((x) => x / n);
    const h = rng.uniformIn(-0.9, 0.9);
    let inside = 0;
    for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) for (let l = 0; l < M; l++) {
      const u = [(i + 0.5) / M - 0.5, (j + 0.5) / M - 0.5, (l + 0.5) / M - 0.5];
      if (nv[0] * u[0] + nv[1] * u[1] + nv[2] * u[2] <= h) inside++;
    }
    assert.ok(Math.abs(cubeFraction(nv[0], nv[1], nv[2], h) - inside / M ** 3) < 0.01, `n=${nv} h=${h}`);
  }
});

test.run();
