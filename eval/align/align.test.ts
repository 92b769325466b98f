import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alignTiltSeries, applyAlignment, fixGauge, applyShifts, crossCorrelationShift, estimateRotation, formatShifts, parseShifts } from './index.ts';
import { alignSeries, alignedSource } from './cli.ts';
import { simulateSample, validateSimulationConfig } from '../../generators/simulate.ts';
import { sirtFast } from '../recon/sirt/slices.ts';
import { psnr } from '../metrics/index.ts';

/** Residual of v after the least-squares fit of span{basis}. */
function residual(v: number[], basis: number[][]): number[] {
  const k = basis.length, A = basis.map((b) => basis.map((c) => b.reduce((s, x, i) => s + x * c[i], 0))), y = basis.map((b) => b.reduce((s, x, i) => s + x * v[i], 0));
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (i !== j) { const f = A[j][i] / A[i][i]; for (let m = 0; m < k; m++) A[j][m] -= f * A[i][m]; y[j] -= f * y[i]; }
  const c = y.map((t, i) => t / A[i][i]);
  return v.map((x, a) => x - basis.reduce((s, b, i) => s + c[i] * b[a], 0));
}

test('cross-correlation finds integer and sub-pixel shifts of a smooth profile', () => {
  const g = Array.from({ length: 64 }, (_, i) => Math.exp(-(((i - 30) / 5) ** 2)));
  for (const s of [3, -2, 1.3, -0.6]) {
    const f = Array.from({ length: 64 }, (_, i) => Math.exp(-(((i - s - 30) / 5) ** 2)));
    assert.ok(Math.abs(crossCorrelationShift(f, g, 6) - s) < (Number.isInteger(s) ? 0.02 : 0.1), `shift ${s}: ${crossCorrelationShift(f, g, 6)}`);
  }
});

test('alignment undoes the simulator\'s +-3 px jitter: rows exact up to one constant, columns to 0.2 px up to a particle translation, SIRT PSNR within 0.2 dB of the unjittered series', async () => {
  const base = { phantom: { size: 32, kind: 'core-shell' }, geometry: { angles: '-70:70:5', nCols: 48 }, acquisition: { mode: 'counts', countsInParticle: 200 } };
  let cfg;
  try { cfg = validateSimulationConfig(base); } catch { cfg = validateSimulationConfig({ phantom: { size: 32 }, geometry: base.geometry }); }
  const jit = validateSimulationConfig({ ...cfg, acquisition: { ...cfg.acquisition, jitter: 3 } });
  const s0 = await simulateSample(cfg, 7, 0), s1 = await simulateSample(jit, 7, 0);
  const N = 32, nC = 48, nA = s0.angles.length, plane = nA * N * nC;
  const haadf = s1.clean.slice(0, plane);
  const rounds: number[] = [];
  const al = alignTiltSeries(haadf, N, nC, s1.angles, { onIteration: (_, r) => rounds.push(r) });
  assert.ok(rounds.at(-1)! < rounds[0], `matching objective should fall: ${rounds.map((r) => r.toFixed(3)).join(' ')}`);
  const tr = s1.params.jitter!.rows, tc = s1.params.jitter!.cols;
  const dr = Array.from(al.rows, (v, a) => Math.round(v) - tr[a]);
  assert.ok(dr.every((v) => v === dr[0]), `row shifts not recovered: ${dr}`);
  const dc = Array.from(al.cols, (v, a) => v + al.axisOffset - tc[a]);
  const th = Array.from(s1.angles, (t) => (t * Math.PI) / 180);
  const res = residual(dc, [th.map(Math.cos), th.map(Math.sin)]);
  assert.ok(Math.max(...res.map(Math.abs)) < 0.2, `column residuals ${res.map((v) => v.toFixed(2)).join(' ')}`);
  // fixGauge (eval --align) takes the invisible translation from the record: rows exact, columns to 0.2 px.
  const g = fixGauge(al, { rows: tr, cols: tc }, s1.angles);
  assert.ok(Array.from(g.rows).every((v, a) => Math.round(v) === tr[a]) && Array.from(g.cols).every((v, a) => Math.abs(v - tc[a]) < 0.2), `fixGauge: rows ${Array.from(g.rows, (v) => v.toFixed(2))} cols ${Array.from(g.cols, (v) => v.toFixed(2))}`);
  // Reconstruct the element channel with the estimated shifts, the unobservable translation replaced by the true one.
  const el = 1, truthVol = s0.volume[0];
  const rec = async (ts: Float32Array) => sirtFast(ts, { nz: N, ny: N, nx: N, nCols: nC, angles: s0.angles, iterations: 30, minConstraint: 0, workers: 1 });
  const clean0 = s0.clean.slice(el * plane, (el + 1) * plane), clean1 = s1.clean.slice(el * plane, (el + 1) * plane);
  const colsUsed = Array.from(dc, (v, a) => tc[a] + res[a]);
  const rowsUsed = Array.from(al.rows, (v) => v - (Math.round(al.rows[0]) - tr[0]));
  const v0 = await rec(clean0), vj = await rec(clean1), va = await rec(applyShifts(clean1, N, nC, rowsUsed, colsUsed));
  const range = Math.max(...truthVol);
  const scale = (v: Float32Array) => { let a = 0, b = 0; for (let i = 0; i < v.length; i++) { a += v[i] * truthVol[i]; b += v[i] * v[i]; } return v.map((x) => (x * a) / b); };
  const p0 = psnr(scale(v0), truthVol, range), pj = psnr(scale(vj), truthVol, range), pa = psnr(scale(va), truthVol, range);
  assert.ok(pj < p0 - 1, `jitter should cost PSNR: ${pj} vs ${p0}`);
  assert.ok(pa > p0 - 0.2, `aligned PSNR ${pa.toFixed(2)} dB vs unjittered ${p0.toFixed(2)} dB (jittered ${pj.toFixed(2)})`);
});

test('projection matching reprojects a converged slice: the align bench\'s seed 2 (48 px, +-3 px jitter), 0.196 px and -0.36 dB with a slice restarted from zero every round, is aligned to 0.05 px and within 0.2 dB', async () => {
  const N = 48, nC = 60, base = { phantom: { size: N }, geometry: { angles: '-70:70:5', nCols: nC } };
  const s0 = await simulateSample(validateSimulationConfig(base), 2, 0), s1 = await simulateSample(validateSimulationConfig({ ...base, acquisition: { jitter: 3 } }), 2, 0);
  const nA = s1.angles.length, plane = nA * N * nC, tr = s1.params.jitter!.rows, tc = s1.params.jitter!.cols;
  const g = fixGauge(alignTiltSeries(s1.clean.slice(0, plane), N, nC, s1.angles), { rows: tr, cols: tc }, s1.angles);
  const err = Math.max(...Array.from(g.cols, (v, a) => Math.abs(v - tc[a])));
  assert.ok(err < 0.05, `worst column error ${err.toFixed(3)} px`);
  const truth = s0.volume[0], range = Math.max(...truth);
  const rec = (ts: Float32Array) => sirtFast(ts, { nz: N, ny: N, nx: N, nCols: nC, angles: s0.angles, iterations: 30, minConstraint: 0, workers: 1 });
  const scale = (v: Float32Array) => { let a = 0, b = 0; for (let i = 0; i < v.length; i++) { a += v[i] * truth[i]; b += v[i] * v[i]; } return v.map((x) => (x * a) / b); };
  const p0 = psnr(scale(await rec(s0.clean.slice(plane, 2 * plane))), truth, range), pa = psnr(scale(await rec(applyAlignment(s1.clean.slice(plane, 2 * plane), N, nC, g))), truth, range);
  assert.ok(pa > p0 - 0.2, `aligned ${pa.toFixed(2)} dB vs unjittered ${p0.toFixed(2)} dB`);
});

test('a tilt-axis offset is found to 0.2 px; shifts files round-trip; bad lines are named', async () => {
  const cfg = validateSimulationConfig({ phantom: { size: 32 }, geometry: { angles: '-70:70:5', nCols: 48 } });
  const s = await simulateSample(cfg, 3, 0);
  const N = 32, nC = 48, nA = s.angles.length;
  const { Projector, makeGeometry } = await import('../../generators/projection/index.ts');
  const pr = new Projector(makeGeometry({ angles: s.angles, nz: N, ny: N, nx: N, nCols: nC, axisOffset: 2.2 }), { workers: 1 });
  let sum = new Float32Array(nA * N * nC);
  for (const v of s.volume) { const p = await pr.forward(v); sum = sum.map((x, i) => x + p[i]); }
  const al = alignTiltSeries(sum, N, nC, s.angles);
  assert.ok(Math.abs(al.axisOffset - 2.2) < 0.2, `axis offset ${al.axisOffset}`);
  const back = parseShifts(formatShifts(s.angles, al), nA, 'x.txt');
  assert.ok(Math.abs(back.axisOffset - al.axisOffset) < 1e-3 && Math.abs(back.cols[3] - al.cols[3]) < 1e-3);
  assert.throws(() => parseShifts('0 1\n', 1, 'bad.txt'), /bad.txt:1/);
  assert.throws(() => parseShifts('0 1 2\n', 2, 'bad.txt'), /1 shift lines but the tilt series has 2/);
});

test('a small in-plane rotation is found to 0.2 degrees and undone with the shifts; a symmetric criterion has its minimum at the truth', async () => {
  const cfg = validateSimulationConfig({ phantom: { size: 32 }, geometry: { angles: '-70:70:10', nCols: 48 } });
  const s = await simulateSample(cfg, 3, 0);
  const N = 32, nC = 48, nA = s.angles.length, plane = nA * N * nC;
  const h = s.clean.slice(0, plane), zero = new Float64Array(nA);
  for (const phi of [2, -1.3]) {
    // Content turned by +phi: applyAlignment undoes a rotation, so turning by -phi's undo makes it.
    const rot = applyAlignment(h, N, nC, { rows: zero, cols: zero, axisOffset: 0, rotationDeg: -phi });
    const e = estimateRotation(rot, N, nC, s.angles, { maxDeg: 4 });
    assert.ok(Math.abs(e.rotationDeg - phi) < 0.2, `rotation ${phi}: estimated ${e.rotationDeg}`);
    const k0 = e.grid.indexOf(0), kt = e.grid.indexOf(Math.round(phi * 2) / 2);
    assert.ok(e.criterion[kt] < e.criterion[k0] / 2, 'the criterion should drop towards the true rotation');
  }
  // Rotation then integer shifts, undone in one interpolation: the rotation found, the shifts recovered up to the gauge.
  const rows = Float64Array.from({ length: nA }, (_, a) => ((a * 7) % 5) - 2), cols = Float64Array.from({ length: nA }, (_, a) => ((a * 3) % 5) - 2);
  const rot = applyAlignment(h, N, nC, { rows: zero, cols: zero, axisOffset: 0, rotationDeg: -1.5 });
  const moved = applyShifts(rot, N, nC, rows.map((v) => -v), cols.map((v) => -v));
  const al = alignTiltSeries(moved, N, nC, s.angles, { maxRotationDeg: 3 });
  assert.ok(Math.abs(al.rotationDeg! - 1.5) < 0.2, `rotation with shifts: ${al.rotationDeg}`);
  const dr = Array.from(al.rows, (v, a) => Math.round(v) - rows[a]);
  assert.ok(dr.every((v) => v === dr[0]), `row shifts under rotation: ${dr}`);
  const back = parseShifts(formatShifts(s.angles, al), nA, 'r.txt');
  assert.ok(Math.abs(back.rotationDeg! - al.rotationDeg!) < 1e-3);
  assert.throws(() => parseShifts('# rotation_deg 60\n0 0 0\n', 1, 'r.txt'), /rotation_deg must be/);
});

test('the commands\' resolver: --axis-offset alone keeps the data for the geometry or centres the axis; --shifts applies a file; bad combinations are named', async () => {
  const { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'align-cli-'));
  try {
    const nA = 3, R = 4, C = 8, angles = [-30, 0, 30];
    const ts = Float32Array.from({ length: nA * R * C }, (_, i) => (i % C) + 10 * Math.floor(i / (R * C)));
    const t = { series: [ts], angles, nRows: R, nCols: C };
    const g = alignSeries({ 'axis-offset': 2 }, t, {});
    assert.is(g.series[0], ts);
    assert.is(g.axisOffset, 2);
    const c = alignSeries({ 'axis-offset': 2 }, t, { centreAxis: true });
    assert.is(c.axisOffset, 0);
    assert.is(c.series[0][1], ts[3], 'centring moves the content by -2 columns');
    const f = join(dir, 's.txt');
    writeFileSync(f, '# axis_offset 0\n-30 1 0\n0 0 0\n30 0 -1\n');
    const sh = alignSeries({ shifts: f }, t, { defaultShiftsFile: join(dir, 'never.txt') });
    assert.is(sh.series[0][0], ts[C], 'row shift 1 undone');
    assert.ok(!existsSync(join(dir, 'never.txt')), '--shifts writes no shifts file');
    assert.throws(() => alignSeries({ shifts: f, align: true }, t, {}), /shifts: give either/);
    assert.throws(() => alignSeries({ 'axis-offset': 9 }, t, {}), /axis-offset: must be a number of columns in \[-4, 4\]/);
    assert.throws(() => alignSeries({ 'align-rotation': 3 }, t, {}), /align-rotation: with --align/);
    assert.throws(() => alignSeries({ shifts: join(dir, 'none.txt') }, t, {}), /shifts: .*none.txt: cannot be read/);
    // --align writes its file; the eval source wrapper aligns each sample's clean series and passes the rest through.
    const cfg = validateSimulationConfig({ phantom: { size: 32 }, geometry: { angles: '-60:60:20', nCols: 40 }, acquisition: { jitter: 2 } });
    const smp = await simulateSample(cfg, 5, 0);
    const plane = smp.angles.length * 32 * 40;
    const out = join(dir, 'a_shifts.txt');
    const r = alignSeries({ align: true }, { series: [smp.clean.slice(plane, 2 * plane)], haadf: smp.clean.slice(0, plane), angles: smp.angles, nRows: 32, nCols: 40 }, { defaultShiftsFile: out });
    assert.ok(existsSync(out) && /axis_offset/.test(readFileSync(out, 'utf8')) && r.message!.includes(out));
    const src = { channels: ['HAADF', 'Au'], angles: smp.angles, shape: { size: 32, nCols: 40 }, other: 7, readSample: async (_i: number) => ({ clean: smp.clean.slice(0, 2 * plane), index: 0 }) };
    const wrapped = alignedSource(src, { align: true });
    assert.is(wrapped.other, 7);
    const ws = await wrapped.readSample(0);
    const expect = applyAlignment(smp.clean.slice(plane, 2 * plane), 32, 40, r.alignment!, { centreAxis: true });
    let d = 0;
    for (let i = 0; i < plane; i++) d = Math.max(d, Math.abs(ws.clean![plane + i] - expect[i]));
    assert.ok(d < 1e-4, `wrapped sample differs from the aligned series by ${d}`);
    assert.throws(() => alignedSource(src, { align: true, 'write-shifts': 'x' }), /write-shifts: eval/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
