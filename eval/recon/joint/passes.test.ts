/**
 * eval/recon/joint/passes.ts: every pass equals its plain single loop (the engine's former inline code)
 * bit for bit, in this thread and on 2 and 3 projector workers, and a slab covers each voxel and each ray
 * of every angle once; the reductions (objective, weighted total) equal one plain loop's sums to float64
 * rounding and are the same bits on 1, 2 and 3 workers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PASS, passReducer, passRunner } from './passes.ts';
import { localSlabs } from '../operator.ts';
import { RayTableOperator } from '../sirt/ray-operator.ts';
import { makeGeometry } from '../../../generators/projection/index.ts';
import { stream } from '../../../core/random.ts';

test('passes: hand-checked cases (ML-EM ratio with a zero and a negative projection; SIRT update with the clip and off the support)', async () => {
  const geom = { nz: 1, ny: 1, nx: 3, nA: 1, nCols: 3 };
  const pass = passRunner(localSlabs(1), geom);
  const out = new Float32Array(3);
  await pass(PASS.emRatio, { out, arrays: [Float32Array.from([2, 5, 3]), Float32Array.from([1, 0, -1])] });
  assert.equal(Array.from(out), [2, 0, 0]);
  const x = Float32Array.from([1, 1, 4]);
  await pass(PASS.sirtUpdate, { out: x, arrays: [Float32Array.from([4, 1, 2]), Float32Array.from([2, 0, 1])] });
  assert.equal(Array.from(x), [0, 0, 2]);
  // the HAADF residual: invRow (c0 P0 + c1 P1 - bH) = 0.5 (2 * 1 + 3 * 2 - 4) = 2
  const r = new Float32Array(3);
  await pass(PASS.haadfResidual, { out: r, vols: [Float32Array.from([1, 0, 0]), Float32Array.from([2, 0, 0])], c: [2, 3], arrays: [Float32Array.from([4, 0, 0]), Float32Array.from([0.5, 1, 1])] });
  assert.equal(Array.from(r), [2, 0, 0]);
});

const nz = 11, ny = 6, nx = 7, nA = 5, nCols = 9, n = nz * ny * nx, m = nA * nz * nCols;

/** The passes as the engine wrote them inline, one loop each over the whole array. */
function reference(op: number, a: { out: Float32Array; arrays: Float32Array[]; vols: Float32Array[]; c: number[]; g: number[]; f: number; eps: number }): void {
  const { out, arrays: A, vols: V, c, g, f, eps } = a, nE = V.length;
  const len = out.length;
  if (op === PASS.emRatio) for (let i = 0; i < len; i++) out[i] = A[1][i] > 0 ? A[0][i] / A[1][i] : 0;
  if (op === PASS.emUpdate) for (let j = 0; j < len; j++) out[j] = A[1][j] > 1e-6 ? (out[j] * A[0][j]) / A[1][j] : 0;
  if (op === PASS.haadfResidual) for (let i = 0; i < len; i++) { let h = 0; for (let e = 0; e < nE; e++) h += c[e] * V[e][i]; out[i] = A[1][i] * (h - A[0][i]); }
  if (op === PASS.scaleByColumnSums) for (let j = 0; j < len; j++) out[j] = A[0][j] > 1e-6 ? (f * out[j]) / A[0][j] : 0;
  if (op === PASS.haadfVolume) { out.fill(0); for (let e = 0; e < nE; e++) for (let j = 0; j < len; j++) out[j] += c[e] * V[e][j]; }
  if (op === PASS.haadfChange) for (let j = 0; j < len; j++) { let h = 0; for (let e = 0; e < nE; e++) h += c[e] * V[e][j]; out[j] = f * (h - out[j]); }
  if (op === PASS.liftH) for (let j = 0; j < len; j++) {
    if (!(A[0][j] > 1e-6)) { for (let e = 0; e < nE; e++) V[e][j] = 0; continue; }
    const d = out[j];
    if (d === 0) continue;
    let h = 0;
    for (let e = 0; e < nE; e++) h += c[e] * V[e][j];
    const q = d / (h + eps);
    for (let e = 0; e < nE; e++) { const v = V[e][j] + q * (V[e][j] + eps * g[e]); V[e][j] = v > 0 ? v : 0; }
  }
  if (op === PASS.sirtResidual) for (let i = 0; i < len; i++) out[i] = A[2][i] * (A[0][i] - A[1][i]);
  if (op === PASS.sirtUpdate) for (let j = 0; j < len; j++) out[j] = A[1][j] > 1e-6 ? Math.max(0, out[j] - A[0][j] / A[1][j]) : 0;
}

test('passes: every pass equals the plain loop bit for bit, for 2 and 3 elements, in this thread and on 2 and 3 workers', async () => {
  const geom = makeGeometry({ angles: Float64Array.from({ length: nA }, (_, i) => -60 + i * 30), nz, ny, nx, nCols });
  const rng = stream(4, 'passes');
  // values with exact zeros, negatives and an empty support edge, so every branch runs
  const rand = (len: number, lo = -0.5) => Float32Array.from({ length: len }, () => (rng.uniform() < 0.1 ? 0 : lo + rng.uniform() * 2));
  const ops = [PASS.emRatio, PASS.emUpdate, PASS.haadfResidual, PASS.scaleByColumnSums, PASS.haadfVolume, PASS.haadfChange, PASS.liftH, PASS.sirtResidual, PASS.sirtUpdate];
  const tiltSeriesOps: number[] = [PASS.emRatio, PASS.haadfResidual, PASS.sirtResidual];
  for (const nE of [2, 3]) {
    for (const op of ops) {
      const len = tiltSeriesOps.includes(op) ? m : n;
      const inputs = { out: rand(len), arrays: [rand(len), rand(len, 0), rand(len)], vols: Array.from({ length: nE }, () => rand(len, 0)), c: Array.from({ length: nE }, (_, e) => 0.3 + e * 0.7), g: Array.from({ length: nE }, (_, e) => 0.2 * (e + 1)), f: -0.7, eps: 0.05 };
      const ref = { ...inputs, out: Float32Array.from(inputs.out), vols: inputs.vols.map((v) => Float32Array.from(v)) };
      reference(op, ref);
      const expect = Buffer.concat([ref.out, ...ref.vols].map((a) => Buffer.from(a.buffer)));
      for (const workers of [1, 2, 3]) {
        const rop = workers === 1 ? null : new RayTableOperator(geom, { workers, chunk: 2 });
        try {
          const runner = rop ?? localSlabs(nz);
          const sh = (a: Float32Array) => { const s = runner.sharedFloat32(a.length); s.set(a); return s; };
          const args = { ...inputs, out: sh(inputs.out), arrays: inputs.arrays.map(sh), vols: inputs.vols.map(sh) };
          await passRunner(runner, { nz, ny, nx, nA, nCols })(op, args);
          const got = Buffer.concat([args.out, ...args.vols].map((a) => Buffer.from(a.buffer)));
          assert.ok(got.equals(expect), `pass ${op}, ${nE} elements, ${workers} workers: differs from the plain loop`);
        } finally { await rop?.close(); }
      }
    }
  }
});

test('reductions: hand-checked objective sums (HAADF, Poisson with a zero count and a zero projection, least squares) and weighted total', async () => {
  const geom = { nz: 1, ny: 1, nx: 2, nA: 1, nCols: 2 };
  const reduce = passReducer(localSlabs(1), geom);
  const P0 = Float32Array.from([1, 0]), P1 = Float32Array.from([2, 4]);
  const bH = Float32Array.from([7, 3]), wH = Float32Array.from([1, 2]), b0 = Float32Array.from([1, 3]), b1 = Float32Array.from([0, 2]);
  // h = c0 P0 + c1 P1 with c = [1, 2]: [5, 8]; HAADF: 1 (5 - 7)^2 + 2 (8 - 3)^2 = 54
  // element 0, Poisson: (1 - 1 log 1) + (0 - 3 log 1e-30); element 1: 2 (b = 0) + (4 - 2 log 4)
  const t = await reduce(PASS.objective, { vols: [P0, P1], arrays: [bH, wH, b0, b1], c: [1, 2] });
  assert.equal(t.slice(0, 1), [54]);
  assert.ok(Math.abs(t[1] - (1 - 3 * Math.log(1e-30))) < 1e-12 && Math.abs(t[2] - (2 + 4 - 2 * Math.log(4))) < 1e-12, `EDX sums ${t}`);
  // least squares with v = [2, 1]: 2 ((1 - 1)^2 + (0 - 3)^2) / 2 = 9, ((2 - 0)^2 + (4 - 2)^2) / 2 = 4; no HAADF: 0
  assert.equal(await reduce(PASS.objective, { vols: [P0, P1], arrays: [new Float32Array(0), new Float32Array(0), b0, b1], c: [1, 2], v: [2, 1] }), [0, 9, 4]);
  assert.equal(await reduce(PASS.weightedTotal, { vols: [P0, P1], c: [1, 2] }), [13]);
  assert.equal(await reduce(PASS.weightedTotal, { vols: [P0, P1] }), [7]);
  assert.throws(() => passRunner(localSlabs(1), geom)(PASS.objective, { out: new Float32Array(2) }), /reduction/);
});

test('reductions: equal one plain loop to 1e-12 and the same bits on 1, 2 and 3 workers (2 and 3 elements; Poisson and least squares)', async () => {
  const geom = makeGeometry({ angles: Float64Array.from({ length: nA }, (_, i) => -60 + i * 30), nz, ny, nx, nCols });
  const rng = stream(5, 'reductions');
  const rand = (len: number) => Float32Array.from({ length: len }, () => (rng.uniform() < 0.1 ? 0 : rng.uniform() * 3));
  for (const nE of [2, 3]) for (const ls of [false, true]) {
    const Pu = Array.from({ length: nE }, () => rand(m)), b = Array.from({ length: nE }, () => Float32Array.from(rand(m), (x) => Math.round(x)));
    const bH = rand(m), wH = rand(m), u = Array.from({ length: nE }, () => rand(n)), c = Array.from({ length: nE }, (_, e) => 0.3 + e * 0.7), v = ls ? c.map((x) => 1 / x) : [];
    // the plain loops (the order of the engine's former in-thread objective)
    let H = 0;
    for (let i = 0; i < m; i++) { let h = 0; for (let e = 0; e < nE; e++) h += c[e] * Pu[e][i]; H += wH[i] * (h - bH[i]) ** 2; }
    const E = b.map((be, e) => { let s = 0; for (let i = 0; i < m; i++) { const z = Pu[e][i]; s += ls ? (v[e] * (z - be[i]) ** 2) / 2 : be[i] > 0 ? z - be[i] * Math.log(Math.max(z, 1e-30)) : z; } return s; });
    let T = 0;
    for (let e = 0; e < nE; e++) for (let j = 0; j < n; j++) T += c[e] * u[e][j];
    const got: number[][] = [];
    for (const workers of [1, 2, 3]) {
      const rop = workers === 1 ? null : new RayTableOperator(geom, { workers, chunk: 2 });
      try {
        const runner = rop ?? localSlabs(nz);
        const sh = (a: Float32Array) => { const s2 = runner.sharedFloat32(a.length); s2.set(a); return s2; };
        const reduce = passReducer(runner, { nz, ny, nx, nA, nCols });
        got.push([...(await reduce(PASS.objective, { vols: Pu.map(sh), arrays: [sh(bH), sh(wH), ...b.map(sh)], c, v })), ...(await reduce(PASS.weightedTotal, { vols: u.map(sh), c }))]);
      } finally { await rop?.close(); }
    }
    const want = [H, ...E, T];
    want.forEach((w, k) => assert.ok(Math.abs(got[0][k] - w) <= 1e-12 * Math.abs(w), `${nE} elements${ls ? ', least squares' : ''}: sum ${k} ${got[0][k]} vs ${w}`));
    assert.equal(got[1], got[0], `${nE} elements: 2 workers`);
    assert.equal(got[2], got[0], `${nE} elements: 3 workers`);
  }
});

test.run();
