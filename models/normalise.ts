/**
 * Input normalisation of count maps for the denoisers, shared by training (training/) and inference
 * (models/tiling.ts) so the two can never disagree.
 *
 * Kind 'mean' (the default): each channel of an image is divided by s_c = max(mean_c(x), floor),
 * the mean counts per pixel of that channel over the WHOLE image (never per tile, so tiled and
 * whole-image inference see the same scale), and the network's output is multiplied back by s_c.
 * Mean counts are proportional to dose, so this is normalisation by dose that also works when the
 * dose is unknown (real data): the network sees maps of mean about 1 at every dose, and the noise
 * level it must remove is read from the map itself (blind denoising over the trained dose range).
 *
 *   x_norm = x / s_c,   y = f(x_norm) * s_c,   s_c = max((1 / HW) sum_ij x_cij, floor)
 */
import { ConfigError, InternalError } from '../core/validate.ts';

export interface Normalisation {
  kind: 'mean';
  /** Smallest scale (counts per pixel) used for an almost empty map, so the division stays finite. */
  floor: number;
  [k: string]: unknown;
}

export function defaultNormalisation(): Normalisation {
  return { kind: 'mean', floor: 1e-3 };
}

/** Checks a normalisation record read from a model's metadata. */
export function checkNormalisation(n: { kind: string; [k: string]: unknown } | undefined): Normalisation {
  if (!n) return defaultNormalisation();
  if (n.kind !== 'mean') throw new ConfigError('model metadata normalisation.kind', `'${n.kind}' is not known to this nanodose; known: mean`);
  const floor = typeof n.floor === 'number' && n.floor > 0 ? n.floor : defaultNormalisation().floor;
  return { ...n, kind: 'mean', floor };
}

/**
 * Per-channel scales s_c of a [channels, h, w] image (or a batch [n, channels, h, w] when `batch`
 * is given: one scale per (image, channel), returned image-major).
 */
export function channelScales(x: ArrayLike<number>, channels: number, h: number, w: number, norm: Normalisation = defaultNormalisation(), batch = 1): Float64Array {
  const P = h * w;
  if (x.length !== batch * channels * P) throw new InternalError(`channelScales: ${x.length} values, expected ${batch} x ${channels} x ${h} x ${w}`);
  const s = new Float64Array(batch * channels);
  for (let k = 0; k < batch * channels; k++) {
    let sum = 0;
    const off = k * P;
    for (let i = 0; i < P; i++) sum += x[off + i];
    s[k] = Math.max(sum / P, norm.floor);
  }
  return s;
}

/**
 * Applicability of a model to a map: warnings (never errors) when a channel's whole-map mean counts
 * per pixel s_c falls outside the count levels the model was trained on (metadata.countLevels,
 * [low, high] per channel name), by more than a factor `slack` (default 1.5), or when the channel is
 * one the model was not trained on. With the 'mean' normalisation a model sees every map at mean
 * about 1, but the noise it must remove scales as 1 / sqrt(s_c): outside the trained levels it
 * extrapolates.
 */
export function applicabilityWarnings(meta: { channels?: string[]; countLevels?: unknown }, names: string[], scales: ArrayLike<number>, slack = 1.5): string[] {
  const out: string[] = [];
  const trained = meta.channels ?? [];
  const levels = (meta.countLevels ?? {}) as Record<string, [number, number] | undefined>;
  names.forEach((n, c) => {
    if (trained.length && !trained.includes(n)) out.push(`channel ${n}: the model was trained on ${trained.join(', ')}, not ${n}`);
    const lv = levels[n];
    if (!lv) return;
    const s = scales[c];
    if (s < lv[0] / slack || s > lv[1] * slack) out.push(`channel ${n}: ${s.toPrecision(3)} mean counts per pixel, outside the ${lv[0].toPrecision(3)}-${lv[1].toPrecision(3)} the model was trained on`);
  });
  return out;
}
