/**
 * Tiled inference: applies a denoiser to a count map of any size, tile by tile, so that the result
 * equals whole-image inference (`predictPadded`) to float rounding, and maps larger than the
 * backend's memory still run. Optional test-time augmentation over the 8 dihedral transforms.
 *
 * Normalisation (models/normalise.ts, shared with training): s_c = max(mean_c(x), floor) over the
 * WHOLE image, network input x / s_c, output * s_c (never per tile).
 *
 * Why tiles agree with the whole image. A fully convolutional network's output pixel p depends on
 * the input pixels [p - before, p + after] only ("cone", `contextExtent`, computed by propagating
 * index intervals through the layers exactly as build.ts wires them: 'same' convs, 2x2 pooling,
 * TensorFlow's 'same' padding of strided convs, transposed / nearest / bilinear up-sampling, skip
 * concatenation). Inside a tile, the zero padding of every 'same' layer at the tile's edge changes
 * only output pixels closer than `before` to a top/left edge or `after` to a bottom/right edge.
 * Pooling also makes a U-Net equivariant only to shifts by multiples of padMultiple(spec) = m, so
 * tile origins are multiples of m. Tiles touching the image border reach it and are reflect-padded
 * at the bottom/right exactly as predictPadded pads the whole image, so borders match too.
 * Hence each tile is trusted only on its "valid" part (outside the guard bands `before`/`after`
 * next to interior tile edges), and adjacent tiles overlap by at least before + after (and at
 * least the receptive field, science.md section 5) so every pixel is valid in some tile.
 *
 * Blending: along each axis a tile's weight is 0 in its guard bands, rises as a raised cosine over
 * the blend zone z = overlap - before - after, and is 1 elsewhere (1 up to an image border):
 *   h(d) = 0 (d < 0),  0.5 - 0.5 cos(pi (d + 1) / (z + 1)) (0 <= d < z),  1 (d >= z),
 * where d is the distance past the guard band; w(y, x) = w_y(y) w_x(x) (separable), and the output
 * is sum_t w_t y_t / sum_t w_t. Two tiles meeting over exactly the requested overlap have weights
 * summing to 1 (h(d) + h(z - 1 - d) = 1). Because only valid pixels get weight, blending never
 * mixes in edge artefacts; it only hides rounding-level seams.
 *
 * Test-time augmentation (tta): y = (1/8) sum_g g^-1 f(g x) over the dihedral group of the square
 * (identity, rotations by 90/180/270 degrees, and the 4 reflections), each term tiled in the
 * transformed frame (so it equals whole-image inference of g x) and normalised by its own weight
 * sum before averaging.
 *
 * Memory: the image is read tile by tile through index maps (no transformed copy), one batch of
 * equally sized tiles is a tensor at a time; the accumulators are plain Float32Arrays of the output
 * size (two more with tta).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelMetadata } from './io.ts';
import { fittingInferenceBatch } from './memory.ts';
import { padMultiple, predictPadded, receptiveField, smoothRadius } from './networks/build.ts';
import type { ModelSpec } from './networks/spec.ts';
import { channelScales, checkNormalisation } from './normalise.ts';
import { stream } from '../core/random.ts';
import { ConfigError, InternalError } from '../core/validate.ts';

/** Default tile edge (pixels): a map that fits in DEFAULT_TILE x DEFAULT_TILE runs as one tile. */
export const DEFAULT_TILE = 256;
/** Default blend zone (pixels) added to the minimum overlap. */
export const DEFAULT_BLEND = 16;
/** Default tiles per network call (lowered automatically when the wasm heap could not hold it). */
export const DEFAULT_BATCH = 4;

export interface TileOptions {
  /** Model metadata (loadModel returns it): spec (receptive field, pad multiple) and normalisation. Required. */
  metadata?: ModelMetadata;
  /** Tile edge in pixels (rounded down to a multiple of padMultiple). Default 256; a map that fits runs whole. */
  tile?: number;
  /** Overlap of adjacent tiles in pixels; default minimumOverlap(spec) + 16; smaller than minimumOverlap is an error. */
  overlap?: number;
  /** Average over the 8 dihedral transforms (8x the work). Default: the model's metadata.tta (false when absent). */
  tta?: boolean;
  /** Tiles per network call (default 4, lowered to what fits in the wasm heap). */
  batch?: number;
  /**
   * Above the count levels the model was trained on (metadata.countLevels): 'split' (default when
   * metadata.highCounts is 'split') splits the counts into m independent parts inside the trained
   * range and sums their estimates (see `highCountSplit`); 'extrapolate' applies the model as is.
   */
  highCounts?: 'split' | 'extrapolate';
}

/**
 * Exact one-sided extent of a network's cone: output pixel p depends on input pixels
 * [p - before, p + after] along each axis (the maximum over all positions p, so over every
 * alignment to the pooling grid). Computed by propagating index intervals through the layers on a
 * long 1-D line; before + after + 1 <= receptiveField(spec) + padMultiple(spec) - 1.
 */
export function contextExtent(spec: ModelSpec): { before: number; after: number } {
  const k = spec.kernelSize;
  const r = (k - 1) / 2;
  const m = padMultiple(spec);
  const rf = receptiveField(spec);
  const L = m * Math.ceil((6 * rf + 8 * m) / m);
  type Iv = { lo: Int32Array; hi: Int32Array };
  const ident = (n: number): Iv => ({ lo: Int32Array.from({ length: n }, (_, i) => i), hi: Int32Array.from({ length: n }, (_, i) => i) });
  const conv = (x: Iv, radius: number): Iv => {
    const n = x.lo.length;
    const lo = new Int32Array(n), hi = new Int32Array(n);
    for (let p = 0; p < n; p++) {
      let a = Infinity, b = -Infinity;
      for (let q = Math.max(0, p - radius); q <= Math.min(n - 1, p + radius); q++) {
        a = Math.min(a, x.lo[q]);
        b = Math.max(b, x.hi[q]);
      }
      lo[p] = a;
      hi[p] = b;
    }
    return { lo, hi };
  };
  const down = (x: Iv): Iv => {
    const n = x.lo.length;
    if (spec.down === 'maxpool') {
      const o = Math.floor(n / 2);
      const lo = new Int32Array(o), hi = new Int32Array(o);
      for (let q = 0; q < o; q++) {
        lo[q] = Math.min(x.lo[2 * q], x.lo[2 * q + 1]);
        hi[q] = Math.max(x.hi[2 * q], x.hi[2 * q + 1]);
      }
      return { lo, hi };
    }
    // k x k stride-2 'same' conv: TensorFlow pads floor(total / 2) before, total = (o - 1) * 2 + k - n.
    const o = Math.ceil(n / 2);
    const top = Math.floor(Math.max(0, (o - 1) * 2 + k - n) / 2);
    const lo = new Int32Array(o), hi = new Int32Array(o);
    for (let q = 0; q < o; q++) {
      let a = Infinity, b = -Infinity;
      for (let t = 0; t < k; t++) {
        const i = 2 * q - top + t;
        if (i < 0 || i >= n) continue;
        a = Math.min(a, x.lo[i]);
        b = Math.max(b, x.hi[i]);
      }
      lo[q] = a;
      hi[q] = b;
    }
    return { lo, hi };
  };
  const up = (x: Iv, n: number): Iv => {
    const c = x.lo.length;
    const lo = new Int32Array(n), hi = new Int32Array(n);
    for (let p = 0; p < n; p++) {
      // transposed 2x2/2 and nearest: coarse floor(p/2). Bilinear (alignCorners and halfPixelCenters
      // false): source p/2, so an odd p also reads the next coarse pixel (an even one has weight 0 there).
      const q0 = Math.min(c - 1, Math.floor(p / 2));
      const q1 = spec.up === 'bilinear' && p % 2 === 1 ? Math.min(c - 1, q0 + 1) : q0;
      lo[p] = Math.min(x.lo[q0], x.lo[q1]);
      hi[p] = Math.max(x.hi[q0], x.hi[q1]);
    }
    return { lo, hi };
  };
  const union = (a: Iv, b: Iv): Iv => ({ lo: a.lo.map((v, i) => Math.min(v, b.lo[i])), hi: a.hi.map((v, i) => Math.max(v, b.hi[i])) });
  let x = ident(L);
  if (spec.arch === 'unet') {
    // Fixed smoothed copies of the input (build.ts smoothing), concatenated to it and added to the output: radius R.
    if ((spec.smooth ?? 0) > 0) x = conv(x, smoothRadius(spec.smooth!));
    const skips: Iv[] = [];
    for (let l = 0; l < spec.depth; l++) {
      for (let c = 0; c < spec.convsPerLevel; c++) x = conv(x, r);
      if (l < spec.depth - 1) {
        skips.push(x);
        x = down(x);
      }
    }
    for (let l = spec.depth - 2; l >= 0; l--) {
      x = union(skips[l], up(x, skips[l].lo.length));
      for (let c = 0; c < spec.convsPerLevel; c++) x = conv(x, r);
    }
  } else if (spec.arch === 'dncnn') {
    for (let i = 0; i < spec.depth; i++) x = conv(x, r); // depth - 1 k x k conv blocks + the k x k output conv
  } else {
    for (let i = 0; i < spec.depth; i++) x = conv(x, r);
  }
  // Interior positions only (no clipping at the line's ends inside their cones), every alignment.
  const margin = 2 * rf + 2 * m;
  let before = 0, after = 0;
  for (let p = margin; p < L - margin; p++) {
    before = Math.max(before, p - x.lo[p]);
    after = Math.max(after, x.hi[p] - p);
  }
  return { before, after };
}

/** Smallest overlap that keeps tiled = whole-image inference: max(receptiveField, before + after). */
export function minimumOverlap(spec: ModelSpec): number {
  const { before, after } = contextExtent(spec);
  return Math.max(receptiveField(spec), before + after);
}

/**
 * Tile intervals [start, end) along one axis of `length` pixels: starts are multiples of
 * `multiple`, adjacent tiles overlap by at least `overlap`, spacing as even as the grid allows, the
 * last tile ends at `length` (up to tile + multiple - 1 long). One tile [0, length) when it fits.
 */
export function tileStarts(length: number, tile: number, overlap: number, multiple: number): [number, number][] {
  if (length <= tile) return [[0, length]];
  const T = Math.floor(tile / multiple) * multiple;
  const step = Math.floor((T - overlap) / multiple) * multiple;
  if (step < multiple) throw new ConfigError('tile', `${tile} px is too small for an overlap of ${overlap} px (needs tile >= overlap + ${multiple}, tiles start on multiples of ${multiple})`);
  const last = Math.floor((length - T) / multiple) * multiple;
  if (last === 0) return [[0, length]];
  const u = last / multiple;
  const steps = Math.ceil(u / (step / multiple));
  const out: [number, number][] = [];
  for (let i = 0; i <= steps; i++) {
    const s = multiple * Math.floor((i * u) / steps);
    out.push([s, i === steps ? length : s + T]);
  }
  return out;
}

/** Raised-cosine ramp h(d) over a blend zone of z pixels (see the module comment). */
function ramp(d: number, z: number): number {
  if (d < 0) return 0;
  if (d >= z) return 1;
  return 0.5 - 0.5 * Math.cos((Math.PI * (d + 1)) / (z + 1));
}

/** Per-axis blending weights of the tile [start, end) on an axis of `length` (see the module comment). */
export function axisWeights(start: number, end: number, length: number, before: number, after: number, blend: number): Float32Array {
  const n = end - start;
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const left = start === 0 ? 1 : ramp(i - before, blend);
    const right = end === length ? 1 : ramp(n - 1 - after - i, blend);
    w[i] = left * right;
  }
  return w;
}

/** A dihedral transform of an H x W image: transpose, then flip rows, then flip columns. */
interface Dihedral { transpose: boolean; flipRows: boolean; flipCols: boolean }

const DIHEDRAL: Dihedral[] = [false, true].flatMap((transpose) => [false, true].flatMap((flipRows) => [false, true].map((flipCols) => ({ transpose, flipRows, flipCols }))));

/**
 * Index maps of a transform: the transformed image is H' x W'; its pixel (i', j') is the original
 * pixel at offset rowOff[i'] + colOff[j'] (row-major, width W).
 */
function indexMaps(g: Dihedral, h: number, w: number): { h: number; w: number; rowOff: Int32Array; colOff: Int32Array } {
  const H = g.transpose ? w : h, W = g.transpose ? h : w;
  const rowOff = new Int32Array(H), colOff = new Int32Array(W);
  for (let i = 0; i < H; i++) {
    const ii = g.flipRows ? H - 1 - i : i;
    rowOff[i] = g.transpose ? ii : ii * w;
  }
  for (let j = 0; j < W; j++) {
    const jj = g.flipCols ? W - 1 - j : j;
    colOff[j] = g.transpose ? jj * w : jj;
  }
  return { h: H, w: W, rowOff, colOff };
}

/** Which input channel's scale each output channel is multiplied back by. */
function outputScaleIndex(spec: ModelSpec, metadata: ModelMetadata): number[] {
  const cin = spec.inChannels, cout = spec.outChannels;
  // Named outputs first (a multi-channel model's metadata.outputChannels, any order of the inputs).
  const names = (metadata as { outputChannels?: unknown }).outputChannels;
  if (Array.isArray(names)) {
    const idx = names.map((n) => (metadata.channels ?? []).indexOf(String(n)));
    if (names.length !== cout || !idx.every((i) => i >= 0 && i < cin)) throw new ConfigError('metadata.outputChannels', `${JSON.stringify(names)} must name ${cout} of the input channels ${JSON.stringify(metadata.channels)}`);
    return idx;
  }
  if (cout === cin) return Array.from({ length: cout }, (_, o) => o);
  // Channel order is HAADF then the elements: fewer outputs are the last inputs (e.g. HAADF+Au+Pd -> Au+Pd).
  if (cout < cin) return Array.from({ length: cout }, (_, o) => cin - cout + o);
  throw new ConfigError('metadata.outputChannels', `missing: the model has ${cin} input and ${cout} output channels, so the metadata must name which input channel each output is scaled by`);
}

const isCountMap = (a: Float32Array, from: number, to: number) => {
  for (let i = from; i < to; i++) if (!Number.isInteger(a[i]) || a[i] < 0) return false;
  return true;
};

/**
 * How many parts `denoiseTiled`'s high-count split uses: m = ceil(max_c s_c / hi_c) over the
 * element (non-guide) channels c with trained count levels [lo_c, hi_c] (metadata.countLevels) and
 * whole-map mean counts s_c; 1 when every channel is within its trained levels, when the metadata
 * has none, or when an element channel is not integer counts (only counts can be thinned).
 */
export function highCountParts(metadata: ModelMetadata, image: Float32Array, shape: [number, number, number]): number {
  const [C, h, w] = shape, P = h * w;
  const names = metadata.channels ?? [];
  const levels = (metadata.countLevels ?? {}) as Record<string, [number, number] | undefined>;
  const guides = new Set((metadata.guideChannels as string[] | undefined) ?? []);
  let k = 1;
  for (let c = 0; c < C; c++) {
    const lv = levels[names[c]];
    if (!lv || guides.has(names[c]) || !(lv[1] > 0)) continue;
    let sum = 0;
    for (let i = c * P; i < (c + 1) * P; i++) sum += image[i];
    k = Math.max(k, sum / P / lv[1]);
  }
  if (k <= 1) return 1;
  for (let c = 0; c < C; c++) if (!guides.has(names[c]) && !isCountMap(image, c * P, (c + 1) * P)) return 1;
  return Math.ceil(k);
}

/**
 * The m parts of a map [C, h, w] for the high-count split: every pixel's count n of every count
 * channel is split multinomially into m parts with probability 1/m each (sequential binomials
 * x_j ~ Binomial(n - x_0 - ... - x_{j-1}, 1 / (m - j))), so the parts are independent Poisson maps
 * at 1/m of the dose (Poisson thinning) and sum to the input exactly. A channel that is not counts
 * (a guide such as an 8-bit HAADF image) is given whole to every part: the network sees it divided
 * by its own mean, so only its noise level differs. Deterministic: the stream is seeded by m only.
 */
export function splitCounts(image: Float32Array, shape: [number, number, number], m: number): Float32Array[] {
  if (!(Number.isInteger(m) && m >= 1)) throw new InternalError(`splitCounts: m must be an integer >= 1, got ${m}`);
  const [C, h, w] = shape, P = h * w;
  const rng = stream('nanodose-high-count-split', m);
  const parts = Array.from({ length: m }, () => new Float32Array(image.length));
  for (let c = 0; c < C; c++) {
    if (!isCountMap(image, c * P, (c + 1) * P)) {
      for (const p of parts) p.set(image.subarray(c * P, (c + 1) * P), c * P);
      continue;
    }
    for (let i = c * P; i < (c + 1) * P; i++) {
      let rest = image[i];
      for (let j = 0; j < m - 1 && rest > 0; j++) {
        const x = rng.binomial(rest, 1 / (m - j));
        parts[j][i] = x;
        rest -= x;
      }
      parts[m - 1][i] = rest;
    }
  }
  return parts;
}

/**
 * Denoises one multi-channel count map `image` [channels, h, w] (raw counts, C order) with `model`:
 * returns the estimate of the expected counts [outChannels, h, w], in counts. See the module
 * comment for tiling, blending, normalisation and tta.
 *
 * Dose robustness above the trained count levels (`highCounts: 'split'`, the default of models
 * trained on stored counts, whose inputs never exceed the stored dose): when an element channel's
 * mean counts exceed the highest level seen in training by k > 1, the map is split into m = ceil(k)
 * independent Poisson parts at 1/m of the dose (`splitCounts`, guide channels too when they are
 * counts), each inside the trained range, and the estimates of the expected counts are summed:
 * E[sum_j f(y_j)] = sum_j lambda / m = lambda for an unbiased f, and the errors of the parts are
 * independent (thinning of Poisson counts gives independent Poisson maps; Lehtinen et al. 2018 use
 * the same property for Noise2Noise pairs). The model is never applied to noise lower than it was
 * trained on, where a blind denoiser extrapolates badly (issue 14: n2n Au map PSNR 18.6 dB at
 * 94.9 e/A^2 and 11 dB at 3000). Costs m network passes.
 */
export async function denoiseTiled(model: tf.LayersModel, image: Float32Array, shape: [number, number, number], opts: TileOptions = {}): Promise<Float32Array> {
  const mode = opts.highCounts ?? (opts.metadata?.highCounts === 'split' ? 'split' : 'extrapolate');
  if (mode !== 'split' && mode !== 'extrapolate') throw new ConfigError('highCounts', `must be 'split' or 'extrapolate', got ${String(mode)}`);
  const m = mode === 'split' && opts.metadata?.spec && image.length === shape[0] * shape[1] * shape[2] ? highCountParts(opts.metadata, image, shape) : 1;
  if (m <= 1) return (await denoiseMaps(model, [image], shape, opts))[0];
  // the parts' tiles share the network calls (a batch of equal tiles gives each tile the bits it gets alone)
  const ys = await denoiseMaps(model, splitCounts(image, shape, m), shape, opts);
  const sum = ys[0];
  for (let j = 1; j < ys.length; j++) { const y = ys[j]; for (let i = 0; i < y.length; i++) sum[i] += y[i]; }
  return sum;
}

/** Each of `images` (one shape [C, h, w]) denoised as denoiseTiled does with no split, their equal tiles batched together. */
async function denoiseMaps(model: tf.LayersModel, images: Float32Array[], shape: [number, number, number], opts: TileOptions): Promise<Float32Array[]> {
  const metadata = opts.metadata;
  if (!metadata?.spec) throw new ConfigError('denoiseTiled: opts.metadata', "missing: the model's metadata (with its spec) is required; loadModel(dir) returns it");
  const spec = metadata.spec;
  const [C, h, w] = shape;
  if (![C, h, w].every((n) => Number.isInteger(n) && n >= 1)) throw new ConfigError('denoiseTiled: shape', `must be three positive integers [channels, h, w], got [${shape.join(', ')}]`);
  for (const image of images) if (image.length !== C * h * w) throw new ConfigError('denoiseTiled: image', `${image.length} values, shape [${shape.join(', ')}] needs ${C * h * w}`);
  if (C !== spec.inChannels) {
    throw new ConfigError('denoiseTiled: image', `the image has ${C} channel(s) but the model takes ${spec.inChannels} (${metadata.channels?.join(', ') || 'channels unnamed'})`);
  }
  const modelIn = model.inputs[0]?.shape?.[3];
  if (typeof modelIn === 'number' && modelIn !== C) throw new ConfigError('metadata.spec.inChannels', `the model's input has ${modelIn} channels but its metadata.spec says ${spec.inChannels}`);
  const norm = checkNormalisation(metadata.normalisation);
  const m = padMultiple(spec);
  const { before, after } = contextExtent(spec);
  const minOverlap = Math.max(receptiveField(spec), before + after);
  const overlap = opts.overlap ?? minOverlap + DEFAULT_BLEND;
  if (!(Number.isInteger(overlap) && overlap >= minOverlap)) {
    throw new ConfigError('overlap', `must be an integer >= ${minOverlap} for this ${spec.arch} (receptive field ${receptiveField(spec)} px; an output pixel sees ${before} px before and ${after} px after it), got ${overlap}`);
  }
  const tile = opts.tile ?? DEFAULT_TILE;
  if (!(Number.isInteger(tile) && tile >= 1)) throw new ConfigError('tile', `must be an integer >= 1, got ${tile}`);
  const batchWanted = opts.batch ?? DEFAULT_BATCH;
  if (!(Number.isInteger(batchWanted) && batchWanted >= 1)) throw new ConfigError('batch', `must be an integer >= 1, got ${batchWanted}`);
  const blend = overlap - before - after;
  const Cout = spec.outChannels;
  const P = h * w;

  // Whole-image scales; the network sees x / s_c.
  const per = images.map((image) => {
    const sc = channelScales(image, C, h, w, norm);
    return { image, inv: Float64Array.from(sc, (v) => 1 / v), outScale: outputScaleIndex(spec, metadata).map((c) => sc[c]), result: new Float32Array(Cout * P), acc: new Float32Array(0), wsum: new Float32Array(P) };
  });
  const transforms = (opts.tta ?? metadata.tta === true) ? DIHEDRAL : DIHEDRAL.slice(0, 1);
  for (const q of per) q.acc = transforms.length > 1 ? new Float32Array(Cout * P) : q.result;
  const batchFor = new Map<string, number>();

  for (const g of transforms) {
    for (const q of per) { if (q.acc !== q.result) q.acc.fill(0); q.wsum.fill(0); }
    const map = indexMaps(g, h, w);
    const rows = tileStarts(map.h, tile, overlap, m);
    const cols = tileStarts(map.w, tile, overlap, m);
    // Tiles grouped by size (over every image) so each network call is one batch of equal tiles.
    const queues = new Map<string, { k: number; r: [number, number]; c: [number, number] }[]>();
    const flush = async (key: string) => {
      const q = queues.get(key);
      if (!q || q.length === 0) return;
      queues.set(key, []);
      const th = q[0].r[1] - q[0].r[0], tw = q[0].c[1] - q[0].c[0];
      const buf = new Float32Array(q.length * th * tw * C);
      q.forEach((t, b) => {
        const { image, inv } = per[t.k];
        let o = b * th * tw * C;
        for (let y = 0; y < th; y++) {
          const ro = map.rowOff[t.r[0] + y];
          for (let x = 0; x < tw; x++) {
            const src = ro + map.colOff[t.c[0] + x];
            for (let c = 0; c < C; c++) buf[o++] = image[c * P + src] * inv[c];
          }
        }
      });
      const yT = tf.tidy(() => predictPadded(model, spec, tf.tensor4d(buf, [q.length, th, tw, C])));
      let pred: Float32Array;
      try {
        pred = (await yT.data()) as Float32Array;
      } finally {
        yT.dispose();
      }
      q.forEach((t, b) => {
        const { acc, wsum } = per[t.k];
        const wy = axisWeights(t.r[0], t.r[1], map.h, before, after, blend);
        const wx = axisWeights(t.c[0], t.c[1], map.w, before, after, blend);
        let o = b * th * tw * Cout;
        for (let y = 0; y < th; y++) {
          const ro = map.rowOff[t.r[0] + y];
          for (let x = 0; x < tw; x++, o += Cout) {
            const wt = wy[y] * wx[x];
            if (wt === 0) continue;
            const dst = ro + map.colOff[t.c[0] + x];
            wsum[dst] += wt;
            for (let c = 0; c < Cout; c++) acc[c * P + dst] += wt * pred[o + c];
          }
        }
      });
    };
    for (let k = 0; k < per.length; k++) {
      for (const r of rows) {
        for (const c of cols) {
          const th = r[1] - r[0], tw = c[1] - c[0];
          const key = `${th}x${tw}`;
          if (!batchFor.has(key)) batchFor.set(key, fittingBatch(spec, batchWanted, th, tw));
          const q = queues.get(key) ?? [];
          q.push({ k, r, c });
          queues.set(key, q);
          if (q.length >= batchFor.get(key)!) await flush(key);
        }
      }
    }
    for (const key of [...queues.keys()]) await flush(key);
    // Normalise by the summed weights (every pixel is valid in at least one tile).
    const share = 1 / transforms.length;
    for (const { acc, wsum, result } of per) {
      for (let i = 0; i < P; i++) {
        const ws = wsum[i];
        if (!(ws > 0)) throw new InternalError(`denoiseTiled: pixel ${i} is covered by no tile's valid region (tile ${tile}, overlap ${overlap})`);
        for (let c = 0; c < Cout; c++) {
          const v = acc[c * P + i] / ws;
          if (acc === result) result[c * P + i] = v;
          else result[c * P + i] += v * share;
        }
      }
    }
  }
  for (const { result, outScale } of per) {
    for (let c = 0; c < Cout; c++) {
      const sc = outScale[c];
      for (let i = 0; i < P; i++) result[c * P + i] *= sc;
    }
  }
  return per.map((q) => q.result);
}

/** The largest batch <= wanted of th x tw tiles that checkMemory lets through (wasm heap), at least 1. */
function fittingBatch(spec: ModelSpec, wanted: number, th: number, tw: number): number {
  const { batch, error } = fittingInferenceBatch(spec, wanted, th, tw);
  if (batch >= 1) return batch;
  const m = padMultiple(spec);
  throw new ConfigError('tile', `one ${Math.ceil(th / m) * m}x${Math.ceil(tw / m) * m} tile does not fit in the backend's memory (${error!.message}); use a smaller --tile`);
}
