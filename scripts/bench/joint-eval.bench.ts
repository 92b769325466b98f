/**
 * Joint HAADF + EDX reconstruction in the dose-efficiency evaluation (issue 13), on the demo's data
 * and evaluation settings (scripts/pipeline/presets.ts: 64^3, 29 tilts, doses 30-3000 e/A^2 per
 * projection, SIRT 50 for the others) for two element pairs:
 *   Au/Ag (Z 79/47: the HAADF tells the elements apart) and Au/Pt (Z 79/78: it cannot; what fusion
 *   does there is the point of the second set).
 * For each set: the dataset (demo config, elements swapped), then the evaluation of raw and
 * Gaussian + SIRT (the reference run), then the same folder again with the joint methods added
 * (resume: only their blocks and their per-dose tuning are computed), so the joint methods' time
 * is a ratio against the reference run in the same process. Prints the DRF of every method against
 * raw SIRT and against Gaussian + SIRT per element, median over the sweep with its bootstrap 95 %
 * interval, and each joint method's tuned weight per dose. The machine is shared: times are "loaded".
 *
 *   npm run bench -- joint-eval
 *   BENCH_SETS=auag BENCH_JOINT=fused:20,gaussian+fused:20 BENCH_PHANTOMS=5 BENCH_DOSES=30:3000:3 BENCH_OUT=DIR npm run bench -- joint-eval
 *
 * haadf-quant (HAADF only, no EDX) is scored beside them; its warnings (Au/Pt ill-conditioning) are printed.
 *
 * Not a demo step: the demo (npm start) evaluates Au/Ag with fused (default weight) and haadf-quant only; this adds
 * the tuning, gaussian+fused, Au/Pt and bimodal/TNV, which would take the one-command demo past its 10-minute budget on 2 cores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { generateDataset } from '../../datasets/index.ts';
import { runEvaluation } from '../../eval/harness/run.ts';
import { formatDrf } from '../../eval/report/summary.ts';
import { demoDatasetConfig, getPreset } from '../pipeline/presets.ts';

const SETS: Record<string, string[]> = { auag: ['Au', 'Ag'], aupt: ['Au', 'Pt'] };
const sets = (process.env.BENCH_SETS ?? 'auag,aupt').split(',');
for (const s of sets) if (!SETS[s]) { console.error(`BENCH_SETS: unknown set '${s}'; allowed: ${Object.keys(SETS).join(', ')}`); process.exit(2); }
const joint = process.env.BENCH_JOINT ?? 'fused:20,gaussian+fused:20,bimodal:20,tnv:20,haadf-quant';
// BENCH_DOSES: a sweep other than the demo's (lo:hi:n, log-spaced); BENCH_LOG=1: the joint run's tuning and progress lines
const doses = process.env.BENCH_DOSES ?? undefined;
const log = process.env.BENCH_LOG === '1';
// the joint methods' weights are tuned here (on 1 validation phantom per dose) even where the demo uses the defaults
const jointTune = Number(process.env.BENCH_JOINT_TUNE ?? 1);
const phantoms = Number(process.env.BENCH_PHANTOMS ?? 5);
const demo = getPreset('demo');
const root = process.env.BENCH_OUT ?? mkdtempSync(join(tmpdir(), 'nanodose-joint-eval-'));
console.log(`joint methods in the evaluation: demo data and settings (${doses ?? demo.eval.doses} e/A^2 per projection, ${demo.eval.recon}, ${phantoms} test phantoms, tuning on ${demo.eval.tunePhantoms ?? 2} validation phantoms for the baselines and ${jointTune} for the joint methods); loaded machine, ${availableParallelism()} cores; folders in ${root}`);
try {
  for (const set of sets) {
    const data = join(root, `data-${set}`), out = join(root, `eval-${set}`);
    const t0 = performance.now();
    await generateDataset({ config: demoDatasetConfig(SETS[set]), count: demo.dataset.count, out: data, seed: demo.dataset.seed, resume: true, quiet: true });
    const base = { data, doses: doses ?? demo.eval.doses, recon: demo.eval.recon, out, maxPhantoms: phantoms, bootstrap: demo.eval.bootstrap, tunePhantoms: demo.eval.tunePhantoms, jointTunePhantoms: jointTune, quiet: true, report: false };
    const t1 = performance.now();
    const ref = await runEvaluation({ ...base, methods: 'raw,gaussian' });
    const t2 = performance.now();
    const r = await runEvaluation({ ...base, methods: `raw,gaussian,${joint}`, report: true, quiet: !log });
    const t3 = performance.now();
    const s = r.summary, els = s.elements.filter((e) => !e.includes('/'));
    console.log(`\n${SETS[set].join('/')}: dataset ${((t1 - t0) / 1000).toFixed(0)} s; evaluate raw + gaussian ${((t2 - t1) / 1000).toFixed(1)} s (${ref.computed} blocks); joint methods added ${((t3 - t2) / 1000).toFixed(1)} s (${r.computed} blocks + tuning), ${((t3 - t2) / (t2 - t1)).toFixed(2)}x the reference run`);
    for (const m of s.methods) console.log(`  mean ${s.drfMetric} over the sweep ${m.padEnd(20)} ${els.map((e) => { const c = s.curves[m][e][s.drfMetric]; const v = s.doses.map((d) => c.mean[c.doses.indexOf(d)]); return `${e} ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(2)}`; }).join('  ')}`);
    for (const m of s.methods.filter((x) => x !== 'raw')) for (const e of els) console.log(`  DRF vs raw SIRT        ${m.padEnd(20)} ${e.padEnd(3)} ${formatDrf(s.headline[m]?.[e])}`);
    const v = s.vsReference;
    if (v) for (const m of Object.keys(v.headline)) for (const e of els) console.log(`  DRF vs gaussian + SIRT ${m.padEnd(20)} ${e.padEnd(3)} ${formatDrf(v.headline[m]?.[e]).replace(/raw's/g, "gaussian's")}`);
    const tuned = s.methods.filter((m) => /fused|bimodal|tnv/.test(m));
    for (const m of tuned) console.log(`  tuned ${m}: ${s.doses.map((d) => `${Number(d.toPrecision(3))}: ${(s.tuning as Record<string, Record<string, number>>)[String(Number(d.toPrecision(6)))]?.[m] ?? 'fixed'}`).join(', ')}`);
    for (const [m, ws] of Object.entries(s.warnings ?? {})) for (const w of ws) console.log(`  warning ${m} (${w.blocks} blocks, at ${w.doses.map((d) => Number(d.toPrecision(3))).join(', ')}): ${w.message}`);
  }
} finally {
  if (!process.env.BENCH_OUT) rmSync(root, { recursive: true, force: true });
}
