/**
 * What the network sees in training: `makeBatch` draws one batch of patches, the scheme's pair on
 * each (training/schemes.ts, training/guided.ts), a dihedral augmentation and the blind-spot mask,
 * packed channel-last; `trainedCountLevels` records the count levels of those inputs for the
 * model's metadata. Every draw comes from stream(seed, 'train', epoch, step, b).
 */
import { stream, type RandomStream } from '../core/random.ts';
import { dihedral } from './augment.ts';
import { applyBlindSpot, blindSpotMask } from './blindspot.ts';
import type { Field, TrainConfig } from './config.ts';
import { makeGuidedPair } from './guided.ts';
import { makePair, mapSum, storedCounts, type Projection, type SchemeParams } from './schemes.ts';
import type { ProjectionRef, TrainingData } from './sources.ts';

/** Interleaves channel-major maps [C][n] into channel-last [n, C] at `offset`. */
export function interleave(maps: Float32Array[], out: Float32Array, offset: number): void {
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
export function pack(targets: Float32Array[], weight: Float32Array | null, out: Float32Array, offset: number): void {
  const K = targets.length, n = targets[0].length;
  for (let i = 0; i < n; i++) {
    const o = offset + i * (K + 1);
    for (let k = 0; k < K; k++) out[o + k] = targets[k][i];
    out[o + K] = weight ? weight[i] : 1;
  }
}
/** Input index whose scale output k is multiplied by (the output's own input channel). */
export function outScaleIndex(cfg: TrainConfig, k: number): number {
  return cfg.inputs ? cfg.inputs.indexOf(cfg.outputs![k]) : 0;
}


/** Every input channel of a ref: the group (multi-channel network) or the one map (pooled). */
export async function partsOf(cfg: TrainConfig, data: TrainingData, ref: ProjectionRef, fields: Field[]): Promise<Projection[]> {
  if (cfg.inputs) return data.getGroup!(ref, fields);
  return [await data.get(ref, fields)];
}

/** The scheme's pair on every channel: inputs [C][n], targets [K][n], per-input scales. */
export function pairOf(cfg: TrainConfig, parts: Projection[], sp: SchemeParams, rng: RandomStream, crop: { row: number; col: number; h: number; w: number }, opts: { dose?: number; p?: number; swap?: boolean } = {}): { inputs: Float32Array[]; targets: Float32Array[]; s: number[] } {
  if (!cfg.inputs) {
    const pr = makePair(parts[0], sp, rng, crop, opts);
    return { inputs: [pr.input], targets: [pr.target], s: [pr.s] };
  }
  const g = makeGuidedPair(parts, cfg.roles!, cfg.outputs!.map((o) => cfg.inputs!.indexOf(o)), sp, rng, crop, opts);
  return { inputs: g.inputs, targets: g.targets, s: g.s };
}

/** Blind-spot masks apply to the element channels only (the HAADF guide is given whole). */
export function masked(cfg: TrainConfig, c: number): boolean {
  return !cfg.roles || cfg.roles[c] === 'element';
}

/**
 * One training batch: x [B, P, P, C], y [B, P, P, K + 1] = (K targets, weight), from
 * stream(seed, 'train', epoch, step, b).
 */
export async function makeBatch(cfg: TrainConfig, data: TrainingData, sp: SchemeParams, fields: Field[], epoch: number, step: number): Promise<{ x: Float32Array; y: Float32Array }> {
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


/**
 * Whole-map mean counts per pixel (the normalisation scale s_c) of the inputs the model was trained
 * on, per input channel, [low, high] over up to 32 seeded training projections at the ends of the
 * training dose range (fresh noise: expected counts x dose; stored counts: the scheme's input
 * fraction of them). `denoise` and the evaluation warn when a map's level falls outside.
 */
export async function trainedCountLevels(cfg: TrainConfig, data: TrainingData, sp: SchemeParams, fields: Field[]): Promise<Record<string, [number, number]>> {
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
