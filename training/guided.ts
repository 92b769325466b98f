/**
 * Multi-channel training pairs: a network that sees a guide (the HAADF image, recorded by the same
 * beam at the same time) and every element map at once, and predicts every element map.
 *
 * Channels of one pair (one projection, all channels at one crop):
 *   - element channels (EDX maps): the scheme's own (input, target) of training/schemes.ts
 *     makePair, all drawn at ONE dose d, one thinning fraction p and one swap, so the channels of a
 *     pair are one acquisition. Targets exist only for the output channels (outputs are element
 *     inputs: each output is scaled back by its own input's whole-map scale at inference).
 *   - guide channels (HAADF): the noisy image given WHOLE as an input, as it is measured: it is
 *     never thinned, split into frames or masked, and never a target. With fresh noise it is drawn
 *     Poisson(clean_H x d / D) at the same dose d as the EDX input (the stored clean HAADF is
 *     expected counts at the sample's dose D and is linear in dose: see the physical HAADF model,
 *     generators/signal); with stored counts it is the stored noisy HAADF (or the sum of its frames).
 * Every channel is divided by its own whole-map scale s_c = max(mean_c, floor) (models/normalise.ts),
 * so nothing depends on the HAADF's absolute scale (its detector efficiency, or the 100x change of
 * the HAADF model): the network sees each channel at mean about 1.
 *
 * Why the guide helps: the HAADF has far more counts than the EDX maps (it collects the scattered
 * electrons, not the rare X-rays), so it shows where the particle and its Z changes are; a network
 * given it can smooth the EDX counts inside regions and keep edges (guided filtering, He et al.
 * 2013, doi:10.1109/TPAMI.2012.213, learned here).
 *
 * Blind-spot with a guide: one mask for every element channel (the noise of different channels is
 * independent, so hiding pixel i of every element keeps each element's prediction at i independent
 * of its own noise there); the HAADF is not masked (its noise is independent of the X-ray counts).
 */
import { poissonNoise } from '../generators/signal/noise.ts';
import type { RandomStream } from '../core/random.ts';
import { InternalError } from '../core/validate.ts';
import { makePair, mapSum, storedCounts, type Crop, type PairOptions, type Projection, type SchemeParams } from './schemes.ts';

export type ChannelRole = 'guide' | 'element';

export interface GuidedPair {
  /** Inputs, channel-major [C, h, w], each divided by its own scale. */
  inputs: Float32Array[];
  /** Targets of the output channels, [K][h, w], on their input channel's scale. */
  targets: Float32Array[];
  /** Whole-map scale of every input channel. */
  s: number[];
  /** Dose per projection of the element inputs (e/A^2). */
  dose: number;
}

function cropScaled(a: Float32Array, W: number, c: Crop, k: number): Float32Array {
  const out = new Float32Array(c.h * c.w);
  for (let r = 0; r < c.h; r++) {
    const off = (c.row + r) * W + c.col;
    for (let j = 0; j < c.w; j++) out[r * c.w + j] = a[off + j] * k;
  }
  return out;
}

/**
 * The guide's input on crop c: the noisy HAADF at the element input's dose `dose` (fresh noise), or
 * the stored counts (fixed), divided by its whole-map scale.
 */
export function guideInput(p: Projection, sp: SchemeParams, rng: RandomStream, c: Crop, dose: number): { input: Float32Array; s: number } {
  const { h, w } = p;
  let y: Float32Array, total: number;
  if (sp.noise === 'fresh') {
    if (!p.clean) throw new InternalError('guideInput: fresh noise needs the clean HAADF (resolveConfig refuses noise fresh without clean data)');
    const k = dose / p.dose;
    const lam = cropScaled(p.clean, w, c, k);
    let lamCrop = 0;
    for (let i = 0; i < lam.length; i++) lamCrop += lam[i];
    y = Float32Array.from(poissonNoise(lam, rng));
    const rest = Math.max(0, k * mapSum(p.clean) - lamCrop);
    total = (rest > 0 ? rng.poisson(rest) : 0);
    for (let i = 0; i < y.length; i++) total += y[i];
  } else {
    const counts = storedCounts(p);
    y = cropScaled(counts, w, c, 1);
    total = mapSum(counts);
  }
  const s = Math.max(total / (h * w), sp.floor);
  for (let i = 0; i < y.length; i++) y[i] /= s;
  return { input: y, s };
}

/**
 * The multi-channel pair of `sp.scheme` on crop c (see the module comment): `parts[i]` is input
 * channel i with role `roles[i]`; `outputs` lists the input indices of the output channels.
 * Deterministic for a given stream: dose, p and swap are drawn first, then each channel in order.
 */
export function makeGuidedPair(parts: Projection[], roles: ChannelRole[], outputs: number[], sp: SchemeParams, rng: RandomStream, c: Crop, opts: PairOptions = {}): GuidedPair {
  const d = opts.dose ?? (sp.noise === 'fresh' ? rng.logUniform(sp.doseRange[0], sp.doseRange[1]) : undefined);
  const p = opts.p ?? (sp.scheme === 'n2n-thinning' ? rng.uniformIn(sp.thinning[0], sp.thinning[1]) : undefined);
  const swap = opts.swap ?? (sp.scheme === 'n2n-thinning' || sp.scheme === 'n2n-frames' ? rng.uniform() < 0.5 : undefined);
  const inputs: Float32Array[] = [], s: number[] = [], targets = new Map<number, Float32Array>();
  let dose = d ?? NaN;
  for (let i = 0; i < parts.length; i++) {
    if (roles[i] !== 'element') continue;
    const pr = makePair(parts[i], sp, rng, c, { dose: d, p, swap });
    inputs[i] = pr.input;
    s[i] = pr.s;
    targets.set(i, pr.target);
    dose = pr.dose;
  }
  for (let i = 0; i < parts.length; i++) {
    if (roles[i] !== 'guide') continue;
    // Fixed noise: the guide is the stored (full-dose) image; its dose is the sample's.
    const g = guideInput(parts[i], sp, rng, c, d ?? parts[i].dose);
    inputs[i] = g.input;
    s[i] = g.s;
  }
  return { inputs, targets: outputs.map((o) => targets.get(o)!), s, dose };
}
