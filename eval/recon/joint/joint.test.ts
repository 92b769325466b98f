import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SliceMatrixOperator } from '../joseph-matrix.ts';
import { reconstruct, makeOperator } from '../reconstruct.ts';
import { sirt } from '../sirt/reference.ts';
import { nrmseScaled } from '../../metrics/index.ts';
import { projectSpectralBall, gramEigenvalues } from './prox.ts';
import { jointObjective, type EngineInput } from './engine.ts';
import { parseJointSpec, edxCountScale, defaultRegularisation, DEFAULT_WEIGHT_CONSTANT, type JointTiltSeries } from './index.ts';
import { stream } from '../../../core/random.ts';
import { ConfigError } from '../../../core/validate.ts';

/** Two-element core-shell slice stack: Au core (r < 0.18 n), Ag shell (0.18 n < r < 0.33 n). */
function coreShell(nz: number, n: number): [Float32Array, Float32Array] {
  const core = new Float32Array(nz * n * n), shell = new Float32Array(nz * n * n), c = (n - 1) / 2;
  for (let z = 0; z < nz; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    const r = Math.hypot(x - c, y - c), i = (z * n + y) * n + x;
    if (r < 0.18 * n) core[i] = 1; else if (r < 0.33 * n) shell[i] = 1;
  }
  return [core, shell];
}

async function jointData(op: SliceMatrixOperator, vols: Float32Array[], k: number, r: number[], N0: number): Promise<JointTiltSeries> {
  const P = await Promise.all(vols.map((v) => op.forward(v)));
  const haadf = new Float32Array(P[0].length);
  for (let i = 0; i < haadf.length; i++) for (let e = 0; e < vols.length; e++) haadf[i] += r[e] * P[e][i];
  return { edx: P.map((p) => p.map((v) => k * v)), elements: ['Au', 'Ag'], haadf, haadfWeights: r, incident: N0 };
}

test('TNV prox (spectral-ball projection) matches the SVD: singular values clipped, singular vectors kept', () => {
  let seed = 3;
  const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5; };
  for (const m of [1, 2, 3, 4]) for (let trial = 0; trial < 20; trial++) {
    const q = Float64Array.from({ length: 3 * m }, () => 4 * rnd()), r = 0.5 + rnd();
    const z = Float64Array.from(q);
    projectSpectralBall(z, m, r, new Float64Array(2 * m * m));
    // Independent check by the SVD's defining properties: the projection Z has ||Z||_2 <= r, and
    // Q - Z is the part of Q beyond r along Q's top singular directions, so <Q - Z, Z> = r ||Q - Z||_*;
    // equivalently (von Neumann) Z minimises ||Z - Q||_F over the ball. Check against power-iteration SVD of Q.
    const sv = singularValues(q, m), svz = singularValues(z, m);
    assert.ok(svz[0] <= r + 1e-9, `m ${m}: ||Z||_2 ${svz[0]} > ${r}`);
    const expect = sv.map((s) => Math.min(s, r)).sort((a, b) => b - a);
    for (let k = 0; k < expect.length; k++) assert.ok(Math.abs(svz[k] - expect[k]) < 1e-7, `m ${m}: singular value ${k}: ${svz[k]} vs ${expect[k]}`);
    let dist = 0; for (let i = 0; i < 3 * m; i++) dist += (z[i] - q[i]) ** 2;
    let want = 0; for (const s of sv) want += Math.max(0, s - r) ** 2;
    assert.ok(Math.abs(dist - want) < 1e-8 * (1 + want), `m ${m}: ||Z - Q||^2 ${dist} vs sum (s - r)_+^2 ${want}`);
  }
});

test('TNV prox: the closed-form path (m = 2, 3) equals Jacobi, including near-equal singular values; closed-form eigenvalues match Jacobi\'s', () => {
  let seed = 11;
  const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5; };
  let closedUsed = 0;
  for (const m of [2, 3]) for (let trial = 0; trial < 200; trial++) {
    // q = U diag(s) V^T-like: random rows scaled so that one, several or no singular values exceed r = 1
    const q = Float64Array.from({ length: 3 * m }, () => rnd() * (trial % 4 === 0 ? 0.5 : 3));
    if (trial % 7 === 0) for (let c = 0; c < 3; c++) q[3 + c] = q[c] * (1 + 1e-9 * rnd()); // nearly rank-deficient, close rows
    const a = Float64Array.from(q), b = Float64Array.from(q);
    projectSpectralBall(a, m, 1, new Float64Array(2 * m * m), true);
    projectSpectralBall(b, m, 1, new Float64Array(2 * m * m), false);
    let d = 0, nrm = 0; for (let i = 0; i < 3 * m; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); nrm = Math.max(nrm, Math.abs(q[i])); }
    assert.ok(d <= 1e-10 * Math.max(1, nrm), `m ${m} trial ${trial}: closed form and Jacobi differ by ${d}`);
    if (a.some((v, i) => v !== q[i])) closedUsed++;
    // eigenvalues of the Gram: closed form against Jacobi's diagonal
    const G = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) G[i * m + j] = q[3 * i] * q[3 * j] + q[3 * i + 1] * q[3 * j + 1] + q[3 * i + 2] * q[3 * j + 2];
    const ev = new Float64Array(3); gramEigenvalues(G, m, ev);
    const w = new Float64Array(2 * m * m), z = Float64Array.from(q); projectSpectralBall(z, m, 0, w, false);
    const jac = Array.from({ length: m }, (_, k) => w[k * m + k]).sort((x, y) => y - x);
    for (let k = 0; k < m; k++) assert.ok(Math.abs(ev[k] - jac[k]) <= 1e-10 * Math.max(1, jac[0]), `m ${m}: eigenvalue ${k} ${ev[k]} vs Jacobi ${jac[k]}`);
  }
  assert.ok(closedUsed > 100, `projections that changed q: ${closedUsed}`);
});

/** Singular values of an m x 3 matrix by deflated power iteration on Q^T Q (independent of prox.ts's Jacobi). */
function singularValues(q: Float64Array, m: number): number[] {
  const A = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < m; k++) A[3 * i + j] += q[3 * k + i] * q[3 * k + j];
  const out: number[] = [];
  for (let s = 0; s < Math.min(m, 3); s++) {
    let v = [1, 0.7, 0.3], lam = 0;
    for (let it = 0; it < 2000; it++) {
      const w = [0, 1, 2].map((i) => A[3 * i] * v[0] + A[3 * i + 1] * v[1] + A[3 * i + 2] * v[2]);
      const nrm = Math.hypot(...w);
      if (nrm === 0) break;
      lam = nrm; v = w.map((x) => x / nrm);
    }
    out.push(Math.sqrt(Math.max(lam, 0)));
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) A[3 * i + j] -= lam * v[i] * v[j];
  }
  return out;
}

test('default weight: the EDX count scale is the mean count per element on the HAADF support (hand-checked), unchanged by smoothing the counts and proportional to the dose', () => {
  // support: HAADF >= 10 % of its 99.5th percentile (10) = rays 1 and 2; counts there 2 + 4 (Au), 0 + 2 (Ag) over 2 rays x 2 elements
  const haadf = Float32Array.from([0, 10, 10, 0.5, 0]);
  const edx = [Float32Array.from([5, 2, 4, 1, 0]), Float32Array.from([0, 0, 2, 3, 0])];
  assert.is(edxCountScale(edx, haadf), 2);
  // no HAADF (or none lit): the mean over rays with counts, (5 + 2 + 4 + 1 + 2 + 3) / 6
  assert.is(edxCountScale(edx), 17 / 6);
  assert.is(edxCountScale(edx, new Float32Array(5)), 17 / 6);
  assert.is(defaultRegularisation(edx, haadf), DEFAULT_WEIGHT_CONSTANT / Math.sqrt(2));
  assert.is(defaultRegularisation(edx, haadf, 'tnv'), (3 * DEFAULT_WEIGHT_CONSTANT) / Math.sqrt(2));
  assert.is(defaultRegularisation([], haadf), 0.02);
  // a disk's projections at 0.02-0.08 counts per pixel (most lit pixels hold one count), its HAADF, and the counts smoothed by [1 2 1]/4 in both directions
  const nA = 9, h = 48, w = 48, rng = stream(3, 'count-scale');
  const clean = new Float32Array(nA * h * w);
  for (let a = 0; a < nA; a++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { const r = Math.hypot(y - 23.5, x - 23.5 + a - 4); clean[(a * h + y) * w + x] = r < 15 ? Math.sqrt(225 - r * r) / 15 : 0; }
  const draw = (scale: number) => clean.map((v) => rng.poisson(scale * v));
  const hd = clean.map((v) => 50 * v);
  const smooth = (b: Float32Array) => {
    const o = new Float32Array(b.length), k = [0.25, 0.5, 0.25];
    for (let a = 0; a < nA; a++) for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) {
      let s = 0; for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += k[dy + 1] * k[dx + 1] * b[(a * h + y + dy) * w + x + dx];
      o[(a * h + y) * w + x] = s;
    }
    return o;
  };
  const lo = draw(0.04), hi = draw(0.16);
  const mLo = edxCountScale([lo], hd), mHi = edxCountScale([hi], hd), mSm = edxCountScale([smooth(lo)], hd);
  assert.ok(Math.abs(mSm / mLo - 1) < 0.05, `smoothing moved the count scale ${mLo} -> ${mSm}`);
  // 4x the dose: the ratio of two Poisson totals, 4 within 4 standard errors (4 sqrt(1/N_lo + 1/N_hi), N the counts on the support)
  const nSup = hd.filter((v) => v >= 0.1 * 50).length, se = 4 * Math.sqrt(1 / (mLo * nSup) + 1 / (mHi * nSup));
  assert.ok(Math.abs(mHi / mLo - 4) < 4 * se, `4x the dose: ${mLo} -> ${mHi} (ratio ${mHi / mLo}, standard error ${se})`);
  // what it replaces: the mean over lit pixels stays near 1 count at these doses and drops tenfold when the counts are smoothed
  const lit = (b: Float32Array) => { let s = 0, n = 0; for (const v of b) if (v > 0) { s += v; n++; } return s / n; };
  assert.ok(lit(hi) / lit(lo) < 1.3 && lit(smooth(lo)) < 0.3 * lit(lo), `lit-pixel means ${lit(lo)}, ${lit(hi)}, smoothed ${lit(smooth(lo))}`);
});

test('joint objective: gradient of the smooth data terms matches finite differences', async () => {
  const n = 8, op = new SliceMatrixOperator(1, n, n, [-60, -20, 10, 45, 80], 12);
  const [a, b] = coreShell(1, n);
  const d = await jointData(op, [a, b], 3, [0.2, 0.1], 1e4);
  const u = [a.map((v, i) => 2 + v + 0.1 * Math.sin(i)), b.map((v, i) => 1.5 + v + 0.1 * Math.cos(i))];
  const wH = d.haadf.map(() => 50);
  const inp: EngineInput = { edx: d.edx.map((e) => e.map((v) => Math.round(v))), haadf: d.haadf, c: [0.2 / 3, 0.1 / 3], haadfWeight: wH, alphaH: 1, lambdaEdx: 1, edxModel: 'poisson', regulariser: 'none', regWeight: 0, iterations: 0, warmStart: 0 };
  const F = async (uu: Float32Array[]) => (await jointObjective(inp, uu, await Promise.all(uu.map((x) => op.forward(x))), { ...op.geom, nA: op.geom.angles.length })).objective;
  // analytic gradient: c_e P^T (alpha W (P h - b_H)) + lambda P^T (1 - b_e / P u_e)
  const Pu = await Promise.all(u.map((x) => op.forward(x)));
  const rH = new Float32Array(Pu[0].length);
  for (let i = 0; i < rH.length; i++) rH[i] = wH[i] * (inp.c[0] * Pu[0][i] + inp.c[1] * Pu[1][i] - d.haadf[i]);
  for (let e = 0; e < 2; e++) {
    const t = new Float32Array(rH.length);
    for (let i = 0; i < t.length; i++) t[i] = inp.c[e] * rH[i] + 1 - inp.edx[e][i] / Pu[e][i];
    const g = await op.back(t);
    for (const j of [9, 27, 36, 50]) {
      const h = 1e-3, up = u.map((x) => Float32Array.from(x)), dn = u.map((x) => Float32Array.from(x));
      up[e][j] += h; dn[e][j] -= h;
      const fd = ((await F(up)) - (await F(dn))) / (2 * h);
      assert.ok(Math.abs(fd - g[j]) < 2e-2 * (1 + Math.abs(g[j])), `element ${e} voxel ${j}: finite difference ${fd} vs gradient ${g[j]}`);
    }
  }
});

test('joint specs and data are validated with the field named', async () => {
  assert.throws(() => parseJointSpec('bimodal:10:1.5'), /alpha/);
  assert.throws(() => parseJointSpec('fused:0'), /iterations/);
  assert.throws(() => parseJointSpec('tnv:10:-1'), /TNV weight/);
  const op = new SliceMatrixOperator(1, 6, 6, [0, 45], 8);
  const d: JointTiltSeries = { edx: [new Float32Array(16), new Float32Array(15)], elements: ['Au', 'Ag'], haadf: new Float32Array(16).fill(0.1), haadfWeights: [1, 1], incident: 100 };
  await reconstruct(op, d, parseJointSpec('fused:2')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /EDX Ag/));
  d.edx[1] = new Float32Array(16); d.haadf[3] = NaN;
  await reconstruct(op, d, parseJointSpec('fused:2')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /HAADF.*finite/));
  // the user's mistakes are ConfigErrors (exit 2) naming the field, what was found and what is allowed
  const isConfig = (field: string, re: RegExp) => (e: unknown) => e instanceof ConfigError && e.field === field && re.test(e.message);
  assert.throws(() => parseJointSpec('fused:0'), isConfig('recon', /fused iterations must be an integer in \[1, 10000\], got '0'/));
  assert.throws(() => parseJointSpec('bimodal:10:1.5'), isConfig('recon', /alpha.*\[0, 1\].*'1\.5'/));
  d.haadf[3] = 0.1;
  await reconstruct(op, { ...d, edxScale: 1 }, { ...parseJointSpec('fused:2'), regularisation: -1 }).then(() => assert.unreachable(), (e: unknown) => assert.ok(isConfig('fused.regularisation', /got -1; must be finite and >= 0/)(e), String(e)));
  await reconstruct(op, { ...d, haadfWeights: [1, 0] }, parseJointSpec('fused:2')).then(() => assert.unreachable(), (e: unknown) => assert.ok(isConfig('fused.haadfWeights', /got 1, 0; each must be finite and > 0/)(e), String(e)));
});

test('noise-free core-shell: fused, bimodal and TNV at 100 iterations recover both elements with lower NRMSE than 100-iteration SIRT of the same EDX', async () => {
  // Equal iteration count (100, the joint methods' default and the CLI's sirt:100). 2 x 24^2, 9 tilts +-60 deg.
  const nz = 2, n = 24, angles = Array.from({ length: 9 }, (_, i) => -60 + i * 15);
  const op = new SliceMatrixOperator(nz, n, n, angles, 36);
  const truth = coreShell(nz, n);
  const d = await jointData(op, truth, 20, [0.19, 0.1], 2e4);
  const sirtErr = await Promise.all(d.edx.map(async (b, e) => nrmseScaled(await sirt(op, b, { iterations: 100, minConstraint: 0 }), truth[e])));
  for (const spec of ['fused:100:0.05', 'bimodal:100', 'tnv:100:0.05']) {
    const r = await reconstruct(op, d, parseJointSpec(spec));
    const errs = r.volumes.map((v, e) => nrmseScaled(v, truth[e]));
    for (let e = 0; e < 2; e++) assert.ok(errs[e] < sirtErr[e], `${spec} ${d.elements[e]}: NRMSE ${errs[e].toFixed(4)} vs SIRT ${sirtErr[e].toFixed(4)}`);
    assert.is(r.history.length, 100);
    assert.ok(r.history.every((h) => Number.isFinite(h.objective)), `${spec}: non-finite objective`);
  }
});

/** Poisson draws by Knuth's method from a fixed-seed Lehmer generator. */
function poissonDraw(b: Float32Array, seed: number): Float32Array {
  let s = seed;
  const rnd = () => { s = (s * 16807) % 2147483647; return s / 2147483647; };
  return b.map((v) => { let k = 0; const p = Math.exp(-v); let t = rnd(); while (t > p) { t *= rnd(); k++; } return k; });
}

test('fused with lambda_chem large is ML-EM on the EDX alone (independent EM, same start and count); with the EDX absent its forward HAADF matches b_H', async () => {
  const n = 12, angles = Array.from({ length: 24 }, (_, i) => -90 + i * 7.5);
  const op = new SliceMatrixOperator(1, n, n, angles, 18);
  const truth = coreShell(1, n);
  const d = await jointData(op, truth, 8, [0.19, 0.1], 1e4);
  d.edx = d.edx.map((b, e) => poissonDraw(b, 9 + e));
  const col = await op.colSums();
  const warm = 10, its = 60;
  const em = await Promise.all(d.edx.map(async (b) => {
    let sb = 0, sc = 0; for (const v of b) sb += v; for (const v of col) sc += v > 1e-6 ? v : 0;
    let x = col.map((v) => (v > 1e-6 ? sb / sc : 0));
    for (let it = 0; it < warm + its; it++) {
      const p = await op.forward(x), ratio = p.map((v, i) => (v > 0 ? b[i] / v : 0)), bp = await op.back(ratio);
      x = x.map((v, j) => (col[j] > 1e-6 ? (v * bp[j]) / col[j] : 0));
    }
    return x;
  }));
  const r = await reconstruct(op, d, { kind: 'fused', iterations: its, warmStart: warm, lambdaChem: 1e7, regularisation: 0 });
  for (let e = 0; e < 2; e++) {
    const diff = nrmseScaled(r.volumes[e], em[e]);
    assert.ok(diff < 1e-3, `element ${e}: fused (lambda_chem 1e7) vs ML-EM NRMSE ${diff}`);
  }
  // ... and with the HAADF it is not EM (the coupling does something): lambda_chem = 1 moves away.
  const r1 = await reconstruct(op, d, { kind: 'fused', iterations: its, warmStart: warm, regularisation: 0 });
  assert.ok(nrmseScaled(r1.volumes[0], em[0]) > 1e-2, 'fused at lambda_chem 1 equals ML-EM: the HAADF has no effect');
  const h = await reconstruct(op, { ...d, edx: [], edxScale: 8 }, { kind: 'fused', iterations: 300, regularisation: 0 });
  const Ph = await op.forward(h.haadfVolume);
  let num = 0, den = 0;
  for (let i = 0; i < Ph.length; i++) { num += (Ph[i] - d.haadf[i]) ** 2; den += d.haadf[i] ** 2; }
  assert.ok(Math.sqrt(num / den) < 0.01, `HAADF-only fused: relative residual ${Math.sqrt(num / den)}`);
  assert.ok(h.history[h.history.length - 1].objective < 1e-3 * h.history[0].objective, `HAADF-only objective ${h.history[0].objective} -> ${h.history.at(-1)!.objective}`);
});

test('joint reconstructions are identical for 1, 2 and 3 projector workers (fused with TV, TNV with and without the HAADF channel, bimodal; the FGP prox on the slab kernels)', async () => {
  // 20 slices: the ray-table operator's chunks of 8 give 3 workers, the prox's slabs of 2 are spread over them
  const geom = { angles: Float64Array.from([-60, -30, 0, 30, 60]), nz: 20, ny: 10, nx: 10, nCols: 16 };
  const [c0, s0] = coreShell(1, 10), truth = [c0, s0].map((v) => { const o = new Float32Array(20 * 100); for (let z = 3; z < 17; z++) o.set(v, z * 100); return o; });
  const ops = [await makeOperator(geom, 1), await makeOperator(geom, 2), await makeOperator(geom, 3)];
  try {
    const P = await Promise.all(truth.map((v) => ops[0].forward(v)));
    const haadf = P[0].map((v, i) => 0.19 * v + 0.1 * P[1][i]);
    const d: JointTiltSeries = { edx: P.map((p, e) => poissonDraw(p.map((v) => 5 * v), 3 + e)), elements: ['Au', 'Ag'], haadf, haadfWeights: [0.19, 0.1], incident: 1e4 };
    for (const spec of [parseJointSpec('fused:6:0.5'), parseJointSpec('tnv:6:0.5'), { ...parseJointSpec('tnv:4:0.5'), haadfChannel: false }, parseJointSpec('bimodal:6')]) {
      const [a, ...rest] = await Promise.all(ops.map((op) => reconstruct(op, d, spec)));
      for (const [w, b] of rest.entries()) {
        for (let e = 0; e < 2; e++) assert.ok(Buffer.from(a.volumes[e].buffer).equals(Buffer.from(b.volumes[e].buffer)), `${spec.kind} ${d.elements[e]}: 1 and ${w + 2} workers differ`);
        assert.ok(Buffer.from(a.haadfVolume.buffer).equals(Buffer.from(b.haadfVolume.buffer)), `${spec.kind}: HAADF volumes differ`);
        assert.equal(a.history.map((h) => h.objective), b.history.map((h) => h.objective));
      }
      // the prox did something (the weight is not vacuous): a reconstruction without it differs
      if (spec.kind !== 'bimodal') {
        const none = await reconstruct(ops[0], d, { ...spec, regularisation: 0 });
        assert.not.ok(Buffer.from(none.volumes[1].buffer).equals(Buffer.from(a.volumes[1].buffer)), `${spec.kind}: the regulariser changed nothing`);
      }
    }
  } finally {
    for (const op of ops) await op.close?.();
  }
});

test.run();
