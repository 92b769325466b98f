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
 *
 * Files: training/config.ts (options, defaults, checks, the run folder), training/batch.ts (one
 * training batch), training/validation.ts (the fixed validation set and its scores), this file (the
 * model set-up, the optimiser steps, checkpoints and the log).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/atomic.ts';
import { expectWork, progress, status } from '../core/progress.ts';
import { resolveThreads } from '../core/threads.ts';
import { ConfigError } from '../core/validate.ts';
import { defaultNormalisation } from '../models/normalise.ts';
import { trainingWorkers } from '../models/parallel/budget.ts';
import type { DataParallel, ModelMetadata } from '../models/index.ts';
import { makeBatch, trainedCountLevels } from './batch.ts';
import { loadLast, restoreOptimizer, saveLast, seededInit } from './checkpoint.ts';
import { inputDoseRange, openRunFolder, resolveConfig, type TrainConfig, type TrainOptions } from './config.ts';
import { writeLearningCurve, writeLearningCurveCsv, type EpochLog } from './curve.ts';
import { packedLoss } from './losses.ts';
import type { TrainingData } from './sources.ts';
import { buildValidation, criterionOf, validate, type MapPredictor, type ValScores } from './validation.ts';

export { TRAIN_DEFAULTS, type TrainOptions } from './config.ts';

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


type Models = typeof import('../models/index.ts');
type Say = (s: string) => void;
/** Resume state, saved with out/last (training/checkpoint.ts). */
interface RunState { epoch: number; step: number; bestValLoss: number; bestEpoch: number; badEpochs: number; lr: number }

/** Cosine annealing per step from lr to lrMin over epochs x stepsPerEpoch (Loshchilov & Hutter 2017, no restarts). */
function lrAt(cfg: TrainConfig, step: number): number {
  const T = cfg.epochs * cfg.stepsPerEpoch;
  return cfg.lrMin + (cfg.lr - cfg.lrMin) * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, T)) / T));
}

function fmt(v: number | undefined | null, d = 4): string {
  return v === undefined || v === null || !Number.isFinite(v) ? 'n/a' : Number(v.toPrecision(d)).toString();
}

/** The message of a divergence: where it happened and what to do. */
function divergedAdvice(cfg: TrainConfig, state: RunState, lastDir: string): string {
  return `The last good checkpoint (epoch ${state.epoch}) is kept in ${lastDir}; lower the learning rate (e.g. lr ${fmt(cfg.lr / 10, 3)}) and resume, or start a new folder.`;
}

/**
 * The backend, the model and the data-parallel worker count: wasm/cpu split the batch over workers
 * (each with its own heap, so memory bounds the count as well as the threads); the memory check
 * runs before anything is written.
 */
async function setUpModel(cfg: TrainConfig, data: TrainingData, opts: TrainOptions, say: Say): Promise<{ models: Models; backend: string; model: tf.LayersModel; workers: number }> {
  const models = await import('../models/index.ts');
  const be = await models.initBackend({ backend: opts.backend ?? 'auto', quiet: opts.quiet ?? false });
  const threads = be.backend === 'wasm' || be.backend === 'cpu' ? Math.min(64, opts.workers ?? (be.backend === 'wasm' ? resolveThreads() : 1)) : 1;
  if (opts.workers && opts.workers > 1 && threads === 1) say(`[nanodose] train: ${be.backend} runs on all cores itself; workers ${opts.workers} ignored`);
  cfg.backend = be.backend;
  const spec = cfg.spec;
  const model = models.buildModel(spec);
  const budget = threads > 1 && cfg.shards > 1 ? trainingWorkers({ requested: Math.min(threads, cfg.shards), spec, batch: cfg.batch, patch: cfg.patch, parameters: model.countParams() }) : null;
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
  return { models, backend: be.backend, model, workers };
}

/** The weights and optimiser state of the last checkpoint, or the seeded initialisation; the log so far. */
async function startState(cfg: TrainConfig, model: tf.LayersModel, optimizer: tf.Optimizer, resumeFrom: Awaited<ReturnType<typeof loadLast>>, say: Say): Promise<{ state: RunState; log: EpochLog[] }> {
  let log: EpochLog[] = [];
  let state: RunState = { epoch: 0, step: 0, bestValLoss: Infinity, bestEpoch: 0, badEpochs: 0, lr: cfg.lr };
  if (resumeFrom) {
    model.setWeights(resumeFrom.model.getWeights());
    resumeFrom.model.dispose();
    await restoreOptimizer(optimizer, resumeFrom.state, resumeFrom.bin);
    const s = resumeFrom.state;
    state = { epoch: s.epoch, step: s.step, bestValLoss: s.bestValLoss ?? Infinity, bestEpoch: s.bestEpoch, badEpochs: s.badEpochs, lr: s.lr };
    const logPath = join(cfg.out, 'log.jsonl');
    if (existsSync(logPath)) log = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EpochLog).filter((e) => e.epoch <= s.epoch);
    say(`[nanodose] train: resuming ${cfg.out} after epoch ${s.epoch} (step ${s.step})`);
  } else {
    seededInit(model, cfg.seed);
  }
  return { state, log };
}

/** The metadata saved with every checkpoint; `extra` adds the epoch's figures. */
function modelMetadata(cfg: TrainConfig, data: TrainingData, countLevels: Record<string, [number, number]>, extra: Record<string, unknown>): ModelMetadata {
  return {
    spec: cfg.spec,
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
    shards: cfg.shards,
    ...extra,
  };
}

/** log.jsonl and learning-curve.csv after every epoch; the SVG/PNG are drawn once, at the end (drawCurve). */
function writeLogAndCurve(cfg: TrainConfig, log: EpochLog[]): void {
  writeFileAtomic(join(cfg.out, 'log.jsonl'), log.map((e) => JSON.stringify(e)).join('\n') + '\n');
  writeLearningCurveCsv(cfg.out, log);
}

/** The learning curve's SVG/PNG of the whole log (training/curve.ts: drawn when the run ends, 1-8 s each). */
async function drawCurve(cfg: TrainConfig, log: EpochLog[], bestEpoch: number, say: Say): Promise<void> {
  if (!log.length) return;
  const err = await writeLearningCurve(cfg.out, log, `${cfg.scheme} (${cfg.spec.arch})`, bestEpoch);
  if (err) say(`[nanodose] train: learning curve not drawn: ${err.message}`);
}

/** One optimiser step's loss and gradients, on the data-parallel workers or in this thread. */
async function lossAndGradients(cfg: TrainConfig, model: tf.LayersModel, vars: tf.Variable[], dp: DataParallel | undefined, x: Float32Array, y: Float32Array): Promise<{ loss: number; grads: tf.NamedTensorMap }> {
  const B = cfg.batch, P = cfg.patch, C = cfg.spec.inChannels, K = cfg.spec.outChannels;
  if (dp) {
    const r = await dp.gradients(model, { data: x, shape: [B, P, P, C] }, { data: y, shape: [B, P, P, K + 1] });
    return { loss: r.loss, grads: r.grads };
  }
  const xt = tf.tensor4d(x, [B, P, P, C]);
  const yt = tf.tensor4d(y, [B, P, P, K + 1]);
  const r = tf.variableGrads(() => packedLoss(cfg.loss, yt, model.apply(xt, { training: true }) as tf.Tensor), vars);
  const loss = r.value.dataSync()[0];
  tf.dispose([xt, yt, r.value]);
  return { loss, grads: r.grads };
}

function scoresLine(v: ValScores, noisyWord: string): string {
  return `${v.psnr !== undefined ? `, PSNR ${fmt(v.psnr)} dB (${noisyWord} ${fmt(v.noisyPsnr)} dB), SSIM ${fmt(v.ssim)}` : ''}`;
}

function deviancePart(v: ValScores): string {
  return v.heldoutDeviance !== undefined ? `, held-out deviance ${fmt(v.heldoutDeviance, 6)}` : '';
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  // A live line through the start-up (tens of seconds on a loaded machine before the first bar).
  const startup = status('train: opening the data and loading TensorFlow.js', { quiet: opts.quiet });
  const { cfg, data, sp, fields, valFields } = await resolveConfig(opts).catch((e) => { startup.stop(); throw e; });
  const quiet = opts.quiet ?? false;
  const say: Say = (s) => {
    if (!quiet) console.log(s);
  };
  try {
    const { out, lastDir, bestDir, resumeFrom } = await openRunFolder(cfg, opts.resume ?? false);
    startup.stop(); // initBackend prints the backend line
    const { models, backend, model, workers } = await setUpModel(cfg, data, opts, say);
    const optimizer = tf.train.adam(cfg.lr);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    let { state, log } = await startState(cfg, model, optimizer, resumeFrom, say);
    startup.update('train: building the validation set');
    const countLevels = await trainedCountLevels(cfg, data, sp, fields);
    const meta = (extra: Record<string, unknown>) => modelMetadata(cfg, data, countLevels, extra);

    // Validation set: fixed, seeded whole projections, fixed noise draws.
    const valMaps = await buildValidation(cfg, data, sp, valFields);
    if (cfg.criterion === 'heldout-deviance' && valMaps.some((v) => !v.held)) {
      cfg.criterion = 'val-loss';
      say('[nanodose] train: the stored counts are not integers, so the held-out thinned-half criterion cannot split them; checkpoints are chosen on the validation loss');
    }
    writeFileAtomic(join(out, 'train-config.json'), JSON.stringify(cfg, null, 2) + '\n');

    let dp: DataParallel | undefined;
    if (backend === 'wasm' || backend === 'cpu') {
      // always cfg.shards parts, whatever the worker count: the same weights on 1 or 64 threads
      dp = await models.DataParallel.create({ spec: cfg.spec, lossModule: fileURLToPath(new URL('./losses.ts', import.meta.url)), lossOptions: { kind: cfg.loss }, workers, shards: cfg.shards, backend: backend === 'cpu' ? 'cpu' : 'wasm' });
    }
    // Validation on the data-parallel workers (its maps dealt out; the same scores as in this thread).
    const predict: MapPredictor | undefined = dp ? (images) => dp!.predictEach(model, images) : undefined;

    let best = log.find((e) => e.epoch === state.bestEpoch);
    const B = cfg.batch;
    let images = 0, trainSeconds = 0;
    let stoppedEarly = false;
    // from here every exit (the untrained validation's included) closes the workers: the finally below
    try {
      if (!resumeFrom) {
        // Epoch 0: the untrained network, the reference the training must improve on.
        startup.update('train: validating the untrained network (epoch 0)');
        const t0 = performance.now();
        const v = await validate(cfg, model, valMaps, predict);
        startup.stop();
        if (!Number.isFinite(v.valLoss)) throw new TrainingDivergedError(`the untrained network's validation loss is ${v.valLoss}; check the data`, 0, 0);
        const e0: EpochLog = { epoch: 0, trainLoss: null, valLoss: v.valLoss, heldoutDeviance: v.heldoutDeviance, psnr: v.psnr, ssim: v.ssim, noisyPsnr: v.noisyPsnr, lr: null, imagesPerSecond: null, seconds: (performance.now() - t0) / 1000, step: 0 };
        log.push(e0);
        state.bestValLoss = criterionOf(cfg, v);
        best = e0;
        await models.saveModel(model, bestDir, meta({ epoch: 0, valLoss: v.valLoss, psnr: v.psnr, ssim: v.ssim }));
        writeLogAndCurve(cfg, log);
        await saveLast(lastDir, model, meta({ epoch: 0, valLoss: v.valLoss }), optimizer, state);
        say(`epoch 0 (untrained): val loss ${fmt(v.valLoss)}${deviancePart(v)}${scoresLine(v, 'noisy input')}`);
      }

      startup.stop();
      // The overall ETA (core/progress: `train` and `run` show one) counts every epoch left.
      expectWork(Math.max(0, cfg.epochs - state.epoch) * cfg.stepsPerEpoch * B);
      stoppedEarly = state.badEpochs >= cfg.patience;
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
          const { loss, grads } = await lossAndGradients(cfg, model, vars, dp, x, y);
          if (!Number.isFinite(loss)) {
            tf.dispose(Object.values(grads));
            bar.stop();
            throw new TrainingDivergedError(
              `training diverged: the loss is ${loss} at epoch ${epoch}, step ${s + 1} of ${cfg.stepsPerEpoch} (global step ${step + 1}, lr ${fmt(lr, 3)}). ${divergedAdvice(cfg, state, lastDir)}`,
              epoch,
              s + 1,
            );
          }
          optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
          tf.dispose(Object.values(grads));
          tSteps += (performance.now() - t0) / 1000;
          lossSum += loss;
          bar.increment(B, { loss, lr });
        }
        bar.stop();
        const v = await validate(cfg, model, valMaps, predict);
        if (!Number.isFinite(v.valLoss)) {
          throw new TrainingDivergedError(`training diverged: the validation loss is ${v.valLoss} after epoch ${epoch} (lr ${fmt(lr, 3)}). ${divergedAdvice(cfg, state, lastDir)}`, epoch, cfg.stepsPerEpoch);
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
        const score = criterionOf(cfg, v);
        const improved = score < state.bestValLoss - 1e-4 * Math.abs(state.bestValLoss) || !Number.isFinite(state.bestValLoss);
        state = { epoch, step: epoch * cfg.stepsPerEpoch, lr, bestValLoss: improved ? score : state.bestValLoss, bestEpoch: improved ? epoch : state.bestEpoch, badEpochs: improved ? 0 : state.badEpochs + 1 };
        if (improved) {
          best = entry;
          await models.saveModel(model, bestDir, meta({ epoch, valLoss: v.valLoss, psnr: v.psnr, ssim: v.ssim }));
        }
        log.push(entry);
        writeLogAndCurve(cfg, log);
        await saveLast(lastDir, model, meta({ epoch, valLoss: v.valLoss, psnr: v.psnr, ssim: v.ssim }), optimizer, state);
        say(`epoch ${epoch}/${cfg.epochs}: train loss ${fmt(entry.trainLoss)}, val loss ${fmt(v.valLoss)}${deviancePart(v)}${improved ? ' (best)' : ''}${scoresLine(v, 'noisy')}, lr ${fmt(lr, 3)}, ${fmt(entry.imagesPerSecond, 3)} images/s`);
        opts.onEpoch?.(entry);
        if (state.badEpochs >= cfg.patience) {
          stoppedEarly = true;
          say(`early stop: no validation improvement for ${cfg.patience} epochs (best epoch ${state.bestEpoch})`);
        }
      }
    } finally {
      // last epoch, early stop, divergence or an error: the curve of every logged epoch
      await drawCurve(cfg, log, state.bestEpoch, say);
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
    startup.stop();
    await data.close();
  }
}
