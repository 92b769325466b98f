/**
 * eval/recon/joint/passes.ts: every pass equals its plain single loop (the engine's former inline code)
 * bit for bit, in this thread and on 2 and 3 projector workers, and a slab covers each voxel and each ray
 * of every angle once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PASS, passRunner } from './passes.ts';
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

test.run();
