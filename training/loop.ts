/**
 * `train(opts)`: trains a pooled single-channel denoiser (one network for every element map) with
 * one of the schemes of training/schemes.ts and writes a run folder:
 *
 *   out/best/            saveModel folder of the best validation loss (loadModel(out) resolves to it)
 *   out/last/            the last epoch's model + optimizer.json/.bin (resume state)
 *   out/log.jsonl        one JSON line per epoch (epoch 0 = the untrained network)
 *   out/learning-curve.csv/.svg/.png  the log's numbers per epoch and their plot (training/curve.ts)
 *   out/train-config.json
 *
 * Optimiser: Adam (Kingma & Ba 2015), learning rate cosine-annealed per step from lr to lr/100 over
 * epochs x stepsPerEpoch steps (Loshchilov & Hutter 2017; no restarts): deterministic in the step
 * count, so a resumed run follows the same schedule. Early stopping when the validation loss has not
 * improved (by a relative 1e-4) for `patience` epochs.
 *
 * Determinism: every random draw comes from stream(seed, 'train', epoch, step, patch) (patch
 * choice, dose, noise, thinning p, swap, augmentation, mask) or stream(seed, 'val', ...), and the
 * weights are initialised from stream(seed, 'init', i): the same seed and config give the same
 * weights, and a resumed run gives the uninterrupted run's weights (for the same worker count;
 * the data-parallel gradient sum is ordered differently with other worker counts).
 */
import * as tf from '@tensorflow/tfjs';
import { resolveThreads } from '../core/threads.ts';
import { trainingWorkers } from '../models/parallel/budget.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/atomic.ts';
import { progress } from '../core/progress.ts';
import { stream, type RandomStream, type Seed } from '../core/random.ts';
import { ConfigError, checkChoice, checkNumber, checkRange } from '../core/validate.ts';
import { psnr, ssim, valueRange } from '../eval/metrics/index.ts';
import { channelScales, defaultNormalisation } from '../models/normalise.ts';
import type { ModelMetadata, ModelSpec } from '../models/index.ts';
import { dihedral } from './augment.ts';
import { applyBlindSpot, blindSpotMask } from './blindspot.ts';
import { writeLearningCurve, type EpochLog } from './curve.ts';
import { loadLast, restoreOptimizer, saveLast, seededInit } from './checkpoint.ts';
import { LOSSES, packedLoss, packedLossPerSample, type LossKind } from './losses.ts';
import { SCHEMES, inferenceInput, makePair, mapSum, storedCounts, type NoiseMode, type Projection, type Scheme, type SchemeParams } from './schemes.ts';
import { datasetData, mapData, multiMapData, type MapSource, type MultiMapSource, type ProjectionRef, type TrainingData } from './sources.ts';
import { makeGuidedPair, type ChannelRole } from './guided.ts';
import { heldoutDeviance, heldoutSplit, isCounts } from './criterion.ts';

export interface TrainOptions {
  /** Dataset dir / shard .h5, or in-memory maps (real data; multi-maps for a multi-channel network). */
  data: string | MapSource | MultiMapSource;
  /**
   * Multi-channel network: the input channels by name (e.g. ['HAADF', 'Au', 'Ag']; a channel named
   * HAADF is a guide: given whole as an input, never a target). Without it: the pooled
   * single-channel network.
   */
  inputs?: string[];
  /** Output channels of a multi-channel network: element channels among the inputs (default: every element input). */
  outputs?: string[];
  scheme: Scheme;
  /** Model dir (run folder). */
  out: string;
  /** Partial ModelSpec, e.g. { arch: 'unet', depth: 3, filters: 16 } (in/out channels are 1: pooled). */
  model?: Record<string, unknown>;
  /** Element channels to train on (default every element channel); one net for all of them. */
  channels?: string[];
  epochs?: number;
  stepsPerEpoch?: number;
  batch?: number;
  patch?: number;
  lr?: number;
  loss?: LossKind;
  /** Dose per projection (e/A^2) of the inputs with fresh noise, log-uniform (default [D/4, 4D], D = the median stored dose). */
  doseRange?: [number, number];
  noise?: NoiseMode;
  seed?: Seed;
  resume?: boolean;
  workers?: number;
  backend?: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  valProjections?: number;
  patience?: number;
  quiet?: boolean;
  /** n2n-thinning: p uniform in this range (default [0.3, 0.7]). */
  thinning?: [number, number];
  /** Called after each epoch's checkpoint is written (a throw stops the run there, as a crash would). */
  onEpoch?: (log: EpochLog) => void;
}

export interface TrainResult {
  out: string;
  bestDir: string;
  epochs: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  best: { valLoss: number; psnr?: number; ssim?: number; noisyPsnr?: number };
  imagesPerSecond: number;
}

/** The loss became NaN or infinite: the run stops, the last good checkpoint is kept. */
export class TrainingDivergedError extends Error {
  constructor(message: string, readonly epoch: number, readonly step: number) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

export const TRAIN_DEFAULTS = { epochs: 30, stepsPerEpoch: 50, batch: 16, patch: 64, lr: 1e-3, valProjections: 8, patience: 10, thinning: [0.3, 0.7] as [number, number], seed: 0 };

/** Fields that must match between a run and its resume (others, e.g. epochs, lr, patience, workers, may change). */
const RESUME_FIELDS = ['scheme', 'data', 'spec', 'channels', 'inputs', 'outputs', 'stepsPerEpoch', 'batch', 'patch', 'loss', 'noise', 'doseRange', 'thinning', 'frames', 'seed', 'valProjections'] as const;

interface Config {
  format: 'nanodose-train-config';
  scheme: Scheme;
  data: string;
  out: string;
  spec: ModelSpec;
  channels: string[];
  /** Multi-channel network: input channel names, their roles, output channel names (null: pooled single channel). */
  inputs: string[] | null;
  roles: ChannelRole[] | null;
  outputs: string[] | null;
  /**
   * Checkpoint criterion: 'val-loss' (the scheme's loss on the validation pairs; supervised) or
   * 'heldout-deviance' (self-supervised: Poisson deviance against an independent held-out thinned
   * half, training/criterion.ts).
   */
  criterion: 'val-loss' | 'heldout-deviance';
  epochs: number;
  stepsPerEpoch: number;
  batch: number;
  patch: number;
  lr: number;
  lrMin: number;
  schedule: string;
  loss: LossKind;
  noise: NoiseMode;
  doseRange: [number, number] | null;
  thinning: [number, number];
  frames: number;
  blindSpot: { fraction: number; radius: number };
  seed: Seed;
  valProjections: number;
  patience: number;
  workers: number;
  backend: string;
  normalisation: ReturnType<typeof defaultNormalisation>;
  nanodoseVersion: string;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Stable JSON for config comparison. */
function stable(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
}

function lrAt(cfg: Config, step: number): number {
  const T = cfg.epochs * cfg.stepsPerEpoch;
  return cfg.lrMin + (cfg.lr - cfg.lrMin) * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, T)) / T));
}

function fmt(v: number | undefined | null, d = 4): string {
  return v === undefined || v === null || !Number.isFinite(v) ? 'n/a' : Number(v.toPrecision(d)).toString();
}

interface ValMap {
  h: number;
  w: number;
  /** Scheme pair on the whole map: inputs [h, w, C] (channel last), packed [h, w, K + 1] = [targets, weight]. */
  x: Float32Array;
  y: Float32Array;
  /** Full-dose noisy inputs, normalised [h, w, C], and the per-input-channel scales. */
  xInf: Float32Array;
  sInf: number[];
  /** Per output channel: the clean reference (when known), its value range, the noisy input's PSNR. */
  reference: (Float32Array | undefined)[];
  range: number[];
  noisyPsnr: (number | undefined)[];
  /** Held-out criterion (self-supervised): thinned-half inputs [h, w, C], scales, held-out halves per output. */
  held?: { x: Float32Array; s: number[]; heldout: Float32Array[] };
}

/**
 * A whole-map network input: each map divided by its scale s_c = max(mean, floor) (the 'mean'
 * normalisation of models/normalise.ts, channelScales), interleaved channel-last [h, w, C].
 */
function normalisedInput(maps: ArrayLike<number>[], h: number, w: number, floor: number): { x: Float32Array; s: number[] } {
  const s = maps.map((m) => channelScales(m, 1, h, w, { kind: 'mean', floor })[0]);
  const x = new Float32Array(h * w * maps.length);
  interleave(maps.map((m, c) => { const o = new Float32Array(h * w); for (let i = 0; i < o.length; i++) o[i] = m[i] / s[c]; return o; }), x, 0);
  return { x, s };
}

/** Interleaves channel-major maps [C][n] into channel-last [n, C] at `offset`. */
function interleave(maps: Float32Array[], out: Float32Array, offset: number): void {
  const C = maps.length;
  if (C === 1) {
    out.set(maps[0], offset);
    return;
  }
  const n = maps[0].length;
  for (let c = 0; c < C; c++) {
    const m = maps[c];
    for (let i = 0; i < n; i++) out[offset + i * C + c] = m[i];
  }
}

/** Packs K targets and the shared weight channel-last [n, K + 1] at `offset`. */
function pack(targets: Float32Array[], weight: Float32Array | null, out: Float32Array, offset: number): void {
  const K = targets.length, n = targets[0].length;
  for (let i = 0; i < n; i++) {
    const o = offset + i * (K + 1);
    for (let k = 0; k < K; k++) out[o + k] = targets[k][i];
    out[o + K] = weight ? weight[i] : 1;
  }
}

/** Validates the options, the data and the output folder; nothing is written before this passes. */
async function resolveConfig(opts: TrainOptions): Promise<{ cfg: Config; data: TrainingData; sp: SchemeParams; fields: ('clean' | 'noisy' | 'frames')[]; valFields: ('clean' | 'noisy' | 'frames')[] }> {
  if (!opts || typeof opts !== 'object') throw new ConfigError('options', 'must be an object');
  const scheme = checkChoice('scheme', opts.scheme, SCHEMES);
  if (typeof opts.out !== 'string' || !opts.out) throw new ConfigError('out', 'must name the model folder to write');
  const epochs = checkNumber('epochs', opts.epochs ?? TRAIN_DEFAULTS.epochs, 1, 1e6, { integer: true });
  const stepsPerEpoch = checkNumber('stepsPerEpoch', opts.stepsPerEpoch ?? TRAIN_DEFAULTS.stepsPerEpoch, 1, 1e7, { integer: true });
  const batch = checkNumber('batch', opts.batch ?? TRAIN_DEFAULTS.batch, 1, 4096, { integer: true });
  const lr = checkNumber('lr', opts.lr ?? TRAIN_DEFAULTS.lr, 1e-9, 1e12);
  const valProjectionsAsked = checkNumber('valProjections', opts.valProjections ?? TRAIN_DEFAULTS.valProjections, 1, 10000, { integer: true });
  const patience = checkNumber('patience', opts.patience ?? TRAIN_DEFAULTS.patience, 1, 1e6, { integer: true });
  const thinning = checkRange('thinning', opts.thinning ?? TRAIN_DEFAULTS.thinning, 0.05, 0.95);
  const seed = opts.seed ?? TRAIN_DEFAULTS.seed;
  if (typeof seed !== 'number' && typeof seed !== 'string') throw new ConfigError('seed', `must be a number or a string, got ${JSON.stringify(seed)}`);
  if (opts.noise !== undefined) checkChoice('noise', opts.noise, ['fresh', 'fixed'] as const);
  if (opts.workers !== undefined) checkNumber('workers', opts.workers, 1, 64, { integer: true });
  if (opts.channels !== undefined && (!Array.isArray(opts.channels) || opts.channels.some((c) => typeof c !== 'string'))) throw new ConfigError('channels', 'must be a list of element channel names');
  const loss = checkChoice('loss', opts.loss ?? 'mse', LOSSES);

  // Channels: a multi-channel network (inputs/outputs by name) or the pooled single-channel one.
  const multi = typeof opts.data === 'object' && opts.data?.kind === 'multi-maps';
  const guided = opts.inputs !== undefined || opts.outputs !== undefined || multi;
  let inputs: string[] | null = null, outputs: string[] | null = null, roles: ChannelRole[] | null = null;
  if (guided) {
    const names = (field: string, v: unknown): string[] => {
      if (!Array.isArray(v) || v.length === 0 || v.some((c) => typeof c !== 'string' || !c)) throw new ConfigError(field, `must list channel names, e.g. HAADF,Au,Ag; got ${JSON.stringify(v)}`);
      if (new Set(v).size !== v.length) throw new ConfigError(field, `a channel is listed twice: ${v.join(',')}`);
      return v as string[];
    };
    if (opts.channels !== undefined) throw new ConfigError('channels', 'selects the channels of the pooled single-channel network; with inputs/outputs name the channels there');
    inputs = names('inputs', opts.inputs ?? (multi ? (opts.data as MultiMapSource).channels : undefined));
    roles = inputs.map((n) => (/^haadf$/i.test(n) ? 'guide' : 'element'));
    const elementInputs = inputs.filter((_, i) => roles![i] === 'element');
    if (elementInputs.length === 0) throw new ConfigError('inputs', `must include at least one element channel besides the HAADF, got ${inputs.join(',')}`);
    outputs = opts.outputs === undefined ? elementInputs : names('outputs', opts.outputs);
    for (const o of outputs) {
      if (/^haadf$/i.test(o)) throw new ConfigError('outputs', `the HAADF is a guide (an input given whole, never a target); outputs are element channels, e.g. ${elementInputs.join(',')}`);
      if (!inputs.includes(o)) throw new ConfigError('outputs', `'${o}' is not among the inputs (${inputs.join(',')}): every output is an element input too (its scale comes from that input)`);
    }
    if (multi && opts.inputs && stable(opts.inputs) !== stable((opts.data as MultiMapSource).channels)) throw new ConfigError('inputs', `the in-memory maps hold ${(opts.data as MultiMapSource).channels.join(',')}; inputs must be those, in that order`);
  }
  // Model: channel counts from the channels; softplus output for the Poisson loss unless given.
  const rawModel = { ...(opts.model ?? {}) } as Record<string, unknown>;
  const cIn = inputs ? inputs.length : 1, cOut = outputs ? outputs.length : 1;
  for (const [k, n] of [['inChannels', cIn], ['outChannels', cOut]] as const) {
    if (rawModel[k] !== undefined && rawModel[k] !== n) {
      throw new ConfigError(`model.${k}`, guided ? `must be ${n} (the ${k === 'inChannels' ? 'inputs' : 'outputs'} listed), got ${rawModel[k]}` : `must be 1: the network is pooled over element channels (one map in, one map out), got ${rawModel[k]}`);
    }
  }
  if (rawModel.residual === true && cIn !== cOut) throw new ConfigError('model.residual', `a residual output needs as many inputs as outputs (${cIn} in, ${cOut} out)`);
  if (loss === 'poisson' && rawModel.outputActivation === undefined) rawModel.outputActivation = 'softplus';
  // U-Net: predict the expected counts directly, not input + correction. At these counts the input
  // is mostly Poisson noise, and a residual U-Net must learn to cancel it: measured on the demo
  // data (64^3, depth 3, 16 filters, 200 steps) the direct U-Net reached 17.9 dB map PSNR at
  // 300 e/A^2 against 15.5 dB for the residual one, and 24.8 against 21.6 dB at 3000 e/A^2.
  if ((rawModel.arch ?? 'unet') === 'unet' && rawModel.residual === undefined) rawModel.residual = false;
  const models = await import('../models/index.ts');
  const spec = models.validateModelSpec({ arch: 'unet', ...rawModel, inChannels: cIn, outChannels: cOut }, 'model');

  // Data.
  const data =
    typeof opts.data === 'string'
      ? await datasetData(opts.data, inputs ?? opts.channels, guided)
      : multi
        ? multiMapData(opts.data as MultiMapSource, scheme === 'n2n-thinning')
        : guided
          ? (() => { throw new ConfigError('inputs', "a multi-channel network on in-memory maps needs { kind: 'multi-maps', channels, train, val }"); })()
          : mapData(opts.data as MapSource, scheme === 'n2n-thinning');
  if (typeof opts.data !== 'string' && !guided && opts.channels && !(opts.channels.length === 1 && opts.channels[0] === data.channels[0])) {
    throw new ConfigError('channels', `in-memory maps hold one channel ('${data.channels[0]}'), got ${opts.channels.join(',')}`);
  }
  const noise: NoiseMode = opts.noise ?? (data.has.clean ? 'fresh' : 'fixed');
  const hasCounts = data.has.noisy || data.has.frames;
  if (noise === 'fresh' && !data.has.clean) throw new ConfigError('noise', "'fresh' draws Poisson noise from the clean expected counts, which this data does not have; use 'fixed' (the stored noisy counts or frames)");
  if (scheme === 'supervised' && !data.has.clean) throw new ConfigError('scheme', 'supervised needs clean expected counts as targets; without them use n2n-thinning, n2n-frames or blind-spot');
  if (noise === 'fixed' && !hasCounts) throw new ConfigError('noise', "'fixed' uses the stored noisy counts or frames, which this data does not have; use 'fresh'");
  if (scheme === 'n2n-frames' && noise === 'fixed' && !(data.has.frames && data.nFrames >= 2)) {
    throw new ConfigError('scheme', `n2n-frames with fixed noise needs at least 2 stored frames per projection (dataset: store.frames with acquisition.frames >= 2)${data.has.clean ? "; or use noise 'fresh' to draw frames from the clean counts" : ''}; got ${data.nFrames} frames`);
  }
  const frames = noise === 'fresh' ? Math.max(2, data.nFrames) : data.nFrames;

  // Patch: a multiple of the U-Net's size multiple, at most the smallest map.
  const m = models.padMultiple(spec);
  const smallest = Math.min(...data.minSize);
  const maxPatch = Math.floor(smallest / m) * m;
  if (maxPatch < m) throw new ConfigError('model.depth', `maps of ${data.minSize.join('x')} are smaller than the network's size multiple ${m}; use a shallower network`);
  const patch = opts.patch === undefined ? Math.min(TRAIN_DEFAULTS.patch, maxPatch) : opts.patch;
  if (!(Number.isInteger(patch) && patch >= m && patch <= maxPatch && patch % m === 0)) {
    throw new ConfigError('patch', `must be a multiple of ${m} (2^(depth-1) of this U-Net) in [${m}, ${maxPatch}] (the smallest map is ${data.minSize.join('x')}), got ${opts.patch}`);
  }
  if (scheme === 'blind-spot' && patch < 8) throw new ConfigError('patch', `blind-spot needs patches of at least 8 px (stratified 7x7 mask cells), got ${patch}`);

  // Dose range of the inputs.
  let doseRange: [number, number] | null = null;
  if (noise === 'fresh') {
    const D = data.doses ? median(data.doses) : 1;
    doseRange = opts.doseRange === undefined ? [D / 4, D * 4] : checkRange('doseRange', opts.doseRange, 1e-12, 1e15);
    if (!(doseRange[0] > 0)) throw new ConfigError('doseRange', `doses must be > 0 e/A^2, got ${doseRange[0]}`);
  }

  const fields: ('clean' | 'noisy' | 'frames')[] =
    noise === 'fresh' ? ['clean'] : scheme === 'n2n-frames' ? ['frames'] : [...(scheme === 'supervised' ? (['clean'] as const) : []), data.has.noisy ? 'noisy' : 'frames'];
  const valFields = [...new Set([...fields, ...(data.has.clean ? (['clean'] as const) : []), ...(noise === 'fixed' && !fields.includes('frames') && !fields.includes('noisy') ? [data.has.noisy ? ('noisy' as const) : ('frames' as const)] : [])])];
  if (noise === 'fixed' && scheme === 'n2n-frames' && !valFields.includes('noisy') && data.has.noisy) valFields.push('noisy');

  const cfg: Config = {
    format: 'nanodose-train-config',
    scheme,
    data: typeof opts.data === 'string' ? resolve(opts.data) : data.description,
    out: resolve(opts.out),
    spec,
    channels: data.channels,
    inputs,
    roles,
    outputs,
    criterion: scheme === 'supervised' ? 'val-loss' : 'heldout-deviance',
    epochs,
    stepsPerEpoch,
    batch,
    patch,
    lr,
    lrMin: lr / 100,
    schedule: 'cosine per step from lr to lr/100 over epochs x stepsPerEpoch (Adam)',
    loss,
    noise,
    doseRange,
    thinning,
    frames,
    blindSpot: { fraction: 0.02, radius: 2 },
    seed,
    valProjections: Math.min(valProjectionsAsked, data.val.length),
    patience,
    workers: opts.workers ?? 0,
    backend: opts.backend ?? 'auto',
    normalisation: defaultNormalisation(),
    nanodoseVersion: models.nanodoseVersion(),
  };
  const sp: SchemeParams = { scheme, noise, doseRange: doseRange ?? [1, 1], thinning, frames, floor: cfg.normalisation.floor };
  return { cfg, data, sp, fields, valFields: valFields as ('clean' | 'noisy' | 'frames')[] };
}

/** Dose range of the inputs the model saw, for its metadata. */
function inputDoseRange(cfg: Config, data: TrainingData): [number, number] | undefined {
  if (cfg.doseRange) return cfg.doseRange;
  if (!data.doses) return undefined;
  const lo = Math.min(...data.doses), hi = Math.max(...data.doses);
  if (cfg.scheme === 'n2n-thinning') return [lo * Math.min(cfg.thinning[0], 1 - cfg.thinning[1]), hi * Math.max(cfg.thinning[1], 1 - cfg.thinning[0])];
  if (cfg.scheme === 'n2n-frames') return [(lo * Math.floor(cfg.frames / 2)) / cfg.frames, (hi * Math.ceil(cfg.frames / 2)) / cfg.frames];
  return [lo, hi];
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { cfg, data, sp, fields, valFields } = await resolveConfig(opts);
  const out = cfg.out;
  const quiet = opts.quiet ?? false;
  const say = (s: string) => {
    if (!quiet) console.log(s);
  };
  try {
    // Output folder: empty / absent, or a run to resume.
    const lastDir = join(out, 'last');
    const bestDir = join(out, 'best');
    if (existsSync(out) && readdirSync(out).length > 0 && !opts.resume) {
      throw new ConfigError('out', `${out} is not empty; use resume to continue the run there, or give a new folder`);
    }
    let resumeFrom: Awaited<ReturnType<typeof loadLast>> = null;
    if (opts.resume && existsSync(lastDir)) {
      const cfgPath = join(out, 'train-config.json');
      if (!existsSync(cfgPath)) throw new ConfigError('resume', `${out} has last/ but no train-config.json: not a nanodose training run`);
      const prev = JSON.parse(readFileSync(cfgPath, 'utf8')) as Config;
      for (const f of RESUME_FIELDS) {
        if (stable(prev[f]) !== stable(cfg[f])) throw new ConfigError('resume', `${f} differs from the run in ${out} (${stable(prev[f])} there, ${stable(cfg[f])} now); resume with the same settings or start a new folder`);
      }
      resumeFrom = await loadLast(lastDir);
    }

    const models = await import('../models/index.ts');
    const be = await models.initBackend({ backend: opts.backend ?? 'auto', quiet });
    const threads = be.backend === 'wasm' || be.backend === 'cpu' ? Math.min(64, opts.workers ?? (be.backend === 'wasm' ? resolveThreads() : 1)) : 1;
    if (opts.workers && opts.workers > 1 && threads === 1) say(`[nanodose] train: ${be.backend} runs on all cores itself; workers ${opts.workers} ignored`);
    cfg.backend = be.backend;

    const spec = cfg.spec;
    const model = models.buildModel(spec);
    // Each wasm worker has its own heap: memory bounds the worker count as well as the threads.
    const budget = threads > 1 ? trainingWorkers({ requested: threads, spec, batch: cfg.batch, patch: cfg.patch, parameters: model.countParams() }) : null;
    const workers = budget?.workers ?? 1;
    if (budget) say(`[nanodose] train: ${budget.line}`);
    cfg.workers = workers;
    try {
      models.checkMemory(spec, Math.ceil(cfg.batch / workers), cfg.patch, cfg.patch, { training: true, parameters: model.countParams() });
      models.checkMemory(spec, 1, data.maxSize[0], data.maxSize[1], { training: false, parameters: model.countParams() });
    } catch (e) {
      model.dispose();
      if (e instanceof models.MemoryError) throw new ConfigError('batch', e.message);
      throw e;
    }
    const optimizer = tf.train.adam(cfg.lr);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    let log: EpochLog[] = [];
    let state = { epoch: 0, step: 0, bestValLoss: Infinity, bestEpoch: 0, badEpochs: 0, lr: cfg.lr };
    if (resumeFrom) {
      model.setWeights(resumeFrom.model.getWeights());
      resumeFrom.model.dispose();
      await restoreOptimizer(optimizer, resumeFrom.state, resumeFrom.bin);
      const s = resumeFrom.state;
      state = { epoch: s.epoch, step: s.step, bestValLoss: s.bestValLoss ?? Infinity, bestEpoch: s.bestEpoch, badEpochs: s.badEpochs, lr: s.lr };
      const logPath = join(out, 'log.jsonl');
      if (existsSync(logPath)) log = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EpochLog).filter((e) => e.epoch <= s.epoch);
      say(`[nanodose] train: resuming ${out} after epoch ${s.epoch} (step ${s.step})`);
    } else {
      seededInit(model, cfg.seed);
    }
    const countLevels = await trainedCountLevels(cfg, data, sp, fields);
    const metaBase = (extra: Record<string, unknown>): ModelMetadata => ({
      spec,
      // Per channel: every input channel c is divided by its own whole-map mean s_c; output k is
      // multiplied back by the scale of the input it names (outputChannels).
      normalisation: cfg.inputs ? { ...defaultNormalisation(), perChannel: true, channels: cfg.inputs } : defaultNormalisation(),
      scheme: cfg.scheme,
      doseRange: inputDoseRange(cfg, data),
      channels: cfg.inputs ?? cfg.channels,
      ...(cfg.inputs ? { outputChannels: cfg.outputs, guideChannels: cfg.inputs.filter((_, i) => cfg.roles![i] === 'guide') } : {}),
      // Whole-map mean counts per pixel (s_c) of the inputs seen in training, per channel: denoise warns outside.
      countLevels,
      criterion: cfg.criterion,
      nanodoseVersion: cfg.nanodoseVersion,
      loss: cfg.loss,
      noise: cfg.noise,
      // Stored counts cap the training inputs at the stored dose: above it, tiled inference splits the counts (models/tiling.ts).
      ...(cfg.noise === 'fixed' ? { highCounts: 'split' } : {}),
      trainedOn: cfg.data,
      ...extra,
    });

    // Validation set: fixed, seeded whole projections, fixed noise draws.
    const valMaps = await buildValidation(cfg, data, sp, valFields);
    if (cfg.criterion === 'heldout-deviance' && valMaps.some((v) => !v.held)) {
      cfg.criterion = 'val-loss';
      say('[nanodose] train: the stored counts are not integers, so the held-out thinned-half criterion cannot split them; checkpoints are chosen on the validation loss');
    }
    writeFileAtomic(join(out, 'train-config.json'), JSON.stringify(cfg, null, 2) + '\n');
    const C = spec.inChannels, K = spec.outChannels;
    const validate = (): { valLoss: number; psnr?: number; ssim?: number; noisyPsnr?: number; heldoutDeviance?: number } => {
      let lossSum = 0, devSum = 0, devN = 0;
      const ps: number[] = [], ss: number[] = [], ns: number[] = [];
      for (const v of valMaps) {
        tf.tidy(() => {
          const x = tf.tensor4d(v.x, [1, v.h, v.w, C]);
          const y = tf.tensor4d(v.y, [1, v.h, v.w, K + 1]);
          const f = models.predictPadded(model, spec, x);
          lossSum += packedLossPerSample(cfg.loss, y, f)[0];
          const n = v.h * v.w;
          if (v.reference.some((r, k) => r && v.range[k] > 0)) {
            const xi = tf.tensor4d(v.xInf, [1, v.h, v.w, C]);
            const d = models.predictPadded(model, spec, xi).dataSync() as Float32Array;
            for (let k = 0; k < K; k++) {
              const ref = v.reference[k];
              if (!ref || !(v.range[k] > 0)) continue;
              const sk = v.sInf[outScaleIndex(cfg, k)];
              const den = new Float32Array(n);
              for (let i = 0; i < n; i++) den[i] = d[i * K + k] * sk;
              ps.push(psnr(ref, den, v.range[k]));
              if (v.h >= 7 && v.w >= 7) ss.push(ssim(ref, den, [v.h, v.w], v.range[k]));
              ns.push(v.noisyPsnr[k]!);
            }
          }
          if (v.held) {
            const xh = tf.tensor4d(v.held.x, [1, v.h, v.w, C]);
            const d = models.predictPadded(model, spec, xh).dataSync() as Float32Array;
            for (let k = 0; k < K; k++) {
              const sk = v.held.s[outScaleIndex(cfg, k)];
              const mu = new Float32Array(n);
              for (let i = 0; i < n; i++) mu[i] = d[i * K + k] * sk;
              devSum += heldoutDeviance(v.held.heldout[k], mu) * n;
              devN += n;
            }
          }
        });
      }
      const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : undefined);
      return { valLoss: lossSum / valMaps.length, psnr: mean(ps), ssim: mean(ss), noisyPsnr: mean(ns), heldoutDeviance: devN ? devSum / devN : undefined };
    };
    /** The checkpoint criterion's value (lower is better). */
    const criterionOf = (v: ReturnType<typeof validate>) => (cfg.criterion === 'heldout-deviance' ? v.heldoutDeviance! : v.valLoss);

    /** log.jsonl, then the learning curve beside it (CSV always; SVG/PNG unless drawing fails). */
    const writeLogAndCurve = async () => {
      writeFileAtomic(join(out, 'log.jsonl'), log.map((e) => JSON.stringify(e)).join('\n') + '\n');
      const err = await writeLearningCurve(out, log, `${cfg.scheme} (${spec.arch})`, state.bestEpoch);
      if (err) say(`[nanodose] train: learning curve not drawn: ${err.message}`);
    };

    let best = log.find((e) => e.epoch === state.bestEpoch);
    if (!resumeFrom) {
      // Epoch 0: the untrained network, the reference the training must improve on.
      const t0 = performance.now();
      const v = validate();
      if (!Number.isFinite(v.valLoss)) throw new TrainingDivergedError(`the untrained network's validation loss is ${v.valLoss}; check the data`, 0, 0);
      const e0: EpochLog = { epoch: 0, trainLoss: null, valLoss: v.valLoss, heldoutDeviance: v.heldoutDeviance, psnr: v.psnr, ssim: v.ssim, noisyPsnr: v.noisyPsnr, lr: null, imagesPerSecond: null, seconds: (performance.now() - t0) / 1000, step: 0 };
      log.push(e0);
      state.bestValLoss = criterionOf(v);
      best = e0;
      await models.saveModel(model, bestDir, metaBase({ epoch: 0, valLoss: v.valLoss, psnr: v.psnr, ssim: v.ssim }));
      await writeLogAndCurve();
      await saveLast(lastDir, model, metaBase({ epoch: 0, valLoss: v.valLoss }), optimizer, state);
      say(`epoch 0 (untrained): val loss ${fmt(v.valLoss)}${v.heldoutDeviance !== undefined ? `, held-out deviance ${fmt(v.heldoutDeviance, 6)}` : ''}${v.psnr !== undefined ? `, PSNR ${fmt(v.psnr)} dB (noisy input ${fmt(v.noisyPsnr)} dB), SSIM ${fmt(v.ssim)}` : ''}`);
    }

    let dp: import('../models/index.ts').DataParallel | undefined;
    if (workers > 1) {
      dp = await models.DataParallel.create({ spec, lossModule: fileURLToPath(new URL('./losses.ts', import.meta.url)), lossOptions: { kind: cfg.loss }, workers, backend: be.backend === 'cpu' ? 'cpu' : 'wasm' });
    }
    const B = cfg.batch, P = cfg.patch;
    let images = 0, trainSeconds = 0;
    let stoppedEarly = state.badEpochs >= cfg.patience;
    try {
      for (let epoch = state.epoch + 1; epoch <= cfg.epochs && !stoppedEarly; epoch++) {
        const tEpoch = performance.now();
        const bar = progress(`train ${cfg.scheme} epoch ${epoch}/${cfg.epochs}`, cfg.stepsPerEpoch * B, { unit: 'images', quiet });
        let lossSum = 0, tSteps = 0, lr = state.lr;
        for (let s = 0; s < cfg.stepsPerEpoch; s++) {
          const step = (epoch - 1) * cfg.stepsPerEpoch + s;
          lr = lrAt(cfg, step);
          (optimizer as unknown as { learningRate: number }).learningRate = lr;
          const { x, y } = await makeBatch(cfg, data, sp, fields, epoch, s);
          const t0 = performance.now();
          let lossValue: number;
          let grads: tf.NamedTensorMap;
          if (dp) {
            const r = await dp.gradients(model, { data: x, shape: [B, P, P, C] }, { data: y, shape: [B, P, P, K + 1] });
            lossValue = r.loss;
            grads = r.grads;
          } else {
            const xt = tf.tensor4d(x, [B, P, P, C]);
            const yt = tf.tensor4d(y, [B, P, P, K + 1]);
            const r = tf.variableGrads(() => packedLoss(cfg.loss, yt, model.apply(xt, { training: true }) as tf.Tensor), vars);
            lossValue = r.value.dataSync()[0];
            grads = r.grads;
            tf.dispose([xt, yt, r.value]);
          }
          if (!Number.isFinite(lossValue)) {
            tf.dispose(Object.values(grads));
            bar.stop();
            throw new TrainingDivergedError(
              `training diverged: the loss is ${lossValue} at epoch ${epoch}, step ${s + 1} of ${cfg.stepsPerEpoch} (global step ${step + 1}, lr ${fmt(lr, 3)}). ` +
                `The last good checkpoint (epoch ${state.epoch}) is kept in ${lastDir}; lower the learning rate (e.g. lr ${fmt(cfg.lr / 10, 3)}) and resume, or start a new folder.`,
              epoch,
              s + 1,
            );
          }
          optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
          tf.dispose(Object.values(grads));
          tSteps += (performance.now() - t0) / 1000;
          lossSum += lossValue;
          bar.increment(B, { loss: lossValue, lr });
        }
        bar.stop();
        const v = validate();
        if (!Number.isFinite(v.valLoss)) {
          throw new TrainingDivergedError(
            `training diverged: the validation loss is ${v.valLoss} after epoch ${epoch} (lr ${fmt(lr, 3)}). The last good checkpoint (epoch ${state.epoch}) is kept in ${lastDir}; lower the learning rate (e.g. lr ${fmt(cfg.lr / 10, 3)}) and resume, or start a new folder.`,
            epoch,
            cfg.stepsPerEpoch,
          );
        }
        images += B * cfg.stepsPerEpoch;
        trainSeconds += tSteps;
        const entry: EpochLog = {
          epoch,
          trainLoss: lossSum / cfg.stepsPerEpoch,
          valLoss: v.valLoss,
          heldoutDeviance: v.heldoutDeviance,
          psnr: v.psnr,
          ssim: v.ssim,
          noisyPsnr: v.noisyPsnr,
          lr,
          imagesPerSecond: (B * cfg.stepsPerEpoch) / Math.max(tSteps, 1e-9),
          seconds: (performance.now() - tEpoch) / 1000,
          step: epoch * cfg.stepsPerEpoch,
        };
        const score = criterionOf(v);
        const improved = score < state.bestValLoss - 1e-4 * Math.abs(state.bestValLoss) || !Number.isFinite(state.bestValLoss);
        state = { epoch, step: epoch * cfg.stepsPerEpoch, lr, bestValLoss: improved ? score : state.bestValLoss, bestEpoch: improved ? epoch : state.bestEpoch, badEpochs: improved ? 0 : state.badEpochs + 1 };
        if (improved) {
          best = entry;
          await models.saveModel(model, bestDir, metaBase({ epoch, valLoss: v.valLoss, psnr: v.psnr, ssim: v.ssim }));
        }
        log.push(entry);
        await writeLogAndCurve();
        await saveLast(lastDir, model, metaBase({ epoch, valLoss: v.valLoss, psnr: v.psnr, ssim: v.ssim }), optimizer, state);
        say(
          `epoch ${epoch}/${cfg.epochs}: train loss ${fmt(entry.trainLoss)}, val loss ${fmt(v.valLoss)}${v.heldoutDeviance !== undefined ? `, held-out deviance ${fmt(v.heldoutDeviance, 6)}` : ''}${improved ? ' (best)' : ''}` +
            `${v.psnr !== undefined ? `, PSNR ${fmt(v.psnr)} dB (noisy ${fmt(v.noisyPsnr)} dB), SSIM ${fmt(v.ssim)}` : ''}, lr ${fmt(lr, 3)}, ${fmt(entry.imagesPerSecond, 3)} images/s`,
        );
        opts.onEpoch?.(entry);
        if (state.badEpochs >= cfg.patience) {
          stoppedEarly = true;
          say(`early stop: no validation improvement for ${cfg.patience} epochs (best epoch ${state.bestEpoch})`);
        }
      }
    } finally {
      await dp?.close();
      optimizer.dispose();
      model.dispose();
    }
    const b = best ?? log[log.length - 1];
    return {
      out,
      bestDir,
      epochs: state.epoch,
      bestEpoch: state.bestEpoch,
      stoppedEarly,
      best: { valLoss: b.valLoss, psnr: b.psnr, ssim: b.ssim, noisyPsnr: b.noisyPsnr },
      imagesPerSecond: trainSeconds > 0 ? images / trainSeconds : 0,
    };
  } finally {
    await data.close();
  }
}

/** Input index whose scale output k is multiplied by (the output's own input channel). */
function outScaleIndex(cfg: Config, k: number): number {
  return cfg.inputs ? cfg.inputs.indexOf(cfg.outputs![k]) : 0;
}

type Field = 'clean' | 'noisy' | 'frames';

/** Every input channel of a ref: the group (multi-channel network) or the one map (pooled). */
async function partsOf(cfg: Config, data: TrainingData, ref: ProjectionRef, fields: Field[]): Promise<Projection[]> {
  if (cfg.inputs) return data.getGroup!(ref, fields);
  return [await data.get(ref, fields)];
}

/** The scheme's pair on every channel: inputs [C][n], targets [K][n], per-input scales. */
function pairOf(cfg: Config, parts: Projection[], sp: SchemeParams, rng: RandomStream, crop: { row: number; col: number; h: number; w: number }, opts: { dose?: number; p?: number; swap?: boolean } = {}): { inputs: Float32Array[]; targets: Float32Array[]; s: number[] } {
  if (!cfg.inputs) {
    const pr = makePair(parts[0], sp, rng, crop, opts);
    return { inputs: [pr.input], targets: [pr.target], s: [pr.s] };
  }
  const g = makeGuidedPair(parts, cfg.roles!, cfg.outputs!.map((o) => cfg.inputs!.indexOf(o)), sp, rng, crop, opts);
  return { inputs: g.inputs, targets: g.targets, s: g.s };
}

/** Blind-spot masks apply to the element channels only (the HAADF guide is given whole). */
function masked(cfg: Config, c: number): boolean {
  return !cfg.roles || cfg.roles[c] === 'element';
}

/**
 * One training batch: x [B, P, P, C], y [B, P, P, K + 1] = (K targets, weight), from
 * stream(seed, 'train', epoch, step, b).
 */
export async function makeBatch(cfg: Config, data: TrainingData, sp: SchemeParams, fields: Field[], epoch: number, step: number): Promise<{ x: Float32Array; y: Float32Array }> {
  const B = cfg.batch, P = cfg.patch, PP = P * P;
  const C = cfg.spec.inChannels, K = cfg.spec.outChannels;
  const x = new Float32Array(B * PP * C), y = new Float32Array(B * PP * (K + 1));
  for (let b = 0; b < B; b++) {
    const rng = stream(cfg.seed, 'train', epoch, step, b);
    const ref = data.train[rng.int(data.train.length)];
    const parts = await partsOf(cfg, data, ref, fields);
    const { h, w } = parts[0];
    const row = rng.int(h - P + 1), col = rng.int(w - P + 1);
    const pair = pairOf(cfg, parts, sp, rng, { row, col, h: P, w: P });
    const t = rng.int(8);
    let inputs = pair.inputs.map((m) => dihedral(m, P, t));
    const targets = pair.targets.map((m) => dihedral(m, P, t));
    let weight: Float32Array | null = null;
    if (cfg.scheme === 'blind-spot') {
      const m = blindSpotMask(P, P, rng, cfg.blindSpot);
      inputs = inputs.map((v, c) => (masked(cfg, c) ? applyBlindSpot(v, m) : v));
      weight = m.mask;
    }
    interleave(inputs, x, b * PP * C);
    pack(targets, weight, y, b * PP * (K + 1));
  }
  return { x, y };
}

async function buildValidation(cfg: Config, data: TrainingData, sp: SchemeParams, fields: Field[]): Promise<ValMap[]> {
  // A seeded choice of whole projections (partial Fisher-Yates), fixed for the whole run.
  const pick = stream(cfg.seed, 'val-select');
  const order = data.val.map((_, i) => i);
  const n = cfg.valProjections;
  for (let i = 0; i < n; i++) {
    const j = i + pick.int(order.length - i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const dMid = cfg.doseRange ? Math.sqrt(cfg.doseRange[0] * cfg.doseRange[1]) : undefined;
  const C = cfg.spec.inChannels, K = cfg.spec.outChannels;
  const outIdx = Array.from({ length: K }, (_, k) => outScaleIndex(cfg, k));
  const out: ValMap[] = [];
  for (let k = 0; k < n; k++) {
    const ref: ProjectionRef = data.val[order[k]];
    const parts = await partsOf(cfg, data, ref, fields);
    const { h, w } = parts[0];
    const pair = pairOf(cfg, parts, sp, stream(cfg.seed, 'val', k, 'pair'), { row: 0, col: 0, h, w }, { dose: dMid, p: 0.5, swap: false });
    let inputs = pair.inputs;
    let weight: Float32Array | null = null;
    if (cfg.scheme === 'blind-spot') {
      const m = blindSpotMask(h, w, stream(cfg.seed, 'val', k, 'mask'), cfg.blindSpot);
      inputs = inputs.map((v, c) => (masked(cfg, c) ? applyBlindSpot(v, m) : v));
      weight = m.mask;
    }
    const x = new Float32Array(h * w * C);
    interleave(inputs, x, 0);
    const y = new Float32Array(h * w * (K + 1));
    pack(pair.targets, weight, y, 0);
    // Full-dose inputs (every channel, the guide included, at the same dose) and references.
    // Stream names: channel 0 keeps the single-channel network's stream, so its validation is unchanged.
    const inf = parts.map((p, c) => inferenceInput(p, sp, stream(cfg.seed, 'val', k, c === 0 ? 'noise' : `noise-${c}`), dMid ?? p.dose));
    const { x: xInf, s: sInf } = normalisedInput(inf.map((v) => v.counts), h, w, sp.floor);
    const reference = outIdx.map((c) => inf[c].reference);
    const range = reference.map((r) => (r ? valueRange(r) : 0));
    const noisyPsnr = outIdx.map((c, q) => (reference[q] && range[q] > 0 ? psnr(reference[q]!, inf[c].counts, range[q]) : undefined));
    // Held-out criterion: every element channel's full-dose counts split into independent halves;
    // the model sees one half (with the guide whole), the other half scores its prediction.
    let held: ValMap['held'];
    if (cfg.criterion === 'heldout-deviance' && inf.every((v, c) => !masked(cfg, c) || isCounts(v.counts))) {
      const hs = inf.map((v, c) => (masked(cfg, c) ? heldoutSplit(v.counts, stream(cfg.seed, 'val', k, 'heldout', c)) : { input: v.counts, heldout: v.counts }));
      const { x: xh, s: sH } = normalisedInput(hs.map((v) => v.input), h, w, sp.floor);
      held = { x: xh, s: sH, heldout: outIdx.map((c) => hs[c].heldout) };
    }
    out.push({ h, w, x, y, xInf, sInf, reference, range, noisyPsnr, held });
  }
  return out;
}

/**
 * Whole-map mean counts per pixel (the normalisation scale s_c) of the inputs the model was trained
 * on, per input channel, [low, high] over up to 32 seeded training projections at the ends of the
 * training dose range (fresh noise: expected counts x dose; stored counts: the scheme's input
 * fraction of them). `denoise` and the evaluation warn when a map's level falls outside.
 */
async function trainedCountLevels(cfg: Config, data: TrainingData, sp: SchemeParams, fields: Field[]): Promise<Record<string, [number, number]>> {
  const pick = stream(cfg.seed, 'count-levels');
  const names = cfg.inputs ?? cfg.channels;
  const lv: Record<string, [number, number]> = {};
  const n = Math.min(32, data.train.length);
  const frac: [number, number] =
    cfg.noise === 'fresh' || cfg.scheme === 'supervised' || cfg.scheme === 'blind-spot'
      ? [1, 1]
      : cfg.scheme === 'n2n-thinning'
        ? [Math.min(cfg.thinning[0], 1 - cfg.thinning[1]), Math.max(cfg.thinning[1], 1 - cfg.thinning[0])]
        : [Math.floor(cfg.frames / 2) / cfg.frames, Math.ceil(cfg.frames / 2) / cfg.frames];
  for (let i = 0; i < n; i++) {
    const ref = data.train[pick.int(data.train.length)];
    const parts = await partsOf(cfg, data, ref, fields);
    parts.forEach((p, c) => {
      const key = cfg.inputs ? names[c] : 'element';
      let mean: number;
      let lo: number, hi: number;
      if (cfg.noise === 'fresh') {
        mean = mapSum(p.clean!) / (p.h * p.w);
        lo = (mean * sp.doseRange[0]) / p.dose;
        hi = (mean * sp.doseRange[1]) / p.dose;
      } else {
        mean = mapSum(storedCounts(p)) / (p.h * p.w);
        const isGuide = cfg.roles?.[c] === 'guide';
        lo = mean * (isGuide ? 1 : frac[0]);
        hi = mean * (isGuide ? 1 : frac[1]);
      }
      const cur = lv[key];
      lv[key] = cur ? [Math.min(cur[0], lo), Math.max(cur[1], hi)] : [lo, hi];
    });
  }
  if (!cfg.inputs && lv.element) {
    const r = lv.element;
    delete lv.element;
    for (const c of cfg.channels) lv[c] = r;
  }
  return lv;
}
