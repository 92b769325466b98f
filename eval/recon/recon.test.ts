import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sirt, fbp, tvReconstruct, gradient3, divergence3 } from './index.ts';
import { DenseOperator, SliceMatrixOperator, josephMatrix } from './joseph-matrix.ts';
import { nrmseScaled } from '../metrics/index.ts';
import { sirtFast } from './sirt/slices.ts';
import { josephRayTable, rayTableWeights } from './sirt/rays.ts';
import { sirtWasmModule, wasmSimdAvailable } from './sirt/wasm.ts';

/** Row and column sums of the CSR matrix as SIRT weights (float32 sums in row order, zero-guarded). */
function csrWeights(m: ReturnType<typeof josephMatrix>, lambda: number): { R: Float32Array; C: Float32Array } {
  const R = new Float32Array(m.nRows), C = new Float32Array(m.nColsM);
  for (let r = 0; r < m.nRows; r++) {
    let s = 0;
    for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) { s += m.val[k]; C[m.col[k]] += m.val[k]; }
    R[r] = s > 1e-6 ? 1 / s : 0;
  }
  for (let j = 0; j < C.length; j++) C[j] = C[j] > 1e-6 ? lambda / C[j] : 0;
  return { R, C };
}
import { Projector, makeGeometry } from '../../generators/projection/index.ts';

test('SIRT follows ASTRA\'s update rule on a hand-computed 3x3 problem (zero row and column guarded)', async () => {
  // A has a zero row (ray missing everything) and a zero column (voxel no ray sees).
  const A = [[1, 2, 0], [0, 1, 0], [0, 0, 0], [3, 0, 0]];
  const b = Float32Array.from([5, 2, 7, 3]);
  // By hand: row sums [3,1,0,3] -> R = [1/3, 1, 0, 1/3]; column sums [4,3,0] -> C = [1/4, 1/3, 0].
  // x0 = 0: r = R b = [5/3, 2, 0, 1]; A^T r = [5/3 + 3, 10/3 + 2, 0] = [14/3, 16/3, 0]; x1 = lambda C A^T r.
  const lam = 0.8;
  const x1 = await sirt(new DenseOperator(A), b, { iterations: 1, relaxation: lam });
  const e1 = [lam * (14 / 3) / 4, lam * (16 / 3) / 3, 0];
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(x1[i] - e1[i]) < 1e-6, `x1[${i}] ${x1[i]} vs ${e1[i]}`);
  // Second step by hand from x1.
  const Ax = [e1[0] + 2 * e1[1], e1[1], 0, 3 * e1[0]];
  const R = [1 / 3, 1, 0, 1 / 3];
  const r = Ax.map((v, i) => (b[i] - v) * R[i]);
  const atr = [r[0] + 3 * r[3], 2 * r[0] + r[1], 0];
  const e2 = [e1[0] + lam * atr[0] / 4, e1[1] + lam * atr[1] / 3, 0];
  const x2 = await sirt(new DenseOperator(A), b, { iterations: 2, relaxation: lam });
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(x2[i] - e2[i]) < 1e-6, `x2[${i}] ${x2[i]} vs ${e2[i]}`);
  // Max constraint clamps; a reconstruction mask freezes a voxel.
  const xc = await sirt(new DenseOperator(A), b, { iterations: 1, relaxation: lam, maxConstraint: 1 });
  assert.ok(Math.abs(xc[0] - e1[0]) < 1e-6); // 0.93 < 1: unclamped
  assert.is(xc[1], 1);
  const xm = await sirt(new DenseOperator(A), b, { iterations: 1, mask: Uint8Array.from([1, 0, 1]) });
  assert.is(xm[1], 0);
  // With voxel 1 masked, row sums become [1,0,0,3] so R = [1, 0, 0, 1/3]: x0 += C0 (1*5 + 3*1) = 8/4.
  assert.ok(Math.abs(xm[0] - 2) < 1e-6, `masked x0 ${xm[0]}`);
});

function diskSlice(n: number, r: number, value = 1): Float32Array {
  const v = new Float32Array(n * n);
  const c = (n - 1) / 2;
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    // 4x4 supersampled coverage
    let cov = 0;
    for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) if (Math.hypot(x - c + (sx + 0.5) / 4 - 0.5, y - c + (sy + 0.5) / 4 - 0.5) < r) cov++;
    v[y * n + x] = (value * cov) / 16;
  }
  return v;
}

function phantomSlice(n: number): Float32Array {
  const v = diskSlice(n, n * 0.35, 1);
  const inner = diskSlice(n, n * 0.15, 1);
  const c = (n - 1) / 2;
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    const i = y * n + x;
    v[i] += inner[i];
    if (Math.abs(x - c - n * 0.12) < n * 0.05 && Math.abs(y - c + n * 0.15) < n * 0.04) v[i] = 0.3;
  }
  return v;
}

const angles60 = Array.from({ length: 60 }, (_, i) => -90 + i * 3); // 60 tilts over [-90, 90)

test('SIRT on a noise-free 128^2 phantom with 60 tilts converges (NRMSE < 5 %, falling)', async () => {
  const n = 128, nCols = 182;
  const op = new SliceMatrixOperator(1, n, n, angles60, nCols);
  const truth = phantomSlice(n);
  const b = await op.forward(truth);
  const errs: number[] = [];
  const x = await sirt(op, b, { iterations: 150, minConstraint: 0, onIteration: ({ iteration: it }, xi) => { if (it % 25 === 0) errs.push(nrmseScaled(xi, truth)); } });
  for (let i = 1; i < errs.length; i++) assert.ok(errs[i] < errs[i - 1], `NRMSE not falling: ${errs}`);
  const final = nrmseScaled(x, truth);
  assert.ok(final < 0.05, `NRMSE ${final} after 150 iterations (${errs.map((e) => e.toFixed(4))})`);
});

test('slice-parallel SIRT equals the generic SIRT, byte-identical for 1 and 2 workers and any chunking', async () => {
  const nz = 11, n = 24, nCols = 36, angles = Array.from({ length: 20 }, (_, i) => -80 + i * 8.4);
  const op = new SliceMatrixOperator(nz, n, n, angles, nCols);
  const vol = new Float32Array(nz * n * n);
  for (let z = 0; z < nz; z++) vol.set(phantomSlice(n).map((v) => v * (1 + 0.2 * z)), z * n * n);
  const b = await op.forward(vol);
  const ref = await sirt(op, b, { iterations: 12, relaxation: 0.9, minConstraint: 0 });
  const runs: Float32Array[] = [];
  for (const workers of [1, 2]) {
    const x = await sirtFast(b, { nz, ny: n, nx: n, nCols, angles, iterations: 12, relaxation: 0.9, minConstraint: 0, workers, chunk: 2 });
    const x8 = await sirtFast(b, { nz, ny: n, nx: n, nCols, angles, iterations: 12, relaxation: 0.9, minConstraint: 0, workers, chunk: 8 });
    assert.ok(Buffer.from(x8.buffer).equals(Buffer.from(x.buffer)), 'chunking changes the result'); // same arithmetic per slice
    runs.push(x8);
    let maxErr = 0, maxRef = 0;
    for (let i = 0; i < x.length; i++) { maxErr = Math.max(maxErr, Math.abs(x[i] - ref[i])); maxRef = Math.max(maxRef, Math.abs(ref[i])); }
    assert.ok(maxErr < 1e-4 * maxRef, `workers ${workers}: max difference ${maxErr} (max ${maxRef})`);
  }
  assert.ok(Buffer.from(runs[0].buffer).equals(Buffer.from(runs[1].buffer)), '1 and 2 workers differ');
});

test('the compact Joseph ray table is the CSR system matrix (same entries in the same order, same SIRT weights)', () => {
  for (const [ny, nx, nCols, angles] of [
    [24, 24, 36, Array.from({ length: 20 }, (_, i) => -80 + i * 8.4)],
    [17, 30, 41, [-90, -63.4, -45, -30, -0.5, 0, 12, 45, 60, 89.9, 90]],
  ] as [number, number, number, number[]][]) {
    const m = josephMatrix(ny, nx, angles, nCols), t = josephRayTable(ny, nx, angles, nCols);
    assert.is(t.nRays, m.nRows);
    for (let r = 0; r < m.nRows; r++) {
      const fromCsr: number[] = [], fromTable: number[] = [];
      for (let k = m.rowPtr[r]; k < m.rowPtr[r + 1]; k++) if (m.val[k] !== 0) fromCsr.push(m.col[k], m.val[k]);
      for (let k = t.rayPtr[r]; k < t.rayPtr[r + 1]; k++) {
        if (t.w0[k] !== 0) fromTable.push(t.idx[k], t.w0[k]);
        if (t.w1[k] !== 0) fromTable.push(t.idx[k] + t.stride[r], t.w1[k]);
        assert.ok(t.idx[k] >= 0 && t.idx[k] + t.stride[r] < t.nVox + t.pad, `ray ${r}: step index out of the padded slice`);
      }
      assert.equal(fromTable, fromCsr, `${ny}x${nx}, ray ${r}`);
    }
    const a = csrWeights(m, 0.7), b = rayTableWeights(t, 0.7);
    assert.ok(Buffer.from(a.R.buffer).equals(Buffer.from(b.R.buffer)), 'R differs');
    assert.ok(Buffer.from(a.C.buffer).equals(Buffer.from(b.C.buffer)), 'C differs');
  }
});

test('the WebAssembly SIMD kernel gives the JavaScript ray kernel\'s iterates bit for bit, for any workers and chunking', async () => {
  assert.ok(wasmSimdAvailable(), 'WebAssembly SIMD unavailable');
  assert.ok(WebAssembly.validate(sirtWasmModule(16)));
  // Non-square slices exercise both ray directions' strides; a max constraint and relaxation the clamp.
  const nz = 13, ny = 20, nx = 26, nCols = 40, angles = [-90, -71, -45, -33.3, -10, 0, 7.5, 30, 45, 52, 77, 89];
  const op = new SliceMatrixOperator(nz, ny, nx, angles, nCols);
  const vol = new Float32Array(nz * ny * nx);
  for (let i = 0; i < vol.length; i++) vol[i] = ((i * 7919) % 101) / 101;
  const b = await op.forward(vol);
  const opts = { nz, ny, nx, nCols, angles, iterations: 9, relaxation: 0.8, minConstraint: 0, maxConstraint: 0.9 };
  const ref = await sirtFast(b, { ...opts, kernel: 'rays', workers: 1 });
  const generic = await sirt(op, b, { iterations: 9, relaxation: 0.8, minConstraint: 0, maxConstraint: 0.9 });
  let maxErr = 0, maxRef = 0;
  for (let i = 0; i < ref.length; i++) { maxErr = Math.max(maxErr, Math.abs(ref[i] - generic[i])); maxRef = Math.max(maxRef, Math.abs(generic[i])); }
  assert.ok(maxErr < 1e-4 * maxRef, `rays kernel vs generic SIRT: max difference ${maxErr} (max ${maxRef})`);
  let clamped = 0;
  for (const v of ref) if (v === Math.fround(0.9)) clamped++;
  assert.ok(clamped > 0, 'max constraint never active: the test would not check the clamp');
  const same = (x: Float32Array) => Buffer.from(x.buffer).equals(Buffer.from(ref.buffer));
  for (const kernel of ['wasm', 'rays'] as const) for (const workers of [1, 2]) for (const chunk of [1, 3, 8, 16]) {
    const x = await sirtFast(b, { ...opts, kernel, workers, chunk });
    assert.ok(same(x), `${kernel}, ${workers} workers, chunk ${chunk}: differs from the rays kernel`);
  }
  assert.ok(same(await sirtFast(b, opts)), 'default kernel differs');
});

test('tilt-axis offset: the fast SIRT, the ray table, the CSR matrix and the Projector share one geometry', async () => {
  const nz = 3, n = 20, nCols = 28, angles = Array.from({ length: 15 }, (_, i) => -70 + i * 10), o = -1.6;
  const m = josephMatrix(n, n, angles, nCols, o), t = josephRayTable(n, n, angles, nCols, o);
  const a = csrWeights(m, 1), w = rayTableWeights(t, 1);
  assert.ok(Buffer.from(a.R.buffer).equals(Buffer.from(w.R.buffer)), 'R differs');
  const vol = new Float32Array(nz * n * n);
  for (let z = 0; z < nz; z++) vol.set(phantomSlice(n), z * n * n);
  const proj = new Projector(makeGeometry({ angles, nz, ny: n, nx: n, nCols, axisOffset: o }), { workers: 1 });
  const b = await proj.forward(vol);
  const bm = await new SliceMatrixOperator(nz, n, n, angles, nCols, o).forward(vol);
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(b[i] - bm[i]));
  assert.ok(d < 1e-4, `Projector and CSR matrix differ by ${d}`);
  const ref = await sirt(proj, b, { iterations: 10, minConstraint: 0 });
  const x = await sirtFast(b, { nz, ny: n, nx: n, nCols, angles, axisOffset: o, iterations: 10, minConstraint: 0, workers: 1 });
  const wrong = await sirtFast(b, { nz, ny: n, nx: n, nCols, angles, iterations: 10, minConstraint: 0, workers: 1 });
  let e = 0, eWrong = 0, mx = 0;
  for (let i = 0; i < x.length; i++) { e = Math.max(e, Math.abs(x[i] - ref[i])); mx = Math.max(mx, ref[i]); }
  for (let i = 0; i < x.length; i++) eWrong += (wrong[i] - vol[i]) ** 2 - (x[i] - vol[i]) ** 2;
  assert.ok(e < 1e-4 * mx, `fast and generic SIRT differ by ${e}`);
  assert.ok(eWrong > 0, 'ignoring the offset should reconstruct worse');
});

test('sirtFast rejects bad options with the field named', async () => {
  const b = new Float32Array(3 * 2 * 10);
  const o = { nz: 2, ny: 6, nx: 6, nCols: 10, angles: [0, 30, 60], iterations: 1 };
  await sirtFast(b, { ...o, minConstraint: 1, maxConstraint: 0 }).then(() => assert.unreachable('accepted min > max'), (e: Error) => assert.match(e.message, /minConstraint/));
  await sirtFast(b, { ...o, chunk: 0 }).then(() => assert.unreachable('accepted chunk 0'), (e: Error) => assert.match(e.message, /chunk/));
  await sirtFast(b, { ...o, kernel: 'gpu' as never }).then(() => assert.unreachable('accepted kernel gpu'), (e: Error) => assert.match(e.message, /kernel/));
});

test('FBP of a disk has the right value inside (all three filters)', async () => {
  const n = 96, nCols = 136, R = 30, value = 2;
  const angles = Array.from({ length: 180 }, (_, i) => -90 + i);
  const op = new SliceMatrixOperator(1, n, n, angles, nCols);
  const b = await op.forward(diskSlice(n, R, value));
  for (const filter of ['ram-lak', 'shepp-logan', 'hann'] as const) {
    const x = await fbp(op, b, { filter });
    let s = 0, cnt = 0, out = 0, cntOut = 0;
    const c = (n - 1) / 2;
    for (let y = 0; y < n; y++) for (let xi = 0; xi < n; xi++) {
      const r = Math.hypot(xi - c, y - c);
      if (r < R * 0.7) { s += x[y * n + xi]; cnt++; }
      else if (r > R + 4 && r < n / 2 - 2) { out += x[y * n + xi]; cntOut++; }
    }
    const inside = s / cnt, outside = out / cntOut;
    assert.ok(Math.abs(inside - value) < 0.03 * value, `${filter}: inside ${inside}, expected ${value}`);
    assert.ok(Math.abs(outside) < 0.03 * value, `${filter}: outside ${outside}`);
  }
});

test('TV gradient and divergence are a negative adjoint pair', () => {
  const shape: [number, number, number] = [3, 4, 5];
  const n = 60;
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3));
  const q = Float32Array.from({ length: 3 * n }, (_, i) => Math.cos(i * 0.7));
  const g = new Float32Array(3 * n), d = new Float32Array(n);
  gradient3(x, shape, g); divergence3(q, shape, d);
  let lhs = 0, rhs = 0;
  for (let i = 0; i < 3 * n; i++) lhs += g[i] * q[i];
  for (let i = 0; i < n; i++) rhs -= x[i] * d[i];
  assert.ok(Math.abs(lhs - rhs) < 1e-4, `${lhs} vs ${rhs}`);
});

test('TV reconstruction beats SIRT on a noisy few-tilt problem', async () => {
  const n = 48, nCols = 68;
  const angles = Array.from({ length: 15 }, (_, i) => -70 + i * 10);
  const op = new SliceMatrixOperator(1, n, n, angles, nCols);
  const truth = phantomSlice(n);
  const b = await op.forward(truth);
  let seed = 1;
  const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5; };
  for (let i = 0; i < b.length; i++) b[i] += 3 * rnd();
  const xs = await sirt(op, b, { iterations: 100, minConstraint: 0 });
  const xt = await tvReconstruct(op, b, { iterations: 200, mu: 2 });
  const es = nrmseScaled(xs, truth), et = nrmseScaled(xt, truth);
  assert.ok(et < es, `TV ${et} vs SIRT ${es}`);
});

test.run();
