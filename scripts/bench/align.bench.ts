/**
 * Alignment benchmark (issue 20): accuracy and time of eval/align on simulated tilt series with the
 * simulator's +-3 px jitter (and, separately, a 2 degree in-plane rotation), over a few seeds:
 *  - rows: fraction of projections whose integer row shift is recovered exactly (up to the one
 *    unobservable constant); columns: largest residual after the particle's translation (the gauge)
 *    is removed, in px; rotation error in degrees;
 *  - SIRT PSNR of an element channel against the phantom: unjittered, jittered, aligned (gauge from
 *    the record, fixGauge), and aligned - unjittered in dB;
 *  - time of alignTiltSeries (shifts + axis offset) and of estimateRotation, and their ratio to one
 *    SIRT reconstruction of the same series in the same process (the reference run).
 * The machine may be shared: times are noisy, the ratios less so.
 *
 *   npm run bench -- align        (BENCH_ALIGN_N=48 grid edge, BENCH_ALIGN_SEEDS=3)
 */
import { alignTiltSeries, applyAlignment, applyShifts, estimateRotation, fixGauge } from '../../eval/align/index.ts';
import { simulateSample, validateSimulationConfig } from '../../generators/simulate.ts';
import { sirtFast } from '../../eval/recon/sirt/slices.ts';
import { psnr } from '../../eval/metrics/index.ts';

const N = Number(process.env.BENCH_ALIGN_N ?? 48), nC = Math.round(N * 1.25), seeds = Number(process.env.BENCH_ALIGN_SEEDS ?? 3);
const base = { phantom: { size: N }, geometry: { angles: '-70:70:5', nCols: nC } };
const cfg = validateSimulationConfig(base), jit = validateSimulationConfig({ ...base, acquisition: { jitter: 3 } });
const t = () => performance.now();
const rows: string[] = [];
let tAlign = 0, tRot = 0, tSirt = 0, exact = 0, total = 0, worstCol = 0, worstRot = 0, worstDb = -Infinity;
console.log(`align: ${N}x${nC} projections, 29 tilts over +-70 deg, jitter +-3 px, ${seeds} seeds`);
for (let seed = 1; seed <= seeds; seed++) {
  const s0 = await simulateSample(cfg, seed, 0), s1 = await simulateSample(jit, seed, 0);
  const nA = s0.angles.length, plane = nA * N * nC;
  const haadf = s1.clean.slice(0, plane);
  let t0 = t();
  const al = alignTiltSeries(haadf, N, nC, s1.angles);
  tAlign += t() - t0;
  const tr = s1.params.jitter!.rows, tc = s1.params.jitter!.cols;
  const dr = Array.from(al.rows, (v, a) => Math.round(v) - tr[a]);
  const mode = dr.sort((x, y) => dr.filter((v) => v === y).length - dr.filter((v) => v === x).length)[0];
  exact += Array.from(al.rows, (v, a) => Math.round(v) - tr[a]).filter((v) => v === mode).length; total += nA;
  const g = fixGauge(al, { rows: tr, cols: tc }, s1.angles);
  const colErr = Math.max(...Array.from(g.cols, (v, a) => Math.abs(v - tc[a])));
  worstCol = Math.max(worstCol, colErr);
  const el = 1, truth = s0.volume[0], range = Math.max(...truth);
  const rec = (ts: Float32Array) => sirtFast(ts, { nz: N, ny: N, nx: N, nCols: nC, angles: s0.angles, iterations: 30, minConstraint: 0, workers: 1 });
  const scale = (v: Float32Array) => { let a = 0, b = 0; for (let i = 0; i < v.length; i++) { a += v[i] * truth[i]; b += v[i] * v[i]; } return v.map((x) => (x * a) / b); };
  const c0 = s0.clean.slice(el * plane, (el + 1) * plane), c1 = s1.clean.slice(el * plane, (el + 1) * plane);
  t0 = t();
  const v0 = await rec(c0);
  tSirt += t() - t0;
  const vj = await rec(c1), va = await rec(applyAlignment(c1, N, nC, g));
  const p0 = psnr(scale(v0), truth, range), pj = psnr(scale(vj), truth, range), pa = psnr(scale(va), truth, range);
  worstDb = Math.max(worstDb, p0 - pa);
  // Rotation: the unjittered HAADF turned by 2 degrees, with the jitter's shifts on top.
  const zero = new Float64Array(nA);
  const rot = applyShifts(applyAlignment(s0.clean.slice(0, plane), N, nC, { rows: zero, cols: zero, axisOffset: 0, rotationDeg: -2 }), N, nC, tr.map((v) => -v), tc.map((v) => -v));
  t0 = t();
  const er = estimateRotation(rot, N, nC, s0.angles, { maxDeg: 4 });
  tRot += t() - t0;
  worstRot = Math.max(worstRot, Math.abs(er.rotationDeg - 2));
  rows.push(`  seed ${seed}: rows exact ${Array.from(al.rows, (v, a) => Math.round(v) - tr[a]).filter((v) => v === mode).length}/${nA}, columns max error ${colErr.toFixed(3)} px, axis offset ${al.axisOffset.toFixed(2)} px, rotation 2 -> ${er.rotationDeg.toFixed(3)} deg; SIRT PSNR unjittered ${p0.toFixed(2)} dB, jittered ${pj.toFixed(2)} dB, aligned ${pa.toFixed(2)} dB (${(pa - p0).toFixed(2)} dB)`);
}
console.log(rows.join('\n'));
console.log(`accuracy: rows exact ${exact}/${total}, worst column error ${worstCol.toFixed(3)} px (target 0.2), worst rotation error ${worstRot.toFixed(3)} deg, worst aligned PSNR loss ${worstDb.toFixed(2)} dB (target 0.2)`);
console.log(`time per series: alignTiltSeries ${(tAlign / seeds).toFixed(0)} ms, estimateRotation (+-4 deg, 17 angles) ${(tRot / seeds).toFixed(0)} ms; reference SIRT (30 iterations, 1 worker) ${(tSirt / seeds).toFixed(0)} ms; ratios ${(tAlign / tSirt).toFixed(2)}x and ${(tRot / tSirt).toFixed(2)}x a reconstruction`);
