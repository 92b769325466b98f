import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Projector, makeGeometry, parseTiltAngles, forwardProjectSlice, backProjectSlice } from './index.ts';
import { ConfigError } from '../../core/validate.ts';

/** Deterministic pseudo-random values in [-1, 1) (LCG; independent of the code under test). */
function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 31 - 1; }
  return a;
}
const dot = (a: Float32Array, b: Float32Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };

test('adjointness <Ax, y> = <x, A^T y> to 1e-5 (odd sizes, nCols > nx, several angle sets)', () => {
  const cases = [
    { ny: 17, nx: 23, nCols: 31, angles: parseTiltAngles('-70:70:7') },
    { ny: 32, nx: 32, nCols: 32, angles: parseTiltAngles('0,45,90,-45,30,60') },
    { ny: 21, nx: 13, nCols: 29, angles: Float64Array.from([-89.5, -33.3, 0.1, 12.7, 44.99, 45.01, 88]) },
  ];
  for (const [k, c] of cases.entries()) {
    const x = randomArray(c.ny * c.nx, 11 + k), y = randomArray(c.angles.length * c.nCols, 97 + k);
    const Ax = forwardProjectSlice(x, c.ny, c.nx, c.angles, c.nCols, new Float32Array(y.length));
    const ATy = backProjectSlice(y, c.ny, c.nx, c.angles, c.nCols, new Float32Array(x.length));
    const l = dot(Ax, y), r = dot(x, ATy);
    const scale = Math.sqrt(dot(Ax, Ax) * dot(y, y));
    assert.ok(Math.abs(l - r) <= 1e-5 * scale, `case ${k}: <Ax,y>=${l} <x,ATy>=${r}`);
    assert.ok(Math.abs(l) > 1e-3 * scale || Math.abs(r) > 0, 'non-trivial');
  }
});

/**
 * Plain Joseph reference (one line at a time, the textbook loop order): row-driven for |cos| >= |sin|,
 * column-driven otherwise, accumulating in Float64 in the order angle, line, ray. The kernels group lines
 * for speed but promise the same terms in the same order per accumulator, hence byte-identical output.
 */
function josephReference(img: Float32Array | null, sino: Float32Array | null, ny: number, nx: number, angles: ArrayLike<number>, nCols: number): Float64Array {
  const W = nx + 4, H = ny + 4;
  const pad = new Float64Array(W * H), acc = new Float64Array(angles.length * nCols);
  if (img) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) pad[(y + 2) * W + x + 2] = img[y * nx + x];
  const cx = (nx - 1) / 2, cy = (ny - 1) / 2, cu = (nCols - 1) / 2;
  for (let a = 0; a < angles.length; a++) {
    const th = (angles[a] * Math.PI) / 180, c = Math.cos(th), s = Math.sin(th);
    const rows = Math.abs(c) >= Math.abs(s);
    const p = rows ? c : s, q = rows ? s : c, nL = rows ? ny : nx, nS = rows ? nx : ny, cL = rows ? cy : cx, cS = rows ? cx : cy;
    const w = 1 / Math.abs(p), d = 1 / p;
    for (let l = 0; l < nL; l++) {
      const x0 = (-cu - (l - cL) * q) / p + cS;
      for (let u = 0; u < nCols; u++) {
        const xp = x0 + u * d;
        if (!(xp >= -1 && xp <= nS)) continue;
        const i = Math.floor(xp + 2), f = xp + 2 - i;
        const k = rows ? (l + 2) * W + i : i * W + l + 2, k1 = rows ? k + 1 : k + W;
        if (img) acc[a * nCols + u] += w * (pad[k] + f * (pad[k1] - pad[k]));
        else { const g = w * sino![a * nCols + u]; pad[k] += g - f * g; pad[k1] += f * g; }
      }
    }
  }
  if (img) return acc;
  const out = new Float64Array(ny * nx);
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[y * nx + x] = pad[(y + 2) * W + x + 2];
  return out;
}

test('forward and back projections are byte-identical to the plain one-line-at-a-time Joseph loop', () => {
  const cases = [
    { ny: 17, nx: 23, nCols: 31, angles: parseTiltAngles('-70:70:7') },
    { ny: 32, nx: 32, nCols: 32, angles: Float64Array.from({ length: 60 }, (_, i) => -90 + 3 * i) },
    { ny: 21, nx: 13, nCols: 29, angles: Float64Array.from([-89.5, -45, -33.3, 0, 0.1, 12.7, 44.99, 45, 45.01, 88, 90]) },
    // beyond +-90 degrees (cos < 0: rows sampled right to left) and a detector much wider than the slice
    { ny: 9, nx: 30, nCols: 47, angles: Float64Array.from([-179, -135, -120.5, 100, 135, 150.2, 180]) },
    { ny: 4, nx: 5, nCols: 7, angles: Float64Array.from([0, 30, 60, 90]) },
    { ny: 3, nx: 2, nCols: 3, angles: Float64Array.from([10, 80]) },
  ];
  for (const [k, c] of cases.entries()) {
    const x = randomArray(c.ny * c.nx, 31 + k), y = randomArray(c.angles.length * c.nCols, 71 + k);
    const Ax = forwardProjectSlice(x, c.ny, c.nx, c.angles, c.nCols, new Float32Array(y.length));
    const ATy = backProjectSlice(y, c.ny, c.nx, c.angles, c.nCols, new Float32Array(x.length));
    const refF = Float32Array.from(josephReference(x, null, c.ny, c.nx, c.angles, c.nCols));
    const refB = Float32Array.from(josephReference(null, y, c.ny, c.nx, c.angles, c.nCols));
    assert.ok(refF.some((v) => v !== 0) && refB.some((v) => v !== 0), `case ${k}: non-trivial`);
    assert.ok(Buffer.from(Ax.buffer).equals(Buffer.from(refF.buffer)), `case ${k}: forward differs from the reference`);
    assert.ok(Buffer.from(ATy.buffer).equals(Buffer.from(refB.buffer)), `case ${k}: back differs from the reference`);
  }
});

test('mass conservation: every projection of a smooth volume has the same total to 1e-4', async () => {
  const nz = 3, ny = 40, nx = 36, nCols = 61;
  const vol = new Float32Array(nz * ny * nx);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const dx = x - 17.3, dy = y - 19.1, dx2 = x - 12, dy2 = y - 25;
    vol[(z * ny + y) * nx + x] = Math.exp(-(dx * dx + dy * dy) / (2 * 3.5 ** 2)) + 0.5 * Math.exp(-(dx2 * dx2 + dy2 * dy2) / (2 * 3 ** 2)) * (z + 1);
  }
  const angles = parseTiltAngles('-80:80:3.7');
  const p = new Projector(makeGeometry({ angles, nz, ny, nx, nCols }), { workers: 1 });
  const ts = await p.forward(vol);
  for (let z = 0; z < nz; z++) {
    let truth = 0;
    for (let i = 0; i < ny * nx; i++) truth += vol[z * ny * nx + i];
    for (let a = 0; a < angles.length; a++) {
      let s = 0;
      for (let u = 0; u < nCols; u++) s += ts[(a * nz + z) * nCols + u];
      assert.ok(Math.abs(s - truth) <= 1e-4 * truth, `z=${z} angle ${angles[a]}: ${s} vs ${truth}`);
    }
  }
  await p.close();
});

test('1 and 2 workers give identical forward and back projections; rowSums/colSums are A1 and AT1', async () => {
  const g = makeGeometry({ angles: '-60:60:15', nz: 7, ny: 19, nx: 15, nCols: 25 });
  const x = randomArray(g.nz * g.ny * g.nx, 5), y = randomArray(g.angles.length * g.nz * g.nCols, 6);
  const p1 = new Projector(g, { workers: 1 }), p2 = new Projector(g, { workers: 2 });
  try {
    const f1 = await p1.forward(x), f2 = await p2.forward(x);
    assert.equal(Buffer.from(f1.buffer).equals(Buffer.from(f2.buffer)), true);
    const b1 = await p1.back(y), b2 = await p2.back(y);
    assert.equal(Buffer.from(b1.buffer).equals(Buffer.from(b2.buffer)), true);
    // 3D adjointness through the worker pool
    const l = dot(f2, y), r = dot(x, b2);
    assert.ok(Math.abs(l - r) <= 1e-5 * Math.sqrt(dot(f2, f2) * dot(y, y)));
    const rs = await p2.rowSums();
    const ones = await p1.forward(new Float32Array(x.length).fill(1));
    assert.equal(Array.from(rs), Array.from(ones));
    // a central ray at 0 degrees crosses all ny voxels: path length ny
    const a0 = Array.from(g.angles).indexOf(0);
    assert.ok(Math.abs(rs[(a0 * g.nz) * g.nCols + (g.nCols - 1) / 2] - g.ny) < 1e-5);
    const cs = await p2.colSums();
    assert.ok(cs.every((v) => v > 0));
  } finally { await p1.close(); await p2.close(); }
});

test('bad geometry gives clear errors', () => {
  assert.throws(() => parseTiltAngles(''), (e: Error) => e instanceof ConfigError && /empty/.test(e.message));
  assert.throws(() => parseTiltAngles([]), /empty/);
  assert.throws(() => parseTiltAngles([0, NaN]), /geometry\.angles\[1\]/);
  assert.throws(() => parseTiltAngles('-70:70:-2'), /step/);
  assert.throws(() => makeGeometry({ angles: [0], nz: 4, ny: 32, nx: 32, nCols: 20 }), /smaller than the volume/);
  assert.throws(() => makeGeometry({ angles: [0], nz: NaN, ny: 32, nx: 32 }), /geometry\.nz/);
  assert.equal(Array.from(parseTiltAngles('-70:70:2')).length, 71);
  assert.equal(Array.from(parseTiltAngles('0, 10,20')), [0, 10, 20]);
});

test('tilt-axis offset: an integer offset o is the centred projection moved by +o columns; a fractional one is adjoint too', async () => {
  const ny = 20, nx = 20, nCols = 32, angles = parseTiltAngles('-60:60:20');
  const x = new Float32Array(ny * nx);
  for (let y = 6; y < 14; y++) for (let c = 5; c < 13; c++) x[y * nx + c] = 1 + ((y * 7 + c) % 5); // inside, so no ray leaves the detector
  const p0 = forwardProjectSlice(x, ny, nx, angles, nCols, new Float32Array(angles.length * nCols));
  for (const o of [3, -2]) {
    const p = forwardProjectSlice(x, ny, nx, angles, nCols, new Float32Array(p0.length), undefined, o);
    for (let a = 0; a < angles.length; a++) for (let u = 0; u < nCols; u++) {
      const src = u - o;
      const want = src >= 0 && src < nCols ? p0[a * nCols + src] : 0;
      assert.ok(Math.abs(p[a * nCols + u] - want) < 1e-5, `o=${o} a=${a} u=${u}: ${p[a * nCols + u]} vs ${want}`);
    }
  }
  const o = 1.37, y = randomArray(angles.length * nCols, 5);
  const Ax = forwardProjectSlice(x, ny, nx, angles, nCols, new Float32Array(y.length), undefined, o);
  const ATy = backProjectSlice(y, ny, nx, angles, nCols, new Float32Array(x.length), undefined, o);
  assert.ok(Math.abs(dot(Ax, y) - dot(x, ATy)) <= 1e-5 * Math.sqrt(dot(Ax, Ax) * dot(y, y)));
  // The Projector carries the offset into its worker threads.
  const g = makeGeometry({ angles, nz: 3, ny, nx, nCols, axisOffset: o });
  const vol = new Float32Array(3 * ny * nx);
  for (let z = 0; z < 3; z++) vol.set(x, z * ny * nx);
  const p1 = new Projector(g, { workers: 1 }), p2 = new Projector(g, { workers: 2 });
  const f1 = await p1.forward(vol), f2 = await p2.forward(vol);
  await p2.close();
  assert.equal(Array.from(f1), Array.from(f2));
  for (let u = 0; u < nCols; u++) assert.ok(Math.abs(f1[(1 * 3 + 2) * nCols + u] - Ax[nCols + u]) < 1e-5);
  assert.throws(() => makeGeometry({ angles, nz: 3, ny, nx, nCols, axisOffset: 40 }), (e: Error) => e instanceof ConfigError && /axisOffset/.test(e.message));
});

test.run();
