/**
 * Non-finite values (NaN, +-Infinity) in a user's input: one check used by denoise, reconstruct,
 * train and eval. By default the first bad value is an error naming the file and its index (a
 * NaN pixel otherwise spreads through a convolution or a SIRT update to the whole output, with
 * exit 0); where the user asks (`--mask-nonfinite`), bad values are set to a fill value (0) and
 * counted, and the caller reports the count.
 */
import { ConfigError } from './validate.ts';

type Floats = Float32Array | Float64Array;

/** Index of the first NaN or infinite value, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    // v - v is 0 for finite v and NaN for NaN and +-Infinity: one comparison per value.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** `[i, j, k]` of flat index `flat` in a C-order array of `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return out;
}

export interface FiniteCheck {
  /** Where the values came from (file, and dataset or channel), for the message. */
  source: string;
  /** Shape of the array, for a multi-index in the message (flat index if absent). */
  shape?: readonly number[];
  /** Axis names matching `shape`, e.g. ['angle', 'row', 'col']. */
  axes?: readonly string[];
  /** Replace bad values with `fill` instead of refusing. */
  mask?: boolean;
  fill?: number;
}

/**
 * Refuses (ConfigError 'input', exit 2) an array holding NaN or infinite values, naming the
 * source, the first bad index and its value; with `mask`, replaces them in place and returns
 * how many there were (0 when the array is clean).
 */
export function checkFinite(a: Floats, o: FiniteCheck): number {
  const first = firstNonFinite(a);
  if (first < 0) return 0;
  if (!o.mask) {
    const where = o.shape ? `[${unravel(first, o.shape).map((v, d) => (o.axes?.[d] ? `${o.axes[d]} ${v}` : String(v))).join(', ')}]` : `index ${first}`;
    let n = 0;
    for (let i = first; i < a.length; i++) if (a[i] - a[i] !== 0) n++;
    throw new ConfigError('input', `${o.source} holds ${n} non-finite value(s) (first ${a[first]} at ${where}); values must be finite: fix the file, or pass --mask-nonfinite to set them to ${o.fill ?? 0} and go on`);
  }
  const fill = o.fill ?? 0;
  let n = 0;
  for (let i = first; i < a.length; i++) {
    if (a[i] - a[i] !== 0) {
      a[i] = fill;
      n++;
    }
  }
  return n;
}
