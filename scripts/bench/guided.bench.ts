/**
 * The demo benchmark of the HAADF-guided U-Nets (issue 14): on the demo preset's data, at the demo's
 * training budget (12 epochs x 25 steps x 8 patches of 64 px, depth 4, 16 filters), train
 *   unet-supervised      single-channel, pooled over Au and Ag (the demo's)
 *   unet-n2n             single-channel, Noise2Noise on thinned stored counts (the demo's)
 *   unet-guided          HAADF + Au + Ag in, Au + Ag out, supervised (the demo's)
 *   unet-guided-n2n      the same network, n2n-thinning on the stored EDX counts, the stored HAADF whole
 * then evaluate raw, the tuned Gaussian and the four models with SIRT over the demo's dose sweep
 * (eval/harness runEvaluation, Gaussian as the reference method) and print, per element, the
 * dose-reduction factor at equal reconstruction PSNR (median over the sweep, 95 % bootstrap interval
 * over the test phantoms, eval/dose.ts bootstrapDrf via eval/report summarise) of each guided model
 *   against raw, against the Gaussian and against the single-channel U-Net of the same scheme.
 * DRF of A against B at the sweep dose d: D_B(q) / D_A(q) with q = A's mean PSNR at d (science.md
 * section 7). Goal (issue 14): guided >= 2x against the Gaussian on both elements.
 *
 *   npm run bench -- guided              (about 20-30 min on 2 loaded cores)
 *   BENCH_OUT=DIR                         keep the run there and reuse its finished stages
 *   BENCH_PHANTOMS=N BENCH_BOOTSTRAP=N    test phantoms (default 5) and bootstrap resamples (1000)
 *   BENCH_EPOCHS=N                        epochs of every model (default the demo's 12): the same for all
 *   BENCH_MODELS=unet-supervised,...      train and compare only these (default the four above)
 *   BENCH_VARIANTS='{"NAME": {...}}'      also variants of unet-guided (option overrides; "scheme" for n2n variants)
 *   --quick                               2 epochs, 2 phantoms, 3 doses: a smoke run, figures not meaningful
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPreset, type Preset } from '../pipeline/presets.ts';
import type { Scheme } from '../../training/index.ts';
import { runPipeline } from '../pipeline/run.ts';
import { readRecord } from '../../eval/report/merge.ts';
import { openResults } from '../../eval/harness/results.ts';
import { summarise, formatDrf, type Summary } from '../../eval/report/summary.ts';

const quick = process.argv.includes('--quick');
const keep = process.env.BENCH_OUT;
const out = keep ?? mkdtempSync(join(tmpdir(), 'nanodose-guided-bench-'));
const demo = getPreset('demo');
const n2n = demo.train.find((s) => s.name === 'unet-n2n')!;
const guided = demo.train.find((s) => s.name === 'unet-guided')!;
const preset: Preset = {
  ...demo,
  name: 'guided-bench',
  describe: 'demo data and budget: single-channel and HAADF-guided U-Nets, supervised and n2n-thinning',
  train: [
    ...demo.train.filter((s) => ['unet-supervised', 'unet-n2n', 'unet-guided'].includes(s.name)),
    // the guided network at unet-n2n's scheme and settings
    { name: 'unet-guided-n2n', scheme: 'n2n-thinning', options: { ...n2n.options, inputs: guided.options.inputs, outputs: guided.options.outputs } },
  ],
  eval: {
    ...demo.eval, baselines: ['gaussian'], joint: [],
    phantoms: Number(process.env.BENCH_PHANTOMS ?? demo.eval.phantoms), bootstrap: Number(process.env.BENCH_BOOTSTRAP ?? demo.eval.bootstrap),
  },
};
const epochs = process.env.BENCH_EPOCHS ? Number(process.env.BENCH_EPOCHS) : undefined;
if (epochs !== undefined) for (const s of preset.train) s.options = { ...s.options, epochs };
// Variants of the demo's guided U-Net, compared in one process: BENCH_VARIANTS='{"name": {option overrides}, ...}',
// e.g. '{"g-poisson": {"loss": "poisson"}}'; a "scheme" key picks the scheme (default supervised).
if (process.env.BENCH_VARIANTS) {
  const v = JSON.parse(process.env.BENCH_VARIANTS) as Record<string, Record<string, unknown>>;
  for (const [name, o] of Object.entries(v)) {
    const { scheme, ...rest } = o as { scheme?: Scheme } & Record<string, unknown>;
    const base = scheme && scheme !== 'supervised' ? preset.train.find((s) => s.name === 'unet-guided-n2n')! : guided;
    preset.train.push({ name, scheme: scheme ?? 'supervised', options: { ...base.options, ...(epochs !== undefined ? { epochs } : {}), ...rest } });
  }
}
if (process.env.BENCH_MODELS) {
  const want = process.env.BENCH_MODELS.split(',').map((m) => m.trim());
  for (const m of want) if (!preset.train.some((s) => s.name === m)) throw new Error(`BENCH_MODELS: unknown model '${m}'; allowed: ${preset.train.map((s) => s.name).join(', ')}`);
  preset.train = preset.train.filter((s) => want.includes(s.name));
}
if (quick) {
  for (const s of preset.train) s.options = { ...s.options, epochs: 2, stepsPerEpoch: 5 };
  preset.eval = { ...preset.eval, phantoms: 2, doses: '30:3000:3', bootstrap: 100 };
}

try {
  const r = await runPipeline({ preset, out, quiet: false });
  const reportDir = join(out, 'report');
  const rec = readRecord(reportDir);
  const rows = openResults(join(reportDir, 'results.csv'));
  const base = {
    doses: rec.doses, rawDoses: rec.rawDoses, methods: rec.methods, elements: rec.elements, phantoms: rec.phantoms, drfMetric: rec.drfMetric,
    bootstrap: rec.bootstrap, seed: rec.seed, nAngles: rec.nAngles, recon: rec.recon, tuning: {}, split: rec.split,
  };
  const against = (ref: string): Summary => summarise(rows, { ...base, reference: { method: ref, doses: ref === rec.reference?.method ? rec.reference.doses : rec.doses } });
  const has = (m: string) => rec.methods.includes(m);
  const variants = rec.methods.filter((m) => !['raw', 'gaussian', 'unet-supervised', 'unet-n2n', 'unet-guided', 'unet-guided-n2n'].includes(m));
  const vsGauss = against('gaussian');
  const vsUnet = has('unet-supervised') ? against('unet-supervised') : null, vsN2n = has('unet-n2n') ? against('unet-n2n') : null;
  const elements = rec.elements.filter((e) => !e.includes('/'));
  const metric = rec.drfMetric.toUpperCase();
  console.log(`\nguided bench (loaded machine): DRF at equal reconstruction ${metric} (median over the sweep ${rec.doses.map((d) => d.toPrecision(3)).join(', ')} e/A^2; 95 % bootstrap over ${rec.phantoms.length} test phantoms)`);
  const line = (m: string, ref: string, s: Summary, e: string) => {
    const h = ref === 'raw' ? s.headline[m]?.[e] : s.vsReference?.headline[m]?.[e];
    return `  ${m.padEnd(16)} vs ${ref.padEnd(16)} ${e.padEnd(3)} ${formatDrf(h).replace(/raw's/g, `${ref}'s`)}`;
  };
  for (const e of elements) {
    console.log(`\n${e}:`);
    for (const m of ['gaussian', 'unet-supervised', 'unet-n2n', 'unet-guided', 'unet-guided-n2n', ...variants].filter(has)) console.log(line(m, 'raw', vsGauss, e));
    for (const m of ['unet-supervised', 'unet-n2n', 'unet-guided', 'unet-guided-n2n', ...variants].filter(has)) console.log(line(m, 'gaussian', vsGauss, e));
    if (vsUnet && has('unet-guided')) console.log(line('unet-guided', 'unet-supervised', vsUnet, e));
    if (vsN2n && has('unet-guided-n2n')) console.log(line('unet-guided-n2n', 'unet-n2n', vsN2n, e));
  }
  console.log(`\nmean ${metric} over the sweep (dB), per dose:`);
  for (const e of elements) for (const m of rec.methods) {
    const c = vsGauss.curves[m]?.[e]?.[rec.drfMetric];
    if (!c) continue;
    const at = rec.doses.map((d) => c.mean[c.doses.indexOf(d)]);
    console.log(`  ${e.padEnd(3)} ${m.padEnd(16)} ${(at.reduce((a, v) => a + v, 0) / at.length).toFixed(2)}   [${at.map((v) => v.toFixed(2)).join(', ')}]`);
  }
  console.log('\nmodels:');
  for (const m of r.models) console.log(`  ${m.name.padEnd(16)} best epoch ${m.bestEpoch}, validation PSNR ${m.valPsnr?.toFixed(2) ?? 'n/a'} dB (noisy ${m.noisyPsnr?.toFixed(2) ?? 'n/a'})`);
  // The self-supervised checkpoint criterion (held-out deviance, no clean data) against the clean PSNR it never sees (issue 14: within 0.3 dB).
  for (const m of r.models) {
    const log = readFileSync(join(m.dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; psnr?: number; heldoutDeviance?: number });
    if (!log.every((e) => e.heldoutDeviance !== undefined && e.psnr !== undefined)) continue;
    const pick = log.reduce((b, e) => (e.heldoutDeviance! < b.heldoutDeviance! ? e : b)), top = log.reduce((b, e) => (e.psnr! > b.psnr! ? e : b));
    console.log(`  ${m.name.padEnd(16)} held-out deviance picks epoch ${pick.epoch} (clean PSNR ${pick.psnr!.toFixed(2)} dB); best clean-PSNR epoch ${top.epoch} (${top.psnr!.toFixed(2)} dB): ${(top.psnr! - pick.psnr!).toFixed(2)} dB below`);
  }
  console.log(`time (loaded): generate ${r.seconds.generate.toFixed(0)} s, train ${r.seconds.train.toFixed(0)} s, evaluate ${r.seconds.eval.toFixed(0)} s`);
} finally {
  if (!keep) rmSync(out, { recursive: true, force: true });
}
