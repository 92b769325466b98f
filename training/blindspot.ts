/**
 * Blind-spot masking for Noise2Void / Noise2Self (Krull, Buchholz & Jug, CVPR 2019; Batson & Royer,
 * ICML 2019). About `fraction` of the pixels of a patch (default 2 %) are chosen stratified: the
 * patch is cut into g x g cells, g = round(1 / sqrt(fraction)) (g = 7 gives 1/49 = 2.04 %), and one
 * pixel is drawn uniformly in each cell. Each masked pixel's input value is replaced by the value
 * of a pixel drawn uniformly from its (2r+1) x (2r+1) window (r = 2: 5 x 5, as N2V), never itself
 * and never another masked pixel, so no masked pixel's value reaches the network input anywhere:
 * the prediction at a masked pixel is independent of the noise at that pixel, and the loss there,
 *
 *   L = sum_i m_i (f(J(y))_i - y_i)^2 / sum_i m_i,
 *
 * is minimised in expectation by E[y_i | neighbours] (Batson & Royer's J-invariance; pixel-wise
 * independent noise, which Poisson counting noise is). The blind spot weakens below about one
 * count per pixel, where the neighbours carry little information.
 *
 * The masking is one linear operator: x'_i = x_{src_i}, src_i = i for unmasked pixels. It is
 * applied in JS for training (`applyBlindSpot`) and with tf ops for the gradient test
 * (`blindSpotTensor`); the two agree exactly.
 */
import * as tf from '@tensorflow/tfjs';
import type { RandomStream } from '../core/random.ts';
import { InternalError } from '../core/validate.ts';

export interface BlindSpotMask {
  /** Patch height and width. */
  h: number;
  w: number;
  /** For every pixel, the pixel its input value is read from (itself when not masked). */
  src: Int32Array;
  /** 1 at masked pixels, 0 elsewhere. */
  mask: Float32Array;
  /** The masked pixel indices. */
  masked: Int32Array;
}

export interface BlindSpotOptions {
  /** Fraction of masked pixels (default 0.02). */
  fraction?: number;
  /** Window radius for the replacement (default 2: a 5 x 5 window). */
  radius?: number;
}

/** Draws a stratified blind-spot mask and replacement sources for an h x w patch. */
export function blindSpotMask(h: number, w: number, rng: RandomStream, opts: BlindSpotOptions = {}): BlindSpotMask {
  const fraction = opts.fraction ?? 0.02;
  const r = opts.radius ?? 2;
  if (!(fraction > 0 && fraction <= 0.25)) throw new RangeError(`blind-spot fraction must be in (0, 0.25], got ${fraction}`);
  const g = Math.max(2, Math.round(1 / Math.sqrt(fraction)));
  const mask = new Float32Array(h * w);
  const list: number[] = [];
  for (let r0 = 0; r0 < h; r0 += g) {
    for (let c0 = 0; c0 < w; c0 += g) {
      const gh = Math.min(g, h - r0), gw = Math.min(g, w - c0);
      // Partial cells at the border keep the density: masked with probability (area / g^2).
      if (gh * gw < g * g && rng.uniform() >= (gh * gw) / (g * g)) continue;
      const i = (r0 + rng.int(gh)) * w + (c0 + rng.int(gw));
      mask[i] = 1;
      list.push(i);
    }
  }
  const src = new Int32Array(h * w);
  for (let i = 0; i < src.length; i++) src[i] = i;
  const cand: number[] = [];
  for (const i of list) {
    const pr = Math.floor(i / w), pc = i % w;
    cand.length = 0;
    for (let dr = -r; dr <= r; dr++) {
      const rr = pr + dr;
      if (rr < 0 || rr >= h) continue;
      for (let dc = -r; dc <= r; dc++) {
        const cc = pc + dc;
        if (cc < 0 || cc >= w || (dr === 0 && dc === 0)) continue;
        const j = rr * w + cc;
        if (mask[j] === 0) cand.push(j);
      }
    }
    // A 5x5 window holds at most a few masked pixels (one per 7x7 cell), so candidates always exist.
    if (cand.length === 0) throw new InternalError(`blind-spot: no unmasked neighbour for pixel ${i} (patch ${h}x${w} too small)`);
    src[i] = cand[rng.int(cand.length)];
  }
  return { h, w, src, mask, masked: Int32Array.from(list) };
}

/** x'_i = x_{src_i}: the blind-spot input of one patch. */
export function applyBlindSpot(x: Float32Array, m: BlindSpotMask): Float32Array {
  if (x.length !== m.src.length) throw new InternalError(`applyBlindSpot: ${x.length} values, mask is ${m.h}x${m.w}`);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[m.src[i]];
  return out;
}

/**
 * The same operator on a [1, h, w, 1] tensor, differentiable with kernels every backend has
 * (wasm lacks the gather gradient): x' = x (1 - m) + sum over offsets o of S_o * shift_o(x), where
 * S_o marks the masked pixels whose source lies at offset o and shift_o reads the zero-padded map
 * at (row + o_r, col + o_c). Used for the gradient check; agrees exactly with `applyBlindSpot`.
 */
export function blindSpotTensor(x: tf.Tensor4D, m: BlindSpotMask, radius = 2): tf.Tensor4D {
  const { h, w } = m;
  const sel = new Map<string, Float32Array>();
  for (const i of m.masked) {
    const j = m.src[i];
    const dr = Math.floor(j / w) - Math.floor(i / w), dc = (j % w) - (i % w);
    if (Math.abs(dr) > radius || Math.abs(dc) > radius) throw new InternalError(`blindSpotTensor: source offset (${dr}, ${dc}) outside radius ${radius}`);
    const key = `${dr},${dc}`;
    let s = sel.get(key);
    if (!s) sel.set(key, (s = new Float32Array(h * w)));
    s[i] = 1;
  }
  return tf.tidy(() => {
    const keep = tf.tensor4d(m.mask.map((v) => 1 - v), [1, h, w, 1]);
    let y = tf.mul(x, keep) as tf.Tensor4D;
    const padded = tf.pad(x, [[0, 0], [radius, radius], [radius, radius], [0, 0]]);
    for (const [key, s] of sel) {
      const [dr, dc] = key.split(',').map(Number);
      const shifted = tf.slice(padded, [0, radius + dr, radius + dc, 0], [1, h, w, 1]);
      y = tf.add(y, tf.mul(shifted, tf.tensor4d(s, [1, h, w, 1]))) as tf.Tensor4D;
    }
    return y;
  });
}
