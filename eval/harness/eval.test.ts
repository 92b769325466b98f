import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEvaluation, parseRecon } from './run.ts';
import { parseMethods } from './denoise.ts';
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

test('end to end on a tiny core-shell dataset: rows, physics trends, resume, report', async () => {
  const out = mkdtempSync(join(tmpdir(), 'nanodose-eval-'));
  try {
    const src = await coreShellSource({ size: 16, nAngles: 13, count: 5, splits: ['test', 'test', 'val', 'test', 'train'] });
    const opts = { data: src, methods: 'raw,gaussian,anscombe', doses: [2, 20, 200], recon: 'sirt:30', out, quiet: true, bootstrap: 200, tunePhantoms: 1 };
    const r1 = await runEvaluation(opts);
    // 3 phantoms x 3 doses x 3 methods, plus raw 2 decades above the sweep (2000 and 20000) for each phantom
    assert.is(r1.computed, 3 * 3 * 3 + 3 * 2);
    assert.equal(r1.summary.rawDoses.map((d) => +d.toPrecision(6)), [2, 20, 200, 2000, 20000]);
    const lines = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    // per block: 2 elements x 6 metrics + 1 shell_error row
    assert.is(lines.length - 1, 33 * (2 * 6 + 1));
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

test.run();
