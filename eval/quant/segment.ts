/**
 * Segmentation of the particle in a reconstructed HAADF volume, and its interior.
 *
 * Otsu (eval/metrics' otsuThreshold, tested against scikit-image's threshold_otsu) on a two-element
 * particle can split the heavy from the light element instead of the particle from the vacuum
 * (three populations: vacuum, B, A; with Au and Ag, Ag at 41 % of Au's level). Every full-density voxel
 * is at least k Z_B^gamma = (Z_B/Z_A)^gamma k Z_A^gamma, and no voxel is brighter than k Z_A^gamma, so
 * the threshold is lowered to half the darkest full-density level that Otsu's bright class allows:
 *   t = min(t_Otsu, 0.5 (Z_B/Z_A)^gamma median(v > t_Otsu)).
 * Components (6-connected) smaller than 1 % of the largest are dropped (isolated noise voxels).
 * The interior at depth r is the mask eroded r times by the 6-neighbourhood (voxels whose partial
 * volume with the vacuum does not bias the concentration).
 */
import { otsuThreshold } from '../metrics/index.ts';
import { ConfigError } from '../../core/validate.ts';

export type Shape3 = [number, number, number];

const STEP = [-1, 1, -1, 1, -1, 1];

/** Median of the values selected by `keep` (NaN when none). */
export function medianWhere(v: ArrayLike<number>, keep: (x: number, i: number) => boolean): number {
  const sel: number[] = [];
  for (let i = 0; i < v.length; i++) if (keep(v[i], i)) sel.push(v[i]);
  if (!sel.length) return NaN;
  const s = Float64Array.from(sel).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** The particle threshold (module comment); `levelRatio` = (Z_B/Z_A)^gamma. */
export function particleThreshold(volume: ArrayLike<number>, levelRatio: number): { threshold: number; otsu: number } {
  const otsu = otsuThreshold(volume);
  const bright = medianWhere(volume, (x) => x > otsu);
  const t = Number.isFinite(bright) ? Math.min(otsu, 0.5 * levelRatio * bright) : otsu;
  return { threshold: t, otsu };
}

/** Mask of values > threshold, keeping the 6-connected components of at least `minFraction` of the largest. */
export function segmentParticle(volume: ArrayLike<number>, shape: Shape3, threshold: number, minFraction = 0.01): Uint8Array {
  const [nz, ny, nx] = shape, n = nz * ny * nx;
  if (volume.length !== n) throw new ConfigError('segmentParticle', `volume has ${volume.length} values, shape ${shape.join('x')} needs ${n}`);
  const label = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  const sizes: number[] = [];
  for (let s = 0; s < n; s++) {
    if (label[s] !== -1 || !(volume[s] > threshold)) continue;
    const id = sizes.length;
    let head = 0, tail = 0;
    queue[tail++] = s; label[s] = id;
    while (head < tail) {
      const i = queue[head++];
      const x = i % nx, y = ((i - x) / nx) % ny, z = (i - x - y * nx) / (nx * ny);
      for (let k = 0; k < 6; k++) {
        const ok = k === 0 ? x > 0 : k === 1 ? x < nx - 1 : k === 2 ? y > 0 : k === 3 ? y < ny - 1 : k === 4 ? z > 0 : z < nz - 1;
        if (!ok) continue;
        const j = i + STEP[k] * (k < 2 ? 1 : k < 4 ? nx : nx * ny);
        if (label[j] === -1 && volume[j] > threshold) { label[j] = id; queue[tail++] = j; }
      }
    }
    sizes.push(tail);
  }
  const largest = sizes.reduce((m, v) => Math.max(m, v), 0);
  const keep = sizes.map((v) => v >= minFraction * largest);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (label[i] >= 0 && keep[label[i]]) mask[i] = 1;
  return mask;
}

/** The mask eroded `depth` times by the 6-neighbourhood (voxels on the volume's faces count as boundary). */
export function erode(mask: Uint8Array, shape: Shape3, depth: number): Uint8Array {
  const [nz, ny, nx] = shape;
  let cur = mask.slice();
  let next = new Uint8Array(mask.length);
  for (let d = 0; d < depth; d++) {
    next.fill(0);
    for (let z = 0, i = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) {
      if (!cur[i] || x === 0 || y === 0 || z === 0 || x === nx - 1 || y === ny - 1 || z === nz - 1) continue;
      if (cur[i - 1] && cur[i + 1] && cur[i - nx] && cur[i + nx] && cur[i - nx * ny] && cur[i + nx * ny]) next[i] = 1;
    }
    [cur, next] = [next, cur];
  }
  return cur;
}

/** The mask dilated `depth` times by the 6-neighbourhood. */
export function dilate(mask: Uint8Array, shape: Shape3, depth: number): Uint8Array {
  const [nz, ny, nx] = shape;
  let cur = mask.slice();
  let next = new Uint8Array(mask.length);
  for (let d = 0; d < depth; d++) {
    next.set(cur);
    for (let z = 0, i = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) {
      if (cur[i]) continue;
      if ((x > 0 && cur[i - 1]) || (x < nx - 1 && cur[i + 1]) || (y > 0 && cur[i - nx]) || (y < ny - 1 && cur[i + nx]) || (z > 0 && cur[i - nx * ny]) || (z < nz - 1 && cur[i + nx * ny])) next[i] = 1;
    }
    [cur, next] = [next, cur];
  }
  return cur;
}
