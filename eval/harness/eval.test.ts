import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEvaluation, evaluateShard, parseRecon, drawHaadf } from './run.ts';
import { mergeShards } from '../report/merge.ts';
import { SliceMatrixOperator } from '../recon/joseph-matrix.ts';
import { haadfCoefficients, haadfScatteredFraction, incidentElectronsPerPixel, validateAcquisitionConfig } from '../../generators/signal/index.ts';
import { parseMethods } from './denoise.ts';
import { JOINT_GRIDS } from './methods.ts';
import { coreShellSource } from './testing.ts';
import { runProtocols, protocolSchemes } from './protocols.ts';

test('option errors name the field', () => {
  assert.throws(() => parseMethods('raw,wiener'), /methods: unknown method 'wiener'/);
  assert.equal(parseMethods('raw,n2n=model:runs/m/unet-n2n,model:/abs/m'), [
    { name: 'raw', kind: 'raw' }, { name: 'n2n', kind: 'model', path: 'runs/m/unet-n2n' }, { name: 'model:/abs/m', kind: 'model', path: '/abs/m' },
  ]);
  assert.throws(() => parseMethods('a b=model:x'), /unknown method/);
  assert.throws(() => parseRecon('sirt:0'), /SIRT iterations/);
  assert.throws(() => parseRecon('fbp:cosine'), /FBP filter/);
  assert.throws(() => parseRecon('art'), /recon: expected/);
});

async function rejects(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  try { await f(); } catch (e) { assert.match((e as Error).message, re); return; }
  assert.unreachable(`expected a rejection matching ${re}`);
}

test('method names: joint methods, DENOISER+JOINT, labels; bad names fail naming the method', () => {
  assert.equal(parseMethods('fused,gaussian+fused:20,tnv:10:0.05,jb=bimodal:15'), [
    { name: 'fused', kind: 'raw', volume: { method: 'fused', args: [] } },
    { name: 'gaussian+fused:20', kind: 'baseline', baseline: 'gaussian', volume: { method: 'fused', args: ['20'] } },
    { name: 'tnv:10:0.05', kind: 'raw', volume: { method: 'tnv', args: ['10', '0.05'], fixed: 0.05 } },
    { name: 'jb', kind: 'raw', volume: { method: 'bimodal', args: ['15'] } },
  ]);
  assert.equal(parseMethods('u=model:runs/a+b/m+fused')[0], { name: 'u', kind: 'model', path: 'runs/a+b/m', volume: { method: 'fused', args: [] } });
  assert.throws(() => parseMethods('raw,fuzed'), /methods: unknown method 'fuzed'; allowed: .*fused/);
  assert.throws(() => parseMethods('wiener+fused'), /'wiener' is not a denoiser/);
  assert.throws(() => parseMethods('fused:0'), /methods: 'fused:0': fused iterations must be an integer/);
  assert.throws(() => parseMethods('bimodal:10:2'), /bimodal alpha/);
  assert.throws(() => parseMethods('gaussian=fused'), /label 'gaussian' is a built-in/);
  assert.throws(() => parseMethods('fused,fused'), /'fused' is listed twice/);
});

test('a bad method name fails before any work: nothing written', async () => {
  const out = join(tmpdir(), `nanodose-eval-bad-${process.pid}`);
  const src = await coreShellSource({ size: 8, nAngles: 5, count: 2, splits: ['test', 'val'] });
  await rejects(() => runEvaluation({ data: src, methods: 'raw,gaussian+fusd', doses: [10], out, quiet: true }), /unknown method 'gaussian\+fusd'/);
  assert.not.ok(existsSync(out), 'no output folder');
  // a joint method on a source without the HAADF physics: refused before the folder is made
  const bare = { ...src, config: undefined };
  await rejects(() => runEvaluation({ data: bare, methods: 'fused', doses: [10], out, quiet: true }), /data: method fused needs the dataset's acquisition config/);
  assert.not.ok(existsSync(out), 'no output folder');
});

test('the HAADF at a sweep dose is Poisson with mean N0 x scattered fraction, N0 = dose x a^2 (z-tests at 5 sigma)', async () => {
  const N = 12, nA = 7, pixelNm = 1;
  const src = await coreShellSource({ size: N, nAngles: nA, count: 1, splits: ['test'], pixelSizeNm: pixelNm });
  const s = await src.readSample(0);
  // independent expectation: thickness from the phantom's projections, the generators' scattered fraction
  const op = new SliceMatrixOperator(N, N, N, src.angles, src.shape.nCols);
  const V = N * N * N, plane = nA * N * src.shape.nCols, a = pixelNm * 10;
  const pa = await op.forward(s.phantom!.subarray(0, V)), pp = await op.forward(s.phantom!.subarray(V));
  const acq = validateAcquisitionConfig((src.config as { simulation: { acquisition: unknown } }).simulation.acquisition);
  const mu = haadfCoefficients(src.elements, acq);
  for (const dose of [3, 300]) {
    const N0 = incidentElectronsPerPixel(dose, a);
    let sumDev = 0, sumLam = 0, sumSq = 0, sumVarSq = 0, max = 0;
    for (const seed of [11, 12, 13]) {
      const h = drawHaadf(s.clean!, 0, plane, dose / s.dosePerProjection, seed, 0, dose);
      for (let i = 0; i < plane; i++) {
        const lam = N0 * haadfScatteredFraction(mu, [a * pa[i], a * pp[i]]);
        const d = h[i] - lam;
        sumDev += d; sumLam += lam;
        sumSq += d * d - lam; sumVarSq += 2 * lam * lam + lam; // Var((X - l)^2) for Poisson X
        max = Math.max(max, h[i] / N0);
        assert.ok(Number.isInteger(h[i]) && h[i] >= 0, 'counts');
      }
    }
    assert.ok(sumLam > 100, `enough signal at dose ${dose}: ${sumLam}`);
    const zMean = sumDev / Math.sqrt(sumLam), zVar = sumSq / Math.sqrt(sumVarSq);
    assert.ok(Math.abs(zMean) < 5, `dose ${dose}: mean z ${zMean}`);
    assert.ok(Math.abs(zVar) < 5, `dose ${dose}: variance z ${zVar}`);
    assert.ok(max <= 1, `no pixel records more electrons than the beam brings (${max} N0)`);
  }
  // the draw depends on the seed, phantom and dose only
  assert.equal(drawHaadf(s.clean!, 0, plane, 30, 5, 0, 30), drawHaadf(s.clean!, 0, plane, 30, 5, 0, 30));
});

test('joint methods through runEvaluation: fused and gaussian+fused in results, summary (DRF vs raw and vs gaussian), tuning and slices', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nanodose-eval-joint-'));
  try {
    const src = await coreShellSource({ size: 12, nAngles: 9, count: 3, splits: ['test', 'val', 'test'], pixelSizeNm: 1 });
    const r = await runEvaluation({ data: src, methods: 'raw,gaussian,fused:8,gaussian+fused:8,tnv:6:0.05', doses: [5, 50], recon: 'sirt:20', out, quiet: true, bootstrap: 50, tunePhantoms: 1, rawExtraDecades: 1 });
    const lines = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    for (const m of ['fused:8', 'gaussian+fused:8', 'tnv:6:0.05']) {
      for (const e of ['Au', 'Pd']) assert.ok(lines.some((l) => l[2] === m && l[3] === e && l[4] === 'psnr' && Number.isFinite(Number(l[5]))), `${m} ${e} psnr row`);
      assert.ok(r.summary.curves[m].Au.psnr.mean.every(Number.isFinite), `${m} curve`);
      assert.ok(r.summary.headline[m], `${m} has a DRF vs raw`);
      assert.ok(r.summary.vsReference!.headline[m], `${m} has a DRF vs gaussian`);
      assert.ok(existsSync(join(out, 'slices', `0_5_${m.replace(/[^A-Za-z0-9._-]/g, '_')}_Au.f32`)), `${m} slice`);
    }
    assert.is(r.summary.vsReference!.method, 'gaussian');
    assert.is(r.summary.reconstructions!['gaussian+fused:8'], 'fused:8');
    assert.is(r.summary.reconstructions!.gaussian, 'sirt:20');
    // the TV weight tuned per dose on the validation phantom (a grid value), the fixed TNV weight not tuned
    const tuning = JSON.parse(readFileSync(join(out, 'tuning.json'), 'utf8'));
    for (const d of ['5', '50']) {
      assert.ok(JOINT_GRIDS.fused.grid.includes(tuning[d]['fused:8']), JSON.stringify(tuning[d]));
      assert.ok(JOINT_GRIDS.fused.grid.includes(tuning[d]['gaussian+fused:8']));
      assert.is(tuning[d]['tnv:6:0.05'], undefined);
    }
    assert.equal((r.summary.tuning as Record<string, unknown>)['5'], tuning['5']);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.ok(html.includes('gaussian+fused:8'), 'report names the joint method');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('end to end on a tiny core-shell dataset: rows, physics trends, resume, report', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nanodose-eval-'));
  try {
    const src = await coreShellSource({ size: 16, nAngles: 13, count: 5, splits: ['test', 'test', 'val', 'test', 'train'] });
    const opts = { data: src, methods: 'raw,gaussian,anscombe', doses: [2, 20, 200], recon: 'sirt:30', out, quiet: true, bootstrap: 200, tunePhantoms: 1 };
    const r1 = await runEvaluation(opts);
    // 3 phantoms x 3 doses x 3 methods, plus raw 2 decades above the sweep (2000 and 20000) and the
    // reference (gaussian) one decade above it (2000) for each phantom
    assert.is(r1.computed, 3 * 3 * 3 + 3 * 2 + 3);
    assert.equal(r1.summary.vsReference!.doses.map((d) => +d.toPrecision(6)), [2, 20, 200, 2000]);
    assert.ok(r1.summary.vsReference!.headline.anscombe, 'anscombe has a DRF against gaussian');
    assert.equal(r1.summary.rawDoses.map((d) => +d.toPrecision(6)), [2, 20, 200, 2000, 20000]);
    const lines = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    // per block: 2 elements x 6 metrics + 1 shell_error row
    assert.is(lines.length - 1, 36 * (2 * 6 + 1));
    const s = r1.summary;
    const raw = s.curves.raw.Au.psnr.mean;
    assert.ok(raw[0] < raw[1] && raw[1] < raw[2], `raw PSNR should rise with dose: ${raw}`);
    const rawMap = s.curves.raw.Pd.map_psnr.mean, gMap = s.curves.gaussian.Pd.map_psnr.mean;
    assert.ok(gMap[0] > rawMap[0], `Gaussian should improve the maps at the lowest dose: ${gMap[0]} vs ${rawMap[0]}`);
    assert.ok(s.curves.raw.Au.nrmse.mean[2] < s.curves.raw.Au.nrmse.mean[0]);
    assert.ok(Array.isArray(s.drf.gaussian.Au));
    for (const p of s.drf.gaussian.Au) assert.ok(p.low <= p.factor + 1e-9 && p.factor <= p.high + 1e-9, JSON.stringify(p));
    assert.ok(existsSync(join(out, 'plots', 'psnr.svg')) && existsSync(join(out, 'plots', 'psnr.png')));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.ok(html.includes('data:image/png;base64,') && html.includes('Dose-reduction factor'));
    assert.ok(!/src="(?!data:)/.test(html), 'report is self-contained');
    // Resume: nothing recomputed; drop one block and a half line, only that block is recomputed, identically.
    const r2 = await runEvaluation({ ...opts, report: false });
    assert.is(r2.computed, 0);
    const text = readFileSync(join(out, 'results.csv'), 'utf8');
    const all = text.trim().split('\n');
    const victim = all.filter((l) => l.startsWith('3,200,anscombe,'));
    assert.is(victim.length, 13);
    const kept = all.filter((l) => !l.startsWith('3,200,anscombe,'));
    writeFileSync(join(out, 'results.csv'), kept.join('\n') + '\n3,200,ansc');
    const r3 = await runEvaluation({ ...opts, report: false });
    assert.is(r3.computed, 1);
    const again = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').filter((l) => l.startsWith('3,200,anscombe,'));
    assert.equal(again, victim, 'recomputed block is identical (seeded noise per phantom and dose)');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('an element a phantom does not contain is not scored: no rows, left out of the means and the DRF', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nanodose-eval-solid-'));
  try {
    const src = await coreShellSource({ size: 16, nAngles: 9, count: 4, splits: ['test', 'test', 'test', 'val'], solidShell: [1] });
    const r = await runEvaluation({ data: src, methods: 'raw,gaussian', doses: [5, 50, 500], recon: 'sirt:20', out, quiet: true, bootstrap: 50, tunePhantoms: 1, rawExtraDecades: 1, report: false });
    const lines = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    assert.is(lines.filter((l) => l[0] === '1' && l[3] === 'Au').length, 0, 'solid Pd phantom: no Au rows');
    assert.ok(lines.filter((l) => l[0] === '1' && l[3] === 'Pd').length > 0, 'solid Pd phantom: Pd rows');
    assert.is(lines.filter((l) => l[0] === '1' && l[4] === 'shell_error').length, 0, 'no shell for a solid particle');
    assert.ok(lines.every((l) => l[5] !== '' && Number.isFinite(Number(l[5]))), 'every stored value is a number');
    assert.equal(r.summary.curves.raw.Au.psnr.n.slice(0, 3), [2, 2, 2]);
    assert.equal(r.summary.curves.raw.Pd.psnr.n.slice(0, 3), [3, 3, 3]);
    assert.ok(r.summary.drf.gaussian.Au.length > 0, 'the DRF for Au comes from the two phantoms that contain Au');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('haadf-quant through runEvaluation: HAADF-only rows (no map metrics) in results and summary; the Au/Pt ill-conditioning warning in warnings.json, summary.json and the report', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nanodose-eval-hq-'));
  try {
    const src = await coreShellSource({ size: 16, nAngles: 13, count: 2, splits: ['test', 'val'], pixelSizeNm: 1, elements: [{ symbol: 'Au', Z: 79 }, { symbol: 'Pt', Z: 78 }] });
    const r = await runEvaluation({ data: src, methods: 'raw,haadf-quant,hqp=haadf-quant:physical', doses: [20, 200], recon: 'sirt:20', out, quiet: true, bootstrap: 20, tunePhantoms: 0, rawExtraDecades: 0 });
    const lines = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    for (const m of ['haadf-quant', 'hqp']) for (const e of ['Au', 'Pt']) {
      const mine = lines.filter((l) => l[2] === m && l[3] === e);
      assert.equal([...new Set(mine.map((l) => l[4]))].sort(), ['dice', 'nrmse', 'psnr', 'ssim3d'], `${m} ${e}: volume metrics only (no EDX maps)`);
      assert.ok(mine.every((l) => Number.isFinite(Number(l[5]))));
    }
    assert.ok(r.summary.curves['haadf-quant'].Au.psnr.mean.every(Number.isFinite));
    assert.is(r.summary.reconstructions!['haadf-quant'], 'haadf-quant');
    const w = r.summary.warnings!['haadf-quant'];
    const ill = w.find((x) => /Au\/Pt is ill-conditioned.*Z ratio 78\/79 = 0\.987/.test(x.message));
    assert.ok(ill, JSON.stringify(w));
    assert.equal(ill!.doses, [20, 200]);
    assert.is(ill!.blocks, 2);
    assert.ok(r.summary.warnings!.hqp.some((x) => /ill-conditioned/.test(x.message)));
    assert.is(r.summary.warnings!.raw, undefined);
    const onDisk = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(onDisk.warnings, r.summary.warnings);
    assert.ok(Object.keys(JSON.parse(readFileSync(join(out, 'warnings.json'), 'utf8'))).includes('0|20|haadf-quant'));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /id="warnings"/);
    assert.match(html, /<b>haadf-quant<\/b>: Au\/Pt is ill-conditioned/);
    // resumed: nothing recomputed, the warnings still in the summary
    const again = await runEvaluation({ data: src, methods: 'raw,haadf-quant,hqp=haadf-quant:physical', doses: [20, 200], recon: 'sirt:20', out, quiet: true, bootstrap: 20, tunePhantoms: 0, rawExtraDecades: 0, report: false });
    assert.is(again.computed, 0);
    assert.equal(again.summary.warnings, r.summary.warnings);
    // two shards merged: the same warnings as the single run
    const opts = { data: src, methods: 'raw,haadf-quant,hqp=haadf-quant:physical', doses: [20, 200], recon: 'sirt:20', quiet: true, bootstrap: 20, tunePhantoms: 0, rawExtraDecades: 0 };
    for (const i of [0, 1]) await evaluateShard({ ...opts, out: join(out, `p${i}`), shard: { index: i, count: 2 } });
    const merged = await mergeShards([join(out, 'p0'), join(out, 'p1')], join(out, 'm'), { quiet: true, report: false });
    assert.equal(merged.summary.warnings, r.summary.warnings);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('haadf-quant: a denoiser before it and a bad calibration are refused with one line, before any work', async () => {
  assert.throws(() => parseMethods('raw,gaussian+haadf-quant'), /^methods: 'gaussian\+haadf-quant': haadf-quant reads only the HAADF, so a denoiser of the EDX maps before it changes nothing; list 'haadf-quant' alone$/);
  assert.throws(() => parseMethods('haadf-quant:k'), /^methods: 'haadf-quant:k': calibration: expected 'haadf-quant' .* or 'haadf-quant:physical'/);
  assert.equal(parseMethods('haadf-quant:physical')[0], { name: 'haadf-quant:physical', kind: 'raw', volume: { method: 'haadf-quant', args: ['physical'] } });
  const out = join(mkdtempSync(join(tmpdir(), 'nanodose-eval-hqbad-')), 'run');
  const src = await coreShellSource({ size: 8, nAngles: 5, count: 1, splits: ['test'] });
  await rejects(() => runEvaluation({ data: src, methods: 'raw,median+haadf-quant', doses: [10], out, quiet: true }), /reads only the HAADF/);
  assert.not.ok(existsSync(out), 'nothing written');
});

test('protocol mode at fixed total dose: schemes, larger solid angle scores better, best reported', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nanodose-proto-'));
  try {
    const src = await coreShellSource({ size: 12, nAngles: 13, count: 2, splits: ['test'] });
    const schemes = protocolSchemes(src.angles);
    assert.ok(schemes.some((s) => s.angleIdx.length === 7) && schemes.some((s) => s.name.includes('range45')));
    const r = await runProtocols({ data: src, methods: 'raw', recon: 'sirt:20', out, totalDose: 13 * 5, quiet: true });
    assert.is(r.results.length, schemes.length);
    const om = (x: number) => r.results.find((q) => q.solidAngle === x)!.score;
    assert.ok(om(4) > om(0.5), `solid angle x4 ${om(4)} vs x0.5 ${om(0.5)}`);
    for (const q of r.results) assert.ok(Math.abs(q.dosePerProjection * q.tilts - 65) < 1e-9);
    assert.ok(r.best.raw && existsSync(join(out, 'protocols.json')) && existsSync(join(out, 'protocols.png')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('protocol mode: HAADF-only (haadf-quant) against the best EDX method per scheme and element at equal dose; the solid angle changes only the EDX', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nanodose-proto-hq-'));
  try {
    const src = await coreShellSource({ size: 16, nAngles: 9, count: 1, splits: ['test'], pixelSizeNm: 1 });
    const r = await runProtocols({ data: src, methods: 'raw,haadf-quant', recon: 'sirt:15', out, totalDose: 9 * 200, quiet: true });
    const schemes = protocolSchemes(src.angles);
    assert.is(r.haadfVsEdx.length, schemes.length * 2, 'one comparison per scheme and element');
    for (const c of r.haadfVsEdx) {
      assert.is(c.haadfMethod, 'haadf-quant'); assert.is(c.edxMethod, 'raw');
      assert.is(c.winner, c.haadf > c.edx ? 'haadf' : 'edx');
    }
    // the same tilts at solid angle x0.5 and x4: the HAADF-only score is unchanged, raw EDX improves
    const at = (omega: number, el: string) => r.haadfVsEdx.find((c) => c.solidAngle === omega && c.element === el)!;
    for (const el of ['Au', 'Pd']) {
      assert.is(at(0.5, el).haadf, at(4, el).haadf);
      assert.ok(at(4, el).edx > at(0.5, el).edx, `${el}: raw EDX at x4 ${at(4, el).edx} vs x0.5 ${at(0.5, el).edx}`);
    }
    assert.ok(JSON.parse(readFileSync(join(out, 'protocols.json'), 'utf8')).haadfVsEdx.length === r.haadfVsEdx.length);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
