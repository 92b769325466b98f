import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../core/validate.ts';
import {
  ELEMENTS, SHAPE_CLASSES, defaultPhantomConfig, rebuildPhantom, samplePhantom, samplePhantomParams,
  validatePhantomConfig, voxelise, type PhantomConfig, type PhantomRecord,
} from './index.ts';
import { Intersection } from './solids.ts';
import { occupancy } from './voxelise.ts';

const N = 48;

function cfgWith(over: Record<string, unknown>): PhantomConfig {
  return validatePhantomConfig({ size: N, ...over });
}

function bytes(vols: Float32Array[]): Buffer {
  return Buffer.concat(vols.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)));
}

test('same seed and index -> byte-identical volume; different index or seed -> different phantom', () => {
  const cfg = cfgWith({});
  const a = bytes(voxelise(samplePhantom(cfg, 'seed-1', 3)));
  const b = bytes(voxelise(samplePhantom(cfg, 'seed-1', 3)));
  assert.ok(a.equals(b));
  const c = bytes(voxelise(samplePhantom(cfg, 'seed-1', 4)));
  const d = bytes(voxelise(samplePhantom(cfg, 'seed-2', 3)));
  assert.not.ok(a.equals(c));
  assert.not.ok(a.equals(d));
  assert.not.equal(JSON.stringify(samplePhantomParams(cfg, 'seed-1', 3)), JSON.stringify(samplePhantomParams(cfg, 'seed-1', 4)));
});

test('rebuild from the JSON record is bit-identical', () => {
  const cfg = cfgWith({ particles: [1, 3] });
  for (let i = 0; i < 6; i++) {
    const ph = samplePhantom(cfg, 5, i);
    const rec = JSON.parse(JSON.stringify(ph.params));
    const again = rebuildPhantom(rec);
    assert.ok(bytes(voxelise(ph)).equals(bytes(voxelise(again))), `sample ${i}`);
  }
});

test('every class: fractions in [0, 1], sum <= 1, everything inside the tilt-axis cylinder and the box', () => {
  for (const cls of SHAPE_CLASSES) {
    const cfg = cfgWith({ classWeights: { [cls]: 1 }, coreClassWeights: { [cls]: 1 }, particles: [1, 2], surfaceBlur: [0, 1] });
    for (let i = 0; i < 2; i++) {
      const ph = samplePhantom(cfg, 11, i);
      assert.is((ph.params as PhantomRecord).particles[0].shape.shapeClass, cls);
      const vols = voxelise(ph);
      const h = (N - 1) / 2;
      let total = 0;
      for (let z = 0; z < N; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
        const idx = (z * N + y) * N + x;
        let s = 0;
        for (const v of vols) {
          assert.ok(v[idx] >= 0 && v[idx] <= 1);
          s += v[idx];
        }
        assert.ok(s <= 1 + 1e-6, `sum ${s}`);
        total += s;
        // Occupied voxels lie inside the cylinder of radius N/2 about the tilt axis (z).
        if (s > 0) assert.ok(Math.hypot(x - h, y - h) <= h + 0.5, `${cls}: voxel (${x}, ${y}) outside the tilt-axis cylinder`);
      }
      assert.ok(total > 50, `${cls}: nearly empty phantom (${total})`);
      // The solids themselves: bounding sphere inside cylinder and box.
      for (const r of ph.regions) {
        const s = r.solid as unknown as { cx: number; cy: number; cz: number; radius: number };
        assert.ok(Math.hypot(s.cx, s.cy) + s.radius <= h, `${cls}: bounding sphere leaves the cylinder`);
        assert.ok(Math.abs(s.cz) + s.radius <= h, `${cls}: bounding sphere leaves the box`);
      }
    }
  }
});

test('core-shell: the core lies inside the shell, both elements present, core mass conserved by a diffuse interface', () => {
  const base = { composition: { 'core-shell': 1 }, diffuseProbability: 0 };
  for (let i = 0; i < 4; i++) {
    const ph = samplePhantom(cfgWith(base), 21, i);
    const rec = ph.params as PhantomRecord;
    const p = rec.particles[0];
    assert.ok(p.core);
    const coreEl = p.core!.fractions.findIndex((f) => f > 0);
    const shellEl = p.fractions.findIndex((f) => f > 0);
    assert.not.equal(coreEl, shellEl);
    const [coreRegion, shellRegion] = ph.regions;
    // Points of the core region are inside the shell solid.
    const h = (N - 1) / 2;
    for (let z = 0; z < N; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
      if (coreRegion.solid.sdf(x - h, y - h, z - h) < 0) assert.ok(shellRegion.solid.sdf(x - h, y - h, z - h) < 0);
    }
    const vols = voxelise(ph);
    const sum = (v: Float32Array): number => v.reduce((a, b) => a + b, 0);
    assert.ok(sum(vols[coreEl]) > 0 && sum(vols[shellEl]) > 0);
  }
});

test('core-shell voxelisation (shared, shell-limited occupancies) equals the plain full-grid composition', () => {
  // Reference: every occupancy on the whole grid, nothing shared or skipped; cut core = min(core, shell),
  // shell region = max(shell - cut core, 0); elements added region by region, totals above 1 scaled to 1.
  const M = 40, all = { x0: 0, y0: 0, z0: 0, nx: M, ny: M, nz: M };
  const cfg = validatePhantomConfig({ size: M, composition: { 'core-shell': 1 }, diffuseProbability: 1, interfaceBlur: [0.5, 3], surfaceBlur: [0, 1.5] });
  for (let i = 0; i < 6; i++) {
    const ph = samplePhantom(cfg, 'ref', i);
    const occ = (solid: typeof ph.regions[0]['solid'], blur: number, outer: number): Float32Array => {
      if (!(solid instanceof Intersection) || (blur === 0 && outer === 0)) return occupancy(solid, M, all, blur);
      const a = occupancy(solid.a, M, all, blur), b = occupancy(solid.b, M, all, outer);
      return a.map((v, j) => Math.min(v, b[j]));
    };
    const want = ph.elements.map(() => new Float32Array(M ** 3));
    for (const r of ph.regions) {
      const o = occ(r.solid, r.blur, r.outerBlur ?? 0);
      if (r.minus) {
        const m = occ(r.minus, r.minusBlur ?? r.blur, r.outerBlur ?? 0);
        for (let j = 0; j < o.length; j++) o[j] = o[j] > m[j] ? o[j] - m[j] : 0;
      }
      for (let j = 0; j < o.length; j++) {
        if (o[j] === 0) continue;
        r.fractions.forEach((f, e) => { if (f > 0) want[e][j] += o[j] * f; });
        let sum = 0;
        for (const w of want) sum += w[j];
        if (sum > 1) for (const w of want) w[j] /= sum;
      }
    }
    const got = voxelise(ph);
    assert.ok(want.some((w) => w.some((v) => v > 0 && v < 1)), 'non-trivial diffuse profile');
    assert.ok(bytes(got).equals(bytes(want)), `phantom ${i}: voxelise differs from the full-grid reference`);
  }
});

test('diffuse core-shell interface: erf profile of the configured width, total metal unchanged', () => {
  const I = { w: 1, x: 0, y: 0, z: 0 };
  const cube = (size: number) => ({ shapeClass: 'cube', size, centre: [0, 0, 0], rotation: I, rounding: 0, dims: { aspect: 1 } });
  const rec = (blur: number) => ({
    version: 1, shapeClass: 'cube', composition: 'core-shell', size: N, elements: ['Au', 'Ag'],
    particles: [{ shape: cube(40), composition: 'core-shell', fractions: [0, 1], surfaceBlur: 0, core: { shape: cube(20), scale: 0.5, fractions: [1, 0], interfaceBlur: blur } }],
  });
  const sharp = voxelise(rebuildPhantom(rec(0)));
  const diffuse = voxelise(rebuildPhantom(rec(1.5)));
  const sigmaE = Math.sqrt(1.5 ** 2 + 1 / 12);
  const a = 10 / Math.sqrt(3);
  const h = (N - 1) / 2;
  const erfc = (x: number): number => {
    // Independent erfc: composite Simpson on 2/sqrt(pi) exp(-t^2) from x to 8.
    const n = 2000, b = 8, dx = (b - x) / n;
    let s = 0;
    for (let i = 0; i <= n; i++) s += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * Math.exp(-((x + i * dx) ** 2));
    return ((2 / Math.sqrt(Math.PI)) * s * dx) / 3;
  };
  const y = 24, z = 24; // voxel centres at +0.5 from the axis
  for (let x = 26; x < 35; x++) {
    const px = x - h, i = (z * N + y) * N + x;
    const want = 0.5 * erfc((px - a) / (Math.SQRT2 * sigmaE));
    assert.ok(Math.abs(diffuse[0][i] - want) < 1e-4, `core at x=${px}: ${diffuse[0][i]} vs ${want}`);
    assert.ok(Math.abs(diffuse[0][i] + diffuse[1][i] - 1) < 1e-5, `core + shell at x=${px}: ${diffuse[0][i] + diffuse[1][i]}`);
  }
  const sum = (v: Float32Array): number => v.reduce((p, q) => p + q, 0);
  const tot0 = sum(sharp[0]) + sum(sharp[1]), tot1 = sum(diffuse[0]) + sum(diffuse[1]);
  assert.ok(Math.abs(tot1 / tot0 - 1) < 1e-4, `total ${tot1} vs ${tot0}`);
});

test('compositions: solid is one element, alloy two fractions summing to the concentration', () => {
  const cfg = cfgWith({ elements: ['Au', 'Ag', 'Pt', 'Pd'], composition: { alloy: 1 }, concentration: [0.6, 0.9] });
  for (let i = 0; i < 5; i++) {
    const p = (samplePhantom(cfg, 3, i).params as PhantomRecord).particles[0];
    const nz = p.fractions.filter((f) => f > 0);
    assert.is(nz.length, 2);
    const s = nz[0] + nz[1];
    assert.ok(s >= 0.6 && s <= 0.9);
  }
  const solid = cfgWith({ composition: { solid: 1 } });
  const p = (samplePhantom(solid, 3, 0).params as PhantomRecord).particles[0];
  assert.is(p.fractions.filter((f) => f > 0).length, 1);
});

test('sizes follow the config: largest dimension 0.75-0.9 of the field of view by default', () => {
  const cfg = cfgWith({});
  for (let i = 0; i < 10; i++) {
    const s = (samplePhantomParams(cfg, 4, i).particles[0].shape.size) / N;
    assert.ok(s >= 0.75 && s <= 0.9, `size fraction ${s}`);
  }
});

test('bad config values fail with a ConfigError naming the field and range', () => {
  const bad: [unknown, RegExp][] = [
    [{ size: -5 }, /phantom\.size: .*\[32, 512\]/],
    [{ size: 16 }, /phantom\.size/],
    [{ size: 1024 }, /phantom\.size/],
    [{ sizeFraction: [-0.5, 0.8] }, /phantom\.sizeFraction\[0\]: .*\[0\.05, 1\]/],
    [{ classWeights: { dodecahedron: 1 } }, /phantom\.classWeights\.dodecahedron: unknown field/],
    [{ classWeights: { cube: -1 } }, /phantom\.classWeights\.cube/],
    [{ alloyFraction: [0.2, 1.5] }, /phantom\.alloyFraction\[1\]: .*\[0, 1\]/],
    [{ concentration: [0.5, 1.2] }, /phantom\.concentration\[1\]/],
    [{ elements: ['Au', 'Xx'] }, /phantom\.elements\[1\]/],
    [{ elements: ['Au'] }, /phantom\.composition: alloy and core-shell need at least 2 elements/],
    [{ interfaceBlur: [0, 5] }, /phantom\.interfaceBlur\[1\]: .*\[0, 3\]/],
    [{ particles: [1.5, 2] }, /phantom\.particles/],
    [{ sizeFraktion: [0.5, 0.6] }, /phantom\.sizeFraktion: unknown field/],
  ];
  for (const [raw, re] of bad) {
    try {
      validatePhantomConfig(raw);
      assert.unreachable(`accepted ${JSON.stringify(raw)}`);
    } catch (e) {
      assert.instance(e, ConfigError, `${JSON.stringify(raw)} threw ${e}`);
      assert.match((e as Error).message, re);
    }
  }
  // More particles than fit: a clear error at sampling time, not an endless placement loop.
  assert.throws(() => samplePhantom(validatePhantomConfig({ size: 32, particles: [16, 16], surfaceBlur: [1, 1] }), 1, 0), /phantom\.particles: cannot place 16 particles/);
  // Partial configs merge over the defaults; the element table has the agreed entries.
  const ok = validatePhantomConfig({ elements: ['Se', 'Zn'], size: 64 });
  assert.is(ok.size, 64);
  assert.equal(ok.sizeFraction, defaultPhantomConfig().sizeFraction);
  for (const [sym, Z] of Object.entries({ Au: 79, Ag: 47, Pt: 78, Pd: 46, Se: 34, S: 16, Zn: 30, In: 49, P: 15, Cu: 29, Fe: 26, O: 8, Ni: 28, Co: 27 })) {
    assert.is(ELEMENTS[sym], Z);
  }
});

/** Principal axis (largest second moment) of a [z, y, x] volume, as (z, y, x) unit vector components. */
function principalAxis(v: Float32Array, n: number): number[] {
  let m = 0, cz = 0, cy = 0, cx = 0;
  for (let z = 0; z < n; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) { const w = v[(z * n + y) * n + x]; m += w; cz += w * z; cy += w * y; cx += w * x; }
  cz /= m; cy /= m; cx /= m;
  const S = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let z = 0; z < n; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    const w = v[(z * n + y) * n + x];
    if (!w) continue;
    const d = [z - cz, y - cy, x - cx];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) S[i][j] += w * d[i] * d[j];
  }
  let e = [1, 1, 1];
  for (let it = 0; it < 200; it++) {
    const f = S.map((r) => r[0] * e[0] + r[1] * e[1] + r[2] * e[2]);
    const h = Math.hypot(...f);
    e = f.map((q) => q / h);
  }
  return e;
}

test("orientation: 'tilt-axis' and 'fixed' put a rod's axis along the tilt axis (z, measured on the voxels), 'random' does not; absent = 'random' draws", () => {
  const base = { classWeights: { rod: 1 }, rodAspect: [3, 3.5], composition: { solid: 1 }, elements: ['Au'] };
  const zOf = (o: string | undefined, i: number) => {
    const cfg = cfgWith({ ...base, ...(o ? { orientation: o } : {}) });
    const v = voxelise(samplePhantom(cfg, 11, i))[0];
    return Math.abs(principalAxis(v, N)[0]);
  };
  for (let i = 0; i < 4; i++) {
    assert.ok(zOf('tilt-axis', i) > 0.999, `tilt-axis sample ${i}: |axis . z| = ${zOf('tilt-axis', i)}`);
    assert.ok(zOf('fixed', i) > 0.999, `fixed sample ${i}`);
  }
  // Random rods point anywhere: of 8, not all along z.
  const random = Array.from({ length: 8 }, (_, i) => zOf('random', i));
  assert.ok(random.some((c) => c < 0.9), `random axes ${random.map((c) => c.toFixed(3))}`);
  // Absent is 'random' itself: the same records (the draws did not change).
  const a = samplePhantomParams(cfgWith(base), 11, 2), b = samplePhantomParams(cfgWith({ ...base, orientation: 'random' }), 11, 2);
  assert.equal(a, b);
  // 'fixed' turns nothing: every rod the same rotation; 'tilt-axis' turns about z only.
  const f = samplePhantomParams(cfgWith({ ...base, orientation: 'fixed' }), 11, 1).particles[0].shape.rotation;
  assert.equal(f, { w: 1, x: 0, y: 0, z: 0 });
  const t = samplePhantomParams(cfgWith({ ...base, orientation: 'tilt-axis' }), 11, 1).particles[0].shape.rotation;
  assert.is(t.x, 0);
  assert.is(t.y, 0);
  assert.throws(() => cfgWith({ orientation: 'up' }), (e: Error) => e instanceof ConfigError && e.field === 'phantom.orientation');
});

test.run();
