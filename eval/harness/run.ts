/**
 * The dose-efficiency evaluation (science.md section 7), as a library function the CLI and the
 * one-command demo call:
 *
 *   for every test phantom, dose (per projection) and method:
 *     noisy tilt series = Poisson(clean expected counts x dose / dose of the sample), drawn from
 *       stream(seed, phantom, 'eval-noise', dose) so every method sees the same counts and a
 *       resumed run draws the same ones;
 *     denoise per projection per element channel; reconstruct per element (SIRT, FBP or TV on the
 *     projector); score against the phantom (NRMSE and PSNR after LS scale, 3D SSIM, Otsu Dice,
 *     shell-thickness error for core-shell) and the maps against the clean expected counts (PSNR, SSIM).
 *   then: quality-vs-dose curves, dose-reduction factors against raw with bootstrap 95 % intervals,
 *   plots, summary.json and report.html.
 *
 * Concurrency: the (phantom, dose) groups are independent (eval/harness/group.ts), so after the
 * per-dose tuning (serial, here) they run on K block workers (default K = --threads, at most the
 * number of groups), each with floor(threads / K) projector threads; the main thread reads the
 * samples, hands each group its phantom, and is the only writer: a group's blocks are appended to
 * results.csv once every group before it is written, so every file is byte-identical for any K
 * (concurrent.test.ts). Where the time went is printed at the end (eval/stage-times.ts; with K > 1
 * the stages overlap and add up to more than the wall time).
 */
import { mkdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Seed } from '../../core/random.ts';
import { parseThreads, resolveThreads } from '../../core/threads.ts';
import { progress } from '../../core/progress.ts';
import { writeFileAtomic } from '../../core/atomic.ts';
import type { TiltGeometry } from '../../generators/projection/geometry.ts';
import type { ProjectionOperator } from '../recon/operator.ts';
import { parseReconSpec, makeOperator, type ChannelReconSpec } from '../recon/reconstruct.ts';
import { scaledScores } from '../metrics/index.ts';
import { parseDoseSweep } from '../dose.ts';
import { BASELINES, CANDIDATES, DEFAULT_PARAMS, type Baseline } from '../baselines/index.ts';
import { parseMethods, makeDenoiser, tuneBaseline, type MethodSpec, type MapDenoiser } from './denoise.ts';
import { GroupEvaluator, drawNoisy, drawHaadf, denoiseSeries, projectionChannels, centralPlanes, type BlockResult, type GroupContext, type GroupSample } from './group.ts';
import { runTaskQueue, taskQueue, type TaskFailure } from '../../core/pool.ts';
import type { GroupTask, GroupTaskResult } from './block-worker.ts';
import { VOLUME_METHODS, type Acquisition } from './methods.ts';
import { haadfCoefficients, incidentElectronsPerPixel, validateAcquisitionConfig, type AcquisitionConfig } from '../../generators/signal/index.ts';
import { openResults, appendBlock, blockKey, doseKey, sliceName, readWarnings, writeWarnings } from './results.ts';
import type { Summary } from '../report/summary.ts';
import { canonicalBlocks, finishEvaluation, readRecord, writeRecord, type RunRecord } from '../report/merge.ts';
import { StageTimes } from '../stage-times.ts';
import { ConfigError, isInternalError } from '../../core/validate.ts';

/** What the evaluation reads: a datasets DatasetReader satisfies it; tests pass an in-memory one. */
export interface EvalSource {
  readonly channels: string[];
  readonly elements: { symbol: string; Z: number }[];
  readonly angles: Float64Array;
  readonly shape: { size: number; nCols: number; pixelSizeNm?: number };
  readonly seed?: Seed;
  /** The dataset config (the HAADF physics the joint methods model: simulation.acquisition). */
  readonly config?: unknown;
  indices(split?: 'train' | 'val' | 'test'): number[];
  readSample(index: number, what?: ('clean' | 'noisy' | 'phantom' | 'frames')[]): Promise<{ index: number; params: Record<string, unknown>; dosePerProjection: number; clean?: Float32Array; phantom?: Float32Array }>;
  close?(): Promise<void>;
}

export type ClosableOperator = ProjectionOperator & { close?(): Promise<void> };

/** The per-channel reconstruction spec parser (eval/recon); joint methods are evaluation methods, not --recon. */
export function parseRecon(spec: string): ChannelReconSpec {
  const r = parseReconSpec(spec);
  if (!['sirt', 'fbp', 'tv'].includes(r.kind)) throw new ConfigError('recon', `${r.kind} is a joint method: list it in --methods (it brings its own reconstruction); --recon takes sirt, fbp or tv`);
  return r as ChannelReconSpec;
}

export interface EvaluationOptions {
  /** Dataset directory / shard, or an EvalSource. */
  data: string | EvalSource;
  split?: 'train' | 'val' | 'test';
  methods: string | string[];
  /** Dose per projection (e/A^2) sweep: 'lo:hi:n' (log-spaced) or a list. */
  doses: string | number[];
  /** 'sirt:100' (default), 'fbp:hann', 'tv:100:0.05'. */
  recon?: string;
  out: string;
  /** Seed of the evaluation noise (default: the dataset's seed). */
  seed?: Seed;
  /** Evaluate at most this many phantoms of the split (first ones). */
  maxPhantoms?: number;
  /** Projector and SIRT worker threads of each block evaluator (default: threads / block workers, at least 1). */
  workers?: number;
  /** Threads in all (default core/threads.ts: --threads, NANODOSE_THREADS or the cores). */
  threads?: number;
  /**
   * Block workers: (phantom, dose) groups evaluated concurrently, each in its own worker thread
   * (default: threads, at most the number of groups; 1 evaluates in this thread). Results are
   * byte-identical for any number. A custom `operator` evaluates in this thread.
   */
  blockWorkers?: number;
  /** Operator factory; default: generators/projection's Projector. */
  operator?: (geom: TiltGeometry) => Promise<ClosableOperator>;
  /** Bootstrap resamples for the dose-reduction intervals. */
  bootstrap?: number;
  /**
   * Raw (no denoising) is also evaluated above the sweep, up to this many decades over its top dose
   * at the sweep's log step (default 2), so the dose raw needs to match a denoiser can be read off
   * its curve (science.md section 7) even when the denoiser at the top of the sweep beats raw there.
   */
  rawExtraDecades?: number;
  /**
   * The method the DRF is also read against (default 'gaussian' when listed: Gaussian + --recon, the
   * classical baseline; null: none). It is evaluated up to one decade above the sweep as well.
   */
  reference?: string | null;
  /** Metric the dose-reduction factor is read on (default 'psnr'). */
  drfMetric?: string;
  /** Tune baseline parameters on at most this many validation phantoms per dose (default 2; 0: defaults). */
  tunePhantoms?: number;
  /** Tune the volume (joint) methods' weight on at most this many validation phantoms per dose (default tunePhantoms; 0: defaults). */
  jointTunePhantoms?: number;
  quiet?: boolean;
  /** Write plots and report.html (default true). */
  report?: boolean;
  /**
   * Evaluate only part `index` of `count` of the (phantom, dose) grid (eval/report/merge.ts), for a
   * job array; each part writes results.csv, tuning.json, slices/ and eval.json into its own `out`,
   * and `nanodose report` merges them. No summary or report is written for a part of several.
   */
  shard?: { index: number; count: number };
  /** TensorFlow.js backend for model methods (models/backend.ts); default auto. */
  backend?: string;
}

export interface EvaluationResult {
  summary: Summary; computed: number; skipped: number; out: string;
  /** Block workers the groups ran on (1: this thread). */
  blockWorkers?: number;
  /** Where the time went (stages overlap when blocks ran concurrently) and the wall time. */
  times?: StageTimes; wallSeconds?: number;
}

/** The HAADF physics the volume methods need, from the source's config; throws naming what is wrong. */
export function haadfPhysics(src: EvalSource, who: string): { pixelSizeAngstrom: number; mu: number[]; acquisition: AcquisitionConfig } {
  if (!src.channels.some((c) => /^haadf$/i.test(c))) throw new ConfigError('data', `method ${who} needs a HAADF channel; the dataset has channels ${src.channels.join(', ')}`);
  const cfg = src.config as { simulation?: { acquisition?: unknown } } | undefined;
  if (!cfg?.simulation) throw new ConfigError('data', `method ${who} needs the dataset's acquisition config (simulation.acquisition) for the HAADF model; the source carries none`);
  const acq = validateAcquisitionConfig(cfg.simulation.acquisition, 'simulation.acquisition');
  if (acq.haadfModel !== 'scattered-fraction') throw new ConfigError('data', `method ${who} models the HAADF as scattered electrons (haadfModel 'scattered-fraction'); the dataset's is '${acq.haadfModel}' (made before the physical HAADF): regenerate it`);
  if (src.shape.pixelSizeNm !== undefined && Math.abs(src.shape.pixelSizeNm * 10 - acq.pixelSizeAngstrom) > 1e-6 * acq.pixelSizeAngstrom) throw new ConfigError('data', `pixel size ${src.shape.pixelSizeNm} nm in the dims but simulation.acquisition.pixelSizeAngstrom ${acq.pixelSizeAngstrom} A`);
  return { pixelSizeAngstrom: acq.pixelSizeAngstrom, mu: Array.from(haadfCoefficients(src.elements, acq)), acquisition: acq };
}

/** The whole evaluation (a shard option of 1 part at most): results.csv, summary.json, report. */
export async function runEvaluation(opts: EvaluationOptions): Promise<EvaluationResult> {
  if (opts.shard && opts.shard.count > 1) throw new ConfigError('shard', `runEvaluation evaluates the whole grid, got ${opts.shard.count} parts; use evaluateShard for one part of several`);
  const r = await evaluate(opts);
  return { ...r, summary: r.summary! };
}

/** One part of a sharded evaluation (eval --shard i/k): results.csv, tuning.json, slices/, eval.json; no summary. */
export async function evaluateShard(opts: EvaluationOptions & { shard: { index: number; count: number } }): Promise<Omit<EvaluationResult, 'summary'> & { summary: Summary | null }> {
  return evaluate(opts);
}

async function evaluate(opts: EvaluationOptions): Promise<Omit<EvaluationResult, 'summary'> & { summary: Summary | null }> {
  const quiet = opts.quiet ?? false;
  const times = new StageTimes();
  const perMethod = new StageTimes();
  const tStart = performance.now();
  const methods = parseMethods(opts.methods);
  if (!methods.some((m) => m.kind === 'raw')) methods.unshift({ name: 'raw', kind: 'raw' });
  const doses = typeof opts.doses === 'string' ? parseDoseSweep(opts.doses) : opts.doses.slice();
  if (doses.length === 0 || doses.some((d) => !(d > 0))) throw new ConfigError('doses', 'need at least one dose > 0');
  doses.sort((a, b) => a - b);
  const rawDoses = extendDoses(doses, opts.rawExtraDecades ?? 2);
  const refName = opts.reference === undefined ? (methods.some((m) => m.name === 'gaussian') ? 'gaussian' : null) : opts.reference;
  if (refName !== null && !methods.some((m) => m.name === refName)) throw new ConfigError('reference', `'${refName}' is not among the methods (${methods.map((m) => m.name).join(', ')})`);
  if (refName !== null && methods.find((m) => m.name === refName)!.volume) throw new ConfigError('reference', `'${refName}' brings its own reconstruction; the reference is a denoiser before --recon (e.g. gaussian)`);
  if (refName === 'raw') throw new ConfigError('reference', `raw is always the first reference; name another method`);
  // at raw's log step, up to one decade above the sweep (a prefix of rawDoses)
  const refDoses = refName ? extendDoses(doses, Math.min(1, opts.rawExtraDecades ?? 2)) : [];
  const reference = refName ? { method: refName, doses: refDoses } : undefined;
  const recon = parseRecon(opts.recon ?? 'sirt:100');
  if (opts.blockWorkers !== undefined) parseThreads('blockWorkers', opts.blockWorkers);
  if (opts.workers !== undefined) parseThreads('workers', opts.workers);
  const split = opts.split ?? 'test';
  let ownSource = false;
  let src: EvalSource;
  if (typeof opts.data === 'string') {
    const ds = await import('../../datasets/index.ts');
    src = (await ds.openDataset(opts.data)) as unknown as EvalSource;
    ownSource = true;
  } else src = opts.data;
  // every check on the inputs before anything is written
  const volumeMethods = methods.filter((m) => m.volume);
  const physics = volumeMethods.length ? haadfPhysics(src, volumeMethods[0].name) : null;
  const modelMethods = methods.filter((m) => m.kind === 'model');
  if (modelMethods.length) {
    const { checkModelFolder } = await import('../../models/io.ts');
    for (const m of modelMethods) {
      try {
        checkModelFolder(m.path!);
      } catch (e) {
        if (isInternalError(e)) throw e;
        throw new ConfigError('methods', `${m.name}: ${(e as Error).message}`);
      }
    }
  }
  if (src.indices(opts.split ?? 'test').length === 0) throw new ConfigError('data', `the dataset has no '${opts.split ?? 'test'}' samples`);
  mkdirSync(opts.out, { recursive: true });
  mkdirSync(join(opts.out, 'slices'), { recursive: true });
  const seed: Seed = opts.seed ?? src.seed ?? 0;
  let phantoms = src.indices(split);
  if (phantoms.length === 0) throw new ConfigError('data', `the dataset has no '${split}' samples`);
  if (opts.maxPhantoms !== undefined) phantoms = phantoms.slice(0, opts.maxPhantoms);
  const N = src.shape.size, nCols = src.shape.nCols, nA = src.angles.length;
  const plane = nA * N * nCols;
  const elements = src.elements.map((e) => e.symbol);
  const channelIdx = elements.map((s) => {
    const k = src.channels.indexOf(s);
    if (k < 0) throw new ConfigError('data', `element ${s} has no tilt-series channel (channels ${src.channels.join(', ')})`);
    return k;
  });
  const geom: TiltGeometry = { angles: src.angles, nz: N, ny: N, nx: N, nCols };
  const haadfIdx = src.channels.findIndex((c) => /^haadf$/i.test(c));
  const chanCtx = { channels: src.channels, haadfIdx, elements: src.elements, N, nCols };
  const resultsPath = join(opts.out, 'results.csv');
  const existing = openResults(resultsPath);
  const done = new Set(existing.map((r) => blockKey(r.phantom, r.dose, r.method)));
  const shard = opts.shard ?? { index: 0, count: 1 };
  if (!(Number.isInteger(shard.count) && shard.count >= 1 && Number.isInteger(shard.index) && shard.index >= 0 && shard.index < shard.count)) throw new ConfigError('shard', `expected 0 <= index < count, got ${shard.index}/${shard.count}`);
  const methodNames = methods.map((m) => m.name);
  const byName = new Map(methods.map((m) => [m.name, m]));
  // the blocks of this part in the order a single process writes them (phantom, dose, method)
  const mine = canonicalBlocks({ phantoms, doses, rawDoses, methods: methodNames, reference }, shard);
  const todo: [number, number, MethodSpec][] = [];
  const rawOnly = rawDoses.filter((d) => !doses.includes(d));
  for (const p of phantoms) for (const d of [...doses, ...rawOnly]) for (const m of methods) {
    const k = blockKey(p, d, m.name);
    if (!done.has(k) && mine.includes(k)) todo.push([p, d, byName.get(m.name)!]);
  }
  const total = mine.length;
  const skipped = total - todo.length;
  const part = shard.count > 1 ? `shard ${shard.index}/${shard.count}: ` : '';
  if (!quiet) console.log(`eval: ${part}${phantoms.length} phantoms x ${doses.length} doses x ${methods.length} methods${rawOnly.length ? ` + raw at ${rawOnly.length} doses above the sweep` : ''}${shard.count > 1 ? `, ${total} blocks in this part` : ''}; ${skipped} blocks already in results.csv, ${todo.length} to compute; recon ${opts.recon ?? 'sirt:100'}`);

  // Baseline parameters per dose, tuned on validation phantoms (cached in tuning.json so a resumed run uses the same).
  const tuningPath = join(opts.out, 'tuning.json');
  const tuning: Record<string, Record<string, number>> = existsSync(tuningPath) ? JSON.parse(readFileSync(tuningPath, 'utf8')) : {};
  const usedBaselines = methods.filter((m) => m.kind === 'baseline').map((m) => m.baseline!) as Baseline[];
  const tuneCount = opts.tunePhantoms ?? 2;
  const valIdx = split === 'val' ? [] : src.indices('val').slice(0, tuneCount);
  let tuningChanged = false;
  const sampleCache = new Map<number, Awaited<ReturnType<EvalSource['readSample']>>>();
  async function sample(i: number) {
    let s = sampleCache.get(i);
    if (!s) {
      s = await src.readSample(i, ['clean', 'phantom']);
      if (!s.clean || !s.phantom) throw new ConfigError('data', `sample ${i} lacks ${!s.clean ? 'the clean expected counts' : 'the phantom'}; the evaluation needs a dataset generated with store.clean and store.phantom`);
      if (!(s.dosePerProjection > 0)) throw new ConfigError('data', `sample ${i} has dose per projection ${s.dosePerProjection}; expected > 0`);
      sampleCache.clear(); sampleCache.set(i, s);
    }
    return s;
  }
  let tuneOp: ClosableOperator | null = null;
  const jointVal = split === 'val' ? [] : src.indices('val').slice(0, opts.jointTunePhantoms ?? tuneCount);
  /** The noisy acquisition of sample s at dose d for a volume method, the EDX maps through `dn`. */
  async function acquisition(s: Awaited<ReturnType<EvalSource['readSample']>>, p: number, d: number, dn: MapDenoiser, who: string, noisyEdx?: Float32Array[], haadfCounts?: Float32Array): Promise<Acquisition> {
    const scale = d / s.dosePerProjection;
    const noisy = noisyEdx ?? drawNoisy(s.clean!, channelIdx, plane, scale, seed, p, d);
    const haadf = haadfCounts ?? drawHaadf(s.clean!, haadfIdx, plane, scale, seed, p, d);
    const vm = VOLUME_METHODS[who];
    const channelsAt = projectionChannels(chanCtx, noisy, haadf);
    const edx: Float32Array[] = [];
    if (vm.edx) for (let e = 0; e < elements.length; e++) edx.push(await denoiseSeries(dn, noisy[e], nA, N, nCols, elements[e], channelsAt));
    return { haadf, edx, elements: src.elements, dose: d, incident: incidentElectronsPerPixel(d, physics!.pixelSizeAngstrom), pixelSizeAngstrom: physics!.pixelSizeAngstrom, haadfMu: physics!.mu, acquisition: physics!.acquisition };
  }
  const refBaseline = methods.find((m) => m.name === refName)?.baseline;
  times.start('tuning');
  for (const d of [...doses, ...refDoses.filter((x) => !doses.includes(x))]) {
    const key = doseKey(d);
    tuning[key] ??= {};
    for (const b of usedBaselines) {
      // above the sweep only the reference is evaluated
      if (!doses.includes(d) && b !== refBaseline) continue;
      if (tuning[key][b] !== undefined) continue;
      if (valIdx.length === 0) { tuning[key][b] = DEFAULT_PARAMS[b]; tuningChanged = true; continue; }
      const pairs: { noisy: Float32Array; clean: Float32Array; h: number; w: number }[] = [];
      for (const v of valIdx) {
        const s = await sample(v);
        const scale = d / s.dosePerProjection;
        const noisy = drawNoisy(s.clean!, channelIdx, plane, scale, seed, v, d);
        // a few projections per element channel: first, middle and last tilt
        for (let e = 0; e < elements.length; e++) for (const a of [0, Math.floor(nA / 2), nA - 1]) {
          const off = a * N * nCols;
          const clean = new Float32Array(N * nCols);
          let signal = 0;
          for (let i = 0; i < N * nCols; i++) { clean[i] = s.clean![channelIdx[e] * plane + off + i] * scale; signal += clean[i]; }
          // A map of an element this phantom lacks is empty: every parameter scores an infinite
          // PSNR on it, which would hide the maps that can tell the parameters apart.
          if (signal > 0) pairs.push({ noisy: noisy[e].slice(off, off + N * nCols), clean, h: N, w: nCols });
        }
      }
      tuning[key][b] = pairs.length ? tuneBaseline(b, pairs, CANDIDATES[b]).param : DEFAULT_PARAMS[b];
      tuningChanged = true;
    }
  }
  // Volume methods' hyper-parameter per dose: each grid value reconstructs the validation phantoms
  // (after the method's denoiser, at its tuned parameters), the best mean PSNR over the elements wins.
  for (const d of doses) {
    const key = doseKey(d);
    for (const m of volumeMethods) {
      const vm = VOLUME_METHODS[m.volume!.method];
      if (!vm.tune || m.volume!.fixed !== undefined || tuning[key][m.name] !== undefined) continue;
      tuningChanged = true;
      if (jointVal.length === 0) { tuning[key][m.name] = vm.tune.default; continue; }
      const dn = await makeDenoiser(m, tuning[key], { quiet: true, ...(opts.backend ? { backend: opts.backend } : {}) });
      tuneOp ??= await (opts.operator ? opts.operator(geom) : makeOperator(geom, opts.workers));
      try {
        const cases: { acq: Acquisition; truth: Float32Array[] }[] = [];
        for (const v of jointVal) {
          const s = await sample(v);
          const acq = await acquisition(s, v, d, dn.denoise, m.volume!.method);
          const truth = elements.map((_, e) => s.phantom!.subarray(e * N * N * N, (e + 1) * N * N * N));
          cases.push({ acq, truth });
        }
        let best = vm.tune.default, bestScore = -Infinity;
        const scores: Record<string, number> = {};
        for (const g of vm.tune.grid) {
          let sum = 0, n = 0;
          for (const c of cases) {
            const { volumes: vols } = await vm.run(tuneOp, c.acq, m.volume!, g, { workers: opts.workers, recon });
            c.truth.forEach((t, e) => { if (t.some((x) => x > 0)) { sum += scaledScores(vols[e], t).psnr; n++; } });
          }
          scores[String(g)] = n ? sum / n : NaN;
          if (n && sum / n > bestScore) { bestScore = sum / n; best = g; }
        }
        tuning[key][m.name] = best;
        if (!quiet) console.log(`eval: ${m.name} at ${key} e/A^2: ${vm.tune.name} ${best} (mean validation PSNR ${Object.entries(scores).map(([g, v]) => `${g}: ${v.toFixed(2)}`).join(', ')})`);
      } finally {
        dn.close();
      }
    }
  }
  await tuneOp?.close?.();
  times.stop('tuning');
  if (tuningChanged) writeFileAtomic(tuningPath, JSON.stringify(tuning, null, 1));

  const sliceDoses = pickSliceDoses(doses);
  // The report shows slices of the first test phantom that contains every element (else the first).
  let slicePhantom = phantoms[0];
  for (const p of phantoms) {
    const s = await times.time('data', () => sample(p));
    if (elements.every((_, e) => s.phantom!.subarray(e * N * N * N, (e + 1) * N * N * N).some((v) => v > 0))) { slicePhantom = p; break; }
  }
  // eval.json: the settings a merge checks and the report needs; a folder holds one part of one run
  const record: RunRecord = {
    version: 1, shard, split, methods: methodNames, doses, rawDoses, ...(reference ? { reference } : {}),
    ...(volumeMethods.length ? { reconstructions: Object.fromEntries(methods.map((m) => [m.name, m.volume ? [m.volume.method, ...m.volume.args].join(':') : (opts.recon ?? 'sirt:100')])) } : {}),
    elements, phantoms, drfMetric: opts.drfMetric ?? 'psnr',
    bootstrap: opts.bootstrap ?? 1000, seed: String(seed), nAngles: nA, recon: opts.recon ?? 'sirt:100',
    ...(src.shape.pixelSizeNm !== undefined ? { pixelSizeNm: src.shape.pixelSizeNm } : {}),
    report: { sliceDoses, phantom: slicePhantom, size: N },
  };
  if (existsSync(join(opts.out, 'eval.json'))) {
    const prev = readRecord(opts.out);
    if (prev.shard.index !== shard.index || prev.shard.count !== shard.count) throw new ConfigError('out', `${opts.out} holds shard ${prev.shard.index}/${prev.shard.count} of a run; give each shard its own folder (e.g. results/part-$TASK_ID)`);
  }
  writeRecord(opts.out, record);
  const warnings = readWarnings(opts.out);

  // The (phantom, dose) groups still to compute, in canonical order, each with its methods.
  const groups: { phantom: number; dose: number; methods: string[] }[] = [];
  for (const [p, d, m] of todo) {
    const g = groups[groups.length - 1];
    if (g && g.phantom === p && g.dose === d) g.methods.push(m.name);
    else groups.push({ phantom: p, dose: d, methods: [m.name] });
  }
  // Threads: K block workers, each running whole groups with t projector/SIRT threads (K t <= threads).
  const threads = resolveThreads(opts.threads, 'threads');
  const K = opts.operator ? 1 : Math.min(groups.length, opts.blockWorkers ?? threads);
  const perWorker = opts.workers ?? (K > 1 ? Math.max(1, Math.floor(threads / K)) : undefined);
  const groupCtx: GroupContext = {
    elements: src.elements, channels: src.channels, channelIdx, haadfIdx, angles: src.angles, N, nCols, seed,
    methods, recon, tuning, physics, sliceDoses, slicePhantom, workers: perWorker, quiet,
    ...(opts.backend ? { backend: opts.backend } : {}),
  };
  if (!quiet && K > 1) console.log(`eval: ${K} block workers, ${perWorker} projector thread${perWorker === 1 ? '' : 's'} each (${groups.length} phantom x dose groups)`);

  // The main thread is the only writer: a group's blocks are written once every group before it
  // is, so results.csv has the same bytes whatever the number of block workers.
  const bar = progress('eval', todo.length, { unit: 'blocks', quiet });
  const finished = new Map<number, BlockResult[]>();
  let nextWrite = 0, computed = 0;
  const said = new Set<string>();
  const write = (g: number, blocks: BlockResult[]) => {
    finished.set(g, blocks);
    bar.increment(blocks.length, { phantom: groups[g].phantom, dose: doseKey(groups[g].dose), method: groups[g].methods[groups[g].methods.length - 1] });
    for (; finished.has(nextWrite); nextWrite++) {
      for (const b of finished.get(nextWrite)!) {
        times.start('slices');
        for (const sl of b.slices) writeFileAtomic(join(opts.out, 'slices', sl.name), new Uint8Array(sl.data.buffer, sl.data.byteOffset, sl.data.byteLength));
        times.stop('slices');
        if (b.warnings) {
          warnings[b.key] = b.warnings;
          writeWarnings(opts.out, warnings);
          // a method's first warning on the terminal, once (warnings.json and the report have every block's)
          const method = b.rows[0]?.method ?? b.key;
          if (!quiet && !said.has(method)) { said.add(method); console.warn(`[nanodose] warning: method ${method}: ${b.warnings[0]} (every block's warnings: warnings.json and the report)`); }
        }
        appendBlock(resultsPath, b.rows);
        computed++;
      }
      finished.delete(nextWrite);
    }
  };
  const groupSample = async (p: number): Promise<GroupSample> => {
    const s = await times.time('data', () => sample(p));
    return { params: s.params, dosePerProjection: s.dosePerProjection, clean: s.clean!, phantom: s.phantom! };
  };
  try {
    if (K <= 1) {
      const ev = new GroupEvaluator(groupCtx, opts.operator);
      try {
        for (const [g, grp] of groups.entries()) write(g, await ev.evaluate(grp.phantom, grp.dose, await groupSample(grp.phantom), grp.methods));
      } finally {
        await ev.close();
        times.merge(ev.times);
        perMethod.merge(ev.perMethod);
      }
    } else {
      // K piscina workers (core/pool.ts), a free one taking the next group; each group's sample is read just before it starts.
      await runTaskQueue<(typeof groups)[number], Exclude<GroupTaskResult, TaskFailure>>(taskQueue(new URL('./block-worker.ts', import.meta.url), K, [], groupCtx), groups, {
        name: 'eval block worker',
        prepare: async (g): Promise<GroupTask> => ({ phantom: g.phantom, dose: g.dose, methods: g.methods, sample: await groupSample(g.phantom) }),
        onResult: (g, r) => {
          for (const [k, ms] of r.times) times.add(k, ms);
          for (const [k, ms] of r.perMethod) perMethod.add(k, ms);
          write(g, r.blocks);
        },
      });
    }
    if (phantoms.length) {
      const s = await sample(slicePhantom);
      for (let e = 0; e < elements.length; e++) writeFileAtomic(join(opts.out, 'slices', sliceName(slicePhantom, 0, 'phantom', elements[e])), new Uint8Array(centralPlanes(s.phantom!.subarray(e * N * N * N, (e + 1) * N * N * N), N).buffer));
    }
  } finally {
    bar.stop();
  }
  if (ownSource) await src.close?.();
  const rows = openResults(resultsPath);
  if (shard.count > 1) {
    if (!quiet) console.log(`eval: ${part}${computed} blocks computed, ${skipped} reused; wrote ${resultsPath}; merge all ${shard.count} parts with: nanodose report PART_DIR... --out DIR`);
    return { summary: null, computed, skipped, out: opts.out, blockWorkers: K };
  }
  const summary = await finishEvaluation(opts.out, record, rows, tuning, opts.report ?? true, times);
  const wallSeconds = (performance.now() - tStart) / 1000;
  if (!quiet) {
    console.log(`eval: ${computed} blocks computed, ${skipped} reused; wrote ${join(opts.out, 'results.csv')}, summary.json${opts.report ?? true ? ', plots/ and report.html' : ''}`);
    console.log(times.format(wallSeconds));
    console.log(perMethod.format(undefined, 'eval time per method'));
  }
  return { summary, computed, skipped, out: opts.out, blockWorkers: K, times, wallSeconds };
}

/**
 * The sweep plus doses above its top at the sweep's log step (half a decade for a single dose), up to
 * `decades` decades above the top: where raw is evaluated as well.
 */
export function extendDoses(doses: number[], decades: number): number[] {
  if (!(decades >= 0) || decades > 6) throw new ConfigError('rawExtraDecades', `must be in [0, 6], got ${decades}`);
  const top = doses[doses.length - 1];
  const step = doses.length > 1 ? Math.log10(top / doses[0]) / (doses.length - 1) : 0.5;
  const out = doses.slice();
  if (!(step > 0)) return out;
  for (let k = 1; k * step <= decades + 1e-9; k++) out.push(top * 10 ** (k * step));
  return out;
}

/** The two doses shown as slices in the report: the lowest and the one nearest the geometric middle. */
export function pickSliceDoses(doses: number[]): number[] {
  if (doses.length === 1) return [doses[0]];
  const mid = doses[Math.floor((doses.length - 1) / 2) + (doses.length > 2 ? 1 : 0)] ?? doses[doses.length - 1];
  return [doses[0], mid];
}



export { BASELINES, drawNoisy, drawHaadf };
