/**
 * The main job, one command from phantoms to a dose-efficiency report (`nanodose run`):
 *
 *   1. generate   the preset's simulated dataset (train/val/test) into OUT/data      (datasets/)
 *   2. train      each of the preset's denoisers into OUT/models/<name>             (training/)
 *   3. evaluate   raw, the classical baselines and every model over the dose sweep:
 *                 noisy tilt series -> denoise -> SIRT -> scores, DRF vs raw       (eval/)
 *   4. report     OUT/report/report.html + plots, and the headline printed here.
 *
 * Every step is resumable: a finished dataset, a finished model and results already in
 * results.csv are reused, so an interrupted run picks up where it stopped (`--fresh` starts over).
 * This file sits in scripts/ because it is the only place allowed to use both training/ and eval/.
 */
import { existsSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { writeFileAtomic } from '../../core/atomic.ts';
import { startOverall } from '../../core/progress.ts';
import { getPreset, type Preset } from './presets.ts';
import { StageTimes } from '../../eval/stage-times.ts';

export interface PipelineOptions {
  preset: string | Preset;
  out: string;
  /** Remove OUT first (default: reuse what is finished). */
  fresh?: boolean;
  quiet?: boolean;
  /** Backend for training and model inference ('auto' default). */
  backend?: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
}

export interface HeadlineRow { method: string; element: string; factor: number | null; low: number | null; high: number | null; bound?: 'lower' | 'upper'; text: string }

export interface PipelineResult {
  out: string;
  report: string;
  headline: HeadlineRow[];
  /** DRF against the reference method (Gaussian + SIRT) where the evaluation has one. */
  vsReference: HeadlineRow[];
  /** Mean over test phantoms and doses of the DRF metric, per method and element. */
  meanQuality: Record<string, Record<string, number>>;
  drfMetric: string;
  seconds: { generate: number; train: number; eval: number; total: number };
  models: { name: string; scheme: string; dir: string; bestEpoch: number; valPsnr?: number; noisyPsnr?: number }[];
  /** Models trained by this call (the others were reused). */
  trained: string[];
  /** Evaluation blocks (phantom x dose x method) computed by this call (the others were in results.csv). */
  evalComputed: number;
}

const log = (quiet: boolean | undefined, msg: string) => { if (!quiet) console.log(msg); };
/** A path as the user would type it: relative to the current directory when inside it. */
const shown = (p: string) => { const q = relative(process.cwd(), p); return q && !q.startsWith('..') && !isAbsolute(q) ? q : p; };

/** Runs a preset end to end (see the module comment). */
export async function runPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const preset = typeof opts.preset === 'string' ? getPreset(opts.preset) : opts.preset;
  const out = resolve(opts.out);
  if (opts.fresh && existsSync(out)) rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const t0 = performance.now();
  // process CPU seconds over every thread per stage: on a shared machine the wall time says little, the CPU time less affected
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const c0 = cpu();
  const q = opts.quiet;
  log(q, `nanodose run --preset ${preset.name}: ${preset.describe}\n  output: ${shown(out)}`);
  // One ETA over every stage, shown beside each bar's own (core/progress).
  const w = preset.stageSeconds;
  const job = startOverall('run', [
    { name: 'generate', weight: w?.generate },
    ...preset.train.map((t) => ({ name: `train ${t.name}`, weight: w?.train })),
    { name: 'eval', weight: w?.eval },
  ]);
  try {

  // 1. dataset
  const dataDir = join(out, 'data');
  const { generateDataset, readManifest } = await import('../../datasets/index.ts');
  let needGenerate = true;
  if (existsSync(join(dataDir, 'manifest.json'))) {
    const m = readManifest(dataDir);
    needGenerate = !(m.finishedShards === m.shards.length && m.count === preset.dataset.count && JSON.stringify(m.seed) === JSON.stringify(preset.dataset.seed));
  }
  log(q, `\n[1/4] generate: ${preset.dataset.count} phantoms${needGenerate ? '' : ' (already complete, reused)'}`);
  if (!needGenerate) job.skip('generate');
  if (needGenerate) {
    job.begin('generate');
    const exists = existsSync(dataDir);
    await generateDataset({ config: preset.dataset.config, count: preset.dataset.count, out: shown(dataDir), seed: preset.dataset.seed, resume: exists, quiet: q });
  }
  const tGen = performance.now();
  const cGen = cpu();

  // 2. training
  const trainTimes = new StageTimes();
  const models: PipelineResult['models'] = [];
  const trained: string[] = [];
  if (preset.train.length) {
    const { train } = await import('../../training/index.ts');
    for (const [k, step] of preset.train.entries()) {
      const dir = join(out, 'models', step.name);
      const doneFile = join(dir, 'pipeline-done.json');
      const want = JSON.stringify({ scheme: step.scheme, options: step.options, data: preset.dataset });
      log(q, `\n[2/4] train ${k + 1}/${preset.train.length}: ${step.name} (${step.scheme})`);
      if (existsSync(doneFile) && JSON.parse(readFileSync(doneFile, 'utf8')).want === want) {
        const r = JSON.parse(readFileSync(doneFile, 'utf8')).result;
        log(q, `  already trained (best epoch ${r.bestEpoch}), reused`);
        job.skip(`train ${step.name}`);
        models.push({ name: step.name, scheme: step.scheme, dir, ...pickModelFigures(r) });
        continue;
      }
      job.begin(`train ${step.name}`);
      const resume = existsSync(join(dir, 'last', 'model.json'));
      const tCall = performance.now();
      const ends: { epoch: number; at: number; seconds: number; steps: number }[] = [];
      const stepImages = Number((step.options as { batch?: number }).batch ?? 0) * Number((step.options as { stepsPerEpoch?: number }).stepsPerEpoch ?? 0);
      const r = await train({
        ...(step.options as object), data: dataDir, scheme: step.scheme, out: dir, resume, quiet: q, backend: opts.backend,
        onEpoch: (e) => ends.push({ epoch: e.epoch, at: performance.now(), seconds: e.seconds, steps: e.imagesPerSecond ? stepImages / e.imagesPerSecond : 0 }),
      });
      const prof = trainProfile(tCall, performance.now(), ends, readEpochZero(dir));
      trainTimes.merge(prof);
      log(q, `  ${prof.format((performance.now() - tCall) / 1000, 'train time')}`);
      writeFileAtomic(doneFile, JSON.stringify({ want, result: r }, null, 1));
      trained.push(step.name);
      models.push({ name: step.name, scheme: step.scheme, dir, ...pickModelFigures(r) });
      const b = r.best;
      log(q, `  best epoch ${r.bestEpoch}/${r.epochs}: validation PSNR ${fmt(b.psnr)} dB vs noisy ${fmt(b.noisyPsnr)} dB; ${r.imagesPerSecond.toFixed(1)} images/s`);
    }
  }
  const tTrain = performance.now();
  const cTrain = cpu();
  if (preset.train.length && trainTimes.seconds().length) log(q, `\n${trainTimes.format((tTrain - tGen) / 1000, 'train time (all models)')}`);

  // 3 + 4. evaluation and report
  const reportDir = join(out, 'report');
  const methods = ['raw', ...preset.eval.baselines, ...(preset.eval.joint ?? []), ...models.map((m) => `${m.name}=model:${m.dir}`)];
  let headline: HeadlineRow[] = [];
  const vsReference: HeadlineRow[] = [];
  let meanQuality: PipelineResult['meanQuality'] = {};
  let drfMetric = 'psnr';
  let evalComputed = 0;
  job.begin('eval');
  if (preset.protocols) {
    log(q, `\n[3/4] protocols: ${methods.join(', ')} at a fixed total dose`);
    const { runProtocols } = await import('../../eval/harness/protocols.ts');
    const r = await runProtocols({ data: dataDir, methods: methods.join(','), recon: preset.eval.recon, out: reportDir, maxPhantoms: preset.eval.phantoms, totalDose: preset.protocols.totalDose, doses: preset.eval.doses, quiet: q });
    log(q, `\n[4/4] best protocol per method:`);
    for (const [m, b] of Object.entries(r.best)) log(q, `  ${m.padEnd(16)} ${b.scheme} (${b.tilts} tilts, +-${b.range} deg, ${b.dosePerProjection.toPrecision(3)} e/A^2 per projection): ${b.score.toFixed(3)}`);
  } else {
    log(q, `\n[3/4] evaluate: ${methods.map((m) => m.split('=')[0]).join(', ')}; doses ${preset.eval.doses} e/A^2 per projection; ${preset.eval.recon}`);
    const { runEvaluation } = await import('../../eval/harness/run.ts');
    const { formatDrf } = await import('../../eval/report/summary.ts');
    const r = await runEvaluation({ data: shown(dataDir), methods, doses: preset.eval.doses, recon: preset.eval.recon, out: shown(reportDir), maxPhantoms: preset.eval.phantoms, bootstrap: preset.eval.bootstrap, tunePhantoms: preset.eval.tunePhantoms, jointTunePhantoms: preset.eval.jointTunePhantoms, quiet: q });
    drfMetric = r.summary.drfMetric;
    evalComputed = r.computed;
    for (const [m, byEl] of Object.entries(r.summary.headline)) for (const [e, h] of Object.entries(byEl)) {
      headline.push({ method: m, element: e, factor: h?.factor ?? null, low: h?.low ?? null, high: h?.high ?? null, ...(h?.bound ? { bound: h.bound } : {}), text: formatDrf(h) });
    }
    for (const [m, byEl] of Object.entries(r.summary.curves)) for (const [e, byMetric] of Object.entries(byEl)) {
      const c = byMetric[drfMetric];
      if (!c) continue;
      // over the sweep's doses only (raw's curve also runs above the sweep)
      const vals = r.summary.doses.map((d) => c.mean[c.doses.indexOf(d)]);
      (meanQuality[m] ??= {})[e] = vals.reduce((a, v) => a + v, 0) / vals.length;
    }
    log(q, `\n[4/4] headline: dose-reduction factor against raw at equal reconstruction ${drfMetric.toUpperCase()} (median over the sweep, bootstrap 95 % interval over test phantoms)`);
    for (const h of headline) {
      const mq = meanQuality[h.method]?.[h.element];
      log(q, `  ${h.method.padEnd(16)} ${h.element.padEnd(3)} ${h.text}${mq === undefined ? '' : `   mean ${drfMetric} over the sweep ${mq.toFixed(2)} (raw ${meanQuality.raw?.[h.element]?.toFixed(2)})`}`);
    }
    const v = r.summary.vsReference;
    if (v) {
      log(q, `  against ${v.method} + ${preset.eval.recon} (same reading, ${v.method} in place of raw):`);
      for (const [m, byEl] of Object.entries(v.headline)) for (const [e, h] of Object.entries(byEl)) {
        vsReference.push({ method: m, element: e, factor: h?.factor ?? null, low: h?.low ?? null, high: h?.high ?? null, ...(h?.bound ? { bound: h.bound } : {}), text: formatDrf(h) });
        log(q, `  ${m.padEnd(16)} ${e.padEnd(3)} ${formatDrf(h).replace(/\braw\b/g, v.method)}`);
      }
    }
  }
  job.end();
  const tEval = performance.now();
  const cEval = cpu();
  const report = preset.protocols ? join(reportDir, 'protocols.svg') : join(reportDir, 'report.html');
  const seconds = { generate: (tGen - t0) / 1000, train: (tTrain - tGen) / 1000, eval: (tEval - tTrain) / 1000, total: (tEval - t0) / 1000 };
  const result: PipelineResult = { out, report, headline, vsReference, meanQuality, drfMetric, seconds, models, trained, evalComputed };
  writeFileAtomic(join(out, 'pipeline.json'), JSON.stringify({ preset: preset.name, ...result }, null, 1));
  log(q, `\nreport: ${shown(report)}`);
  log(q, `time: generate ${seconds.generate.toFixed(0)} s, train ${seconds.train.toFixed(0)} s, evaluate ${seconds.eval.toFixed(0)} s, total ${seconds.total.toFixed(0)} s`);
  log(q, `CPU (every thread): generate ${(cGen - c0).toFixed(0)} s, train ${(cTrain - cGen).toFixed(0)} s, evaluate ${(cEval - cTrain).toFixed(0)} s, total ${(cEval - c0).toFixed(0)} s; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores`);
  return result;
  } finally {
    job.end();
  }
}

/** Seconds of the untrained validation pass (epoch 0 of log.jsonl), when the run logged one. */
function readEpochZero(dir: string): number | undefined {
  const p = join(dir, 'log.jsonl');
  if (!existsSync(p)) return undefined;
  const first = readFileSync(p, 'utf8').split('\n').find(Boolean);
  const e = first ? (JSON.parse(first) as { epoch: number; seconds: number }) : undefined;
  return e?.epoch === 0 ? e.seconds : undefined;
}

/**
 * Where one train() call's time went, from the epoch ends it reported (onEpoch: each after its
 * checkpoint and learning curve were written) and the untrained validation pass in log.jsonl:
 *   steps        forward + backward + Adam (the loop's own step timer)
 *   validation   one validation pass per epoch, at the untrained pass's cost (same maps, same network)
 *   batches      the rest of each epoch (drawing the training batches)
 *   checkpoints  interval between epoch ends minus the epoch (best/last models, log, learning curve)
 *   start-up     before the first epoch: data, backend, model, untrained validation, workers
 * The first epoch's checkpoint time is taken as the mean of the others' (its start is not reported).
 */
function trainProfile(tCall: number, tEnd: number, ends: { epoch: number; at: number; seconds: number; steps: number }[], epoch0?: number): StageTimes {
  const t = new StageTimes();
  if (!ends.length) { t.add('start-up', tEnd - tCall); return t; }
  const val = (epoch0 ?? 0) * 1000;
  const ckpt: number[] = [];
  for (let k = 1; k < ends.length; k++) ckpt.push(Math.max(0, ends[k].at - ends[k - 1].at - ends[k].seconds * 1000));
  const ck0 = ckpt.length ? ckpt.reduce((a, b) => a + b, 0) / ckpt.length : 0;
  for (const e of ends) {
    const steps = e.steps * 1000, all = e.seconds * 1000;
    t.add('steps', Math.min(all, steps));
    t.add('validation', Math.min(Math.max(0, all - steps), val));
    t.add('batches', Math.max(0, all - steps - val));
  }
  t.add('checkpoints', ckpt.reduce((a, b) => a + b, 0) + ck0);
  const firstStart = ends[0].at - ends[0].seconds * 1000 - ck0;
  if (epoch0 !== undefined) t.add('untrained validation', Math.min(val, Math.max(0, firstStart - tCall)));
  t.add('start-up', Math.max(0, firstStart - tCall - (epoch0 !== undefined ? val : 0)));
  t.add('finish', Math.max(0, tEnd - ends[ends.length - 1].at));
  return t;
}

function pickModelFigures(r: { bestEpoch: number; best: { psnr?: number; noisyPsnr?: number } }) {
  return { bestEpoch: r.bestEpoch, valPsnr: r.best.psnr, noisyPsnr: r.best.noisyPsnr };
}

const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(2));
