/**
 * Validation of a training run: `buildValidation` fixes, once per run, a seeded choice of whole
 * validation projections with their scheme pairs, full-dose noisy inputs, clean references and (for
 * the self-supervised schemes) HELDOUT_SPLITS independent thinnings of the counts into input and held-out parts; `validate` scores a model on
 * them each epoch (the scheme's loss, map PSNR/SSIM against the clean reference, held-out Poisson
 * deviance, training/criterion.ts); `criterionOf` is the checkpoint criterion's value.
 */
import * as tf from '@tensorflow/tfjs';
import { stream } from '../core/random.ts';
import { InternalError } from '../core/validate.ts';
import { psnr, ssim, valueRange } from '../eval/metrics/index.ts';
import { predictPadded } from '../models/networks/build.ts';
import { channelScales } from '../models/normalise.ts';
import { applyBlindSpot, blindSpotMask } from './blindspot.ts';
import { interleave, masked, outScaleIndex, pack, pairOf, partsOf } from './batch.ts';
import type { Field, TrainConfig } from './config.ts';
import { HELDOUT_FRACTION, HELDOUT_SPLITS, heldoutDeviance, heldoutSplit, isCounts } from './criterion.ts';
import { packedLossPerSample } from './losses.ts';
import { inferenceInput, type SchemeParams } from './schemes.ts';
import type { ProjectionRef, TrainingData } from './sources.ts';

/** One validation projection, whole, prepared once per run. */
export interface ValMap {
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
  /** Held-out criterion (self-supervised), per split j: thinned inputs [h, w, C] (fraction p), their scales, held-out counts per output. */
  held?: { p: number; splits: { x: Float32Array; s: number[]; heldout: Float32Array[] }[] };
}

/**
 * A whole-map network input: each map divided by its scale s_c = max(mean, floor) (the 'mean'
 * normalisation of models/normalise.ts, channelScales), interleaved channel-last [h, w, C].
 */
export function normalisedInput(maps: ArrayLike<number>[], h: number, w: number, floor: number): { x: Float32Array; s: number[] } {
  const s = maps.map((m) => channelScales(m, 1, h, w, { kind: 'mean', floor })[0]);
  const x = new Float32Array(h * w * maps.length);
  interleave(maps.map((m, c) => { const o = new Float32Array(h * w); for (let i = 0; i < o.length; i++) o[i] = m[i] / s[c]; return o; }), x, 0);
  return { x, s };
}

/** The validation set: cfg.valProjections seeded whole projections with fixed noise draws. */
export async function buildValidation(cfg: TrainConfig, data: TrainingData, sp: SchemeParams, fields: Field[]): Promise<ValMap[]> {
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
    // Held-out criterion: every element channel's full-dose counts split HELDOUT_SPLITS times into
    // independent parts (fraction p in, 1 - p held out); the model sees the input part (with the
    // guide whole), the held-out part scores its prediction (training/criterion.ts).
    let held: ValMap['held'];
    if (cfg.criterion === 'heldout-deviance' && inf.every((v, c) => !masked(cfg, c) || isCounts(v.counts))) {
      const p = HELDOUT_FRACTION;
      const splits = Array.from({ length: HELDOUT_SPLITS }, (_, j) => {
        const hs = inf.map((v, c) => (masked(cfg, c) ? heldoutSplit(v.counts, stream(cfg.seed, 'val', k, 'heldout', c, j), p) : { input: v.counts, heldout: v.counts }));
        const { x: xh, s: sH } = normalisedInput(hs.map((v) => v.input), h, w, sp.floor);
        return { x: xh, s: sH, heldout: outIdx.map((c) => hs[c].heldout) };
      });
      held = { p, splits };
    }
    out.push({ h, w, x, y, xInf, sInf, reference, range, noisyPsnr, held });
  }
  return out;
}

/** Scores of a model on the validation maps (PSNR/SSIM only where clean references exist). */
export interface ValScores {
  valLoss: number;
  psnr?: number;
  ssim?: number;
  noisyPsnr?: number;
  heldoutDeviance?: number;
}

/**
 * The network on a list of whole maps [1, h, w, C], each getting the values predictPadded gives it alone
 * (reflect-padded to the model's multiple, cropped back): outputs [h, w, K] in list order. The
 * data-parallel engine's predictEach spreads them over its workers (batching equal shapes, same bits).
 */
export type MapPredictor = (images: { data: Float32Array; shape: [number, number, number, number] }[]) => Promise<Float32Array[]>;

/** The MapPredictor in this thread. */
export function localPredictor(model: tf.LayersModel, spec: TrainConfig['spec']): MapPredictor {
  return async (images) => images.map((im) => tf.tidy(() => predictPadded(model, spec, tf.tensor4d(im.data, im.shape)).dataSync() as Float32Array));
}

/**
 * The model on every validation map: the scheme's loss on the pair, the denoised full-dose map's
 * PSNR/SSIM against the clean reference, and the held-out deviance (mean over the splits and pixels).
 * Every network input of every map goes to `predict` in one list (so the data-parallel workers share
 * them); the scores are then summed in map order, so the result does not depend on where the maps ran.
 */
export async function validate(cfg: TrainConfig, model: tf.LayersModel, valMaps: ValMap[], predict: MapPredictor = localPredictor(model, cfg.spec)): Promise<ValScores> {
  const spec = cfg.spec;
  const C = spec.inChannels, K = spec.outChannels;
  const hasRef = (v: ValMap) => v.reference.some((r, k) => r && v.range[k] > 0);
  const images: { data: Float32Array; shape: [number, number, number, number] }[] = [];
  for (const v of valMaps) {
    const shape: [number, number, number, number] = [1, v.h, v.w, C];
    images.push({ data: v.x, shape });
    if (hasRef(v)) images.push({ data: v.xInf, shape });
    if (v.held) for (const sp of v.held.splits) images.push({ data: sp.x, shape });
  }
  const outs = await predict(images);
  if (outs.length !== images.length) throw new InternalError(`validate: ${images.length} maps predicted, ${outs.length} outputs came back`);
  let next = 0;
  let lossSum = 0, devSum = 0, devN = 0;
  const ps: number[] = [], ss: number[] = [], ns: number[] = [];
  for (const v of valMaps) {
    const n = v.h * v.w;
    const f = outs[next++];
    lossSum += tf.tidy(() => packedLossPerSample(cfg.loss, tf.tensor4d(v.y, [1, v.h, v.w, K + 1]), tf.tensor4d(f, [1, v.h, v.w, K]))[0]);
    if (hasRef(v)) {
      const d = outs[next++];
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
      // The model's estimate of the input part's expected counts, rescaled to the held-out part: x (1 - p) / p.
      const r = (1 - v.held.p) / v.held.p;
      for (const sp of v.held.splits) {
        const d = outs[next++];
        for (let k = 0; k < K; k++) {
          const sk = sp.s[outScaleIndex(cfg, k)] * r;
          const mu = new Float32Array(n);
          for (let i = 0; i < n; i++) mu[i] = d[i * K + k] * sk;
          devSum += heldoutDeviance(sp.heldout[k], mu) * n;
          devN += n;
        }
      }
    }
  }
  const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : undefined);
  return { valLoss: lossSum / valMaps.length, psnr: mean(ps), ssim: mean(ss), noisyPsnr: mean(ns), heldoutDeviance: devN ? devSum / devN : undefined };
}

/** The checkpoint criterion's value (lower is better). */
export function criterionOf(cfg: TrainConfig, v: ValScores): number {
  return cfg.criterion === 'heldout-deviance' ? v.heldoutDeviance! : v.valLoss;
}
