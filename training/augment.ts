/**
 * 8-fold dihedral augmentation of square patches: the 4 rotations by multiples of 90 degrees, each
 * with or without a transpose (the symmetry group D4 of the square, as in CARE and Noise2Void,
 * Weigert et al. 2018; Krull et al. 2019). Projections of nanoparticles have no preferred in-plane
 * orientation, and counting noise is pixel-wise, so every transform gives a valid training pair.
 *
 * Transform t in 0..7: transpose first when t >= 4, then rotate by (t mod 4) x 90 degrees
 * counter-clockwise. For an n x n patch, output (r, c) reads input at
 *   k = 0: (r, c)   k = 1: (c, n-1-r)   k = 2: (n-1-r, n-1-c)   k = 3: (n-1-c, r)
 * (of the transposed patch when t >= 4).
 */
import { InternalError } from '../core/validate.ts';

/** Index map of transform t on an n x n patch: out[i] = in[map[i]]. */
export function dihedralMap(n: number, t: number): Int32Array {
  if (!(Number.isInteger(t) && t >= 0 && t < 8)) throw new RangeError(`dihedral transform must be an integer in [0, 7], got ${t}`);
  const map = new Int32Array(n * n);
  const k = t & 3;
  const tr = t >= 4;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      let sr: number, sc: number;
      if (k === 0) { sr = r; sc = c; }
      else if (k === 1) { sr = c; sc = n - 1 - r; }
      else if (k === 2) { sr = n - 1 - r; sc = n - 1 - c; }
      else { sr = n - 1 - c; sc = r; }
      map[r * n + c] = tr ? sc * n + sr : sr * n + sc;
    }
  }
  return map;
}

const cache = new Map<string, Int32Array>();

/** Applies transform t to an n x n patch (returns a new array; t = 0 returns a copy). */
export function dihedral(src: Float32Array, n: number, t: number): Float32Array {
  if (src.length !== n * n) throw new InternalError(`dihedral: patch has ${src.length} values, expected ${n} x ${n}`);
  const key = `${n}/${t}`;
  let map = cache.get(key);
  if (!map) {
    map = dihedralMap(n, t);
    if (cache.size > 64) cache.clear();
    cache.set(key, map);
  }
  const out = new Float32Array(n * n);
  for (let i = 0; i < out.length; i++) out[i] = src[map[i]];
  return out;
}
