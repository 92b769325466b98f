/**
 * The training run's configuration: `TrainOptions` (what a caller gives), `TrainConfig` (what the
 * run uses, written to out/train-config.json) and `resolveConfig`, which checks the options, the
 * data and the channels before anything is written (ConfigError naming the field otherwise), and
 * `openRunFolder`, which refuses a non-empty folder unless resuming a run with the same settings.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Seed } from '../core/random.ts';
import { ConfigError, checkChoice, checkNumber, checkRange } from '../core/validate.ts';
import { defaultNormalisation } from '../models/normalise.ts';
import type { ModelSpec } from '../models/index.ts';
import type { EpochLog } from './curve.ts';
import { loadLast } from './checkpoint.ts';
import { LOSSES, type LossKind } from './losses.ts';
import { SCHEMES, type NoiseMode, type Scheme, type SchemeParams } from './schemes.ts';
import { datasetData, mapData, multiMapData, type MapSource, type MultiMapSource, type TrainingData } from './sources.ts';
import type { ChannelRole } from './guided.ts';
import { SELF_SUPERVISED_VAL_PROJECTIONS } from './criterion.ts';

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
  /** Parts each batch is cut into for data-parallel training (default 2): the weights depend on it, never on workers/--threads; at most this many workers are used. */
  shards?: number;
  backend?: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  valProjections?: number;
  patience?: number;
  quiet?: boolean;
  /** n2n-thinning: p uniform in this range (default [0.3, 0.7]). */
  thinning?: [number, number];
  /** Called after each epoch's checkpoint is written (a throw stops the run there, as a crash would). */
  onEpoch?: (log: EpochLog) => void;
}


export const TRAIN_DEFAULTS = { shards: 2, epochs: 30, stepsPerEpoch: 50, batch: 16, patch: 64, lr: 1e-3, valProjections: 8, patience: 10, thinning: [0.3, 0.7] as [number, number], seed: 0 };

/** Fields that must match between a run and its resume (others, e.g. epochs, lr, patience, workers, may change). */
export const RESUME_FIELDS = ['scheme', 'data', 'spec', 'channels', 'inputs', 'outputs', 'stepsPerEpoch', 'batch', 'patch', 'loss', 'noise', 'doseRange', 'thinning', 'frames', 'seed', 'valProjections', 'shards'] as const;

/** What the run uses, as written to out/train-config.json. */
export interface TrainConfig {
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
   * 'heldout-deviance' (self-supervised: Poisson deviance against independent held-out thinned
   * counts, averaged over several splits, training/criterion.ts).
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
  shards: number;
  backend: string;
  normalisation: ReturnType<typeof defaultNormalisation>;
  nanodoseVersion: string;
}


/** The fields of a projection a run reads. */
export type Field = 'clean' | 'noisy' | 'frames';

/** A checked configuration with its open data, the schemes' parameters and the fields to read. */
export interface ResolvedTraining {
  cfg: TrainConfig;
  data: TrainingData;
  sp: SchemeParams;
  /** Fields read for training pairs and for the validation maps. */
  fields: Field[];
  valFields: Field[];
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Stable JSON for config comparison. */
export function stable(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
}


/** Validates the options, the data and the output folder; nothing is written before this passes. */
export async function resolveConfig(opts: TrainOptions): Promise<ResolvedTraining> {
  if (!opts || typeof opts !== 'object') throw new ConfigError('options', 'must be an object');
  const scheme = checkChoice('scheme', opts.scheme, SCHEMES);
  if (typeof opts.out !== 'string' || !opts.out) throw new ConfigError('out', 'must name the model folder to write');
  const epochs = checkNumber('epochs', opts.epochs ?? TRAIN_DEFAULTS.epochs, 1, 1e6, { integer: true });
  const stepsPerEpoch = checkNumber('stepsPerEpoch', opts.stepsPerEpoch ?? TRAIN_DEFAULTS.stepsPerEpoch, 1, 1e7, { integer: true });
  const batch = checkNumber('batch', opts.batch ?? TRAIN_DEFAULTS.batch, 1, 4096, { integer: true });
  const lr = checkNumber('lr', opts.lr ?? TRAIN_DEFAULTS.lr, 1e-9, 1e12);
  // Self-supervised runs choose their checkpoint on held-out counts: more maps (training/criterion.ts).
  const valProjectionsAsked = checkNumber('valProjections', opts.valProjections ?? (scheme === 'supervised' ? TRAIN_DEFAULTS.valProjections : SELF_SUPERVISED_VAL_PROJECTIONS), 1, 10000, { integer: true });
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
  // Smoothed input copies: of each output's own input channel (pooled: the one input).
  if (Number(rawModel.smooth ?? 0) > 0 && rawModel.smoothChannels === undefined) rawModel.smoothChannels = outputs ? outputs.map((o) => inputs!.indexOf(o)) : [0];
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

  const fields: Field[] =
    noise === 'fresh' ? ['clean'] : scheme === 'n2n-frames' ? ['frames'] : [...(scheme === 'supervised' ? (['clean'] as const) : []), data.has.noisy ? 'noisy' : 'frames'];
  const valFields = [...new Set([...fields, ...(data.has.clean ? (['clean'] as const) : []), ...(noise === 'fixed' && !fields.includes('frames') && !fields.includes('noisy') ? [data.has.noisy ? ('noisy' as const) : ('frames' as const)] : [])])];
  if (noise === 'fixed' && scheme === 'n2n-frames' && !valFields.includes('noisy') && data.has.noisy) valFields.push('noisy');

  const cfg: TrainConfig = {
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
    shards: checkNumber('shards', opts.shards ?? TRAIN_DEFAULTS.shards, 1, 64, { integer: true }),
    backend: opts.backend ?? 'auto',
    normalisation: defaultNormalisation(),
    nanodoseVersion: models.nanodoseVersion(),
  };
  const sp: SchemeParams = { scheme, noise, doseRange: doseRange ?? [1, 1], thinning, frames, floor: cfg.normalisation.floor };
  return { cfg, data, sp, fields, valFields: valFields as Field[] };
}

/** Dose range of the inputs the model saw, for its metadata. */
export function inputDoseRange(cfg: TrainConfig, data: TrainingData): [number, number] | undefined {
  if (cfg.doseRange) return cfg.doseRange;
  if (!data.doses) return undefined;
  const lo = Math.min(...data.doses), hi = Math.max(...data.doses);
  if (cfg.scheme === 'n2n-thinning') return [lo * Math.min(cfg.thinning[0], 1 - cfg.thinning[1]), hi * Math.max(cfg.thinning[1], 1 - cfg.thinning[0])];
  if (cfg.scheme === 'n2n-frames') return [(lo * Math.floor(cfg.frames / 2)) / cfg.frames, (hi * Math.ceil(cfg.frames / 2)) / cfg.frames];
  return [lo, hi];
}

/** The run folder: out/last (resume state), out/best, and the last checkpoint when resuming. */
export interface RunFolder {
  out: string;
  lastDir: string;
  bestDir: string;
  resumeFrom: Awaited<ReturnType<typeof loadLast>>;
}

/**
 * The output folder must be empty or absent, or (with resume) a run with the same RESUME_FIELDS;
 * nothing is written here.
 */
export async function openRunFolder(cfg: TrainConfig, resume: boolean): Promise<RunFolder> {
  const out = cfg.out;
  const lastDir = join(out, 'last');
  const bestDir = join(out, 'best');
  if (existsSync(out) && readdirSync(out).length > 0 && !resume) {
    throw new ConfigError('out', `${out} is not empty; use resume to continue the run there, or give a new folder`);
  }
  let resumeFrom: RunFolder['resumeFrom'] = null;
  if (resume && existsSync(lastDir)) {
    const cfgPath = join(out, 'train-config.json');
    if (!existsSync(cfgPath)) throw new ConfigError('resume', `${out} has last/ but no train-config.json: not a nanodose training run`);
    const prev = JSON.parse(readFileSync(cfgPath, 'utf8')) as TrainConfig;
    for (const f of RESUME_FIELDS) {
      if (stable(prev[f]) !== stable(cfg[f])) throw new ConfigError('resume', `${f} differs from the run in ${out} (${stable(prev[f])} there, ${stable(cfg[f])} now); resume with the same settings or start a new folder`);
    }
    resumeFrom = await loadLast(lastDir);
  }
  return { out, lastDir, bestDir, resumeFrom };
}
