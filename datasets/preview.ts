/**
 * PNG previews (fast-png, 8-bit greyscale): a 2D map scaled linearly from its [lo, hi] range
 * (default: min and max) to 0..255.
 */
import { encode } from 'fast-png';
import { writeFileAtomic } from '../core/atomic.ts';

/** 8-bit greyscale of a [h, w] map: round(255 (v - lo) / (hi - lo)), clipped. */
export function toGrey8(map: ArrayLike<number>, h: number, w: number, range?: [number, number]): Uint8Array {
  let lo = range?.[0] ?? Infinity, hi = range?.[1] ?? -Infinity;
  if (!range) for (let i = 0; i < h * w; i++) { const v = map[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
  const s = hi > lo ? 255 / (hi - lo) : 0;
  const out = new Uint8Array(h * w);
  for (let i = 0; i < h * w; i++) out[i] = Math.max(0, Math.min(255, Math.round((map[i] - lo) * s)));
  return out;
}

export function writePngGrey(path: string, map: ArrayLike<number>, h: number, w: number, range?: [number, number]): void {
  writeFileAtomic(path, encode({ width: w, height: h, data: toGrey8(map, h, w, range), channels: 1, depth: 8 }));
}

/** The central z, y and x slices of an [n, n, n] volume as three [n, n] maps. */
export function centralSlices(vol: Float32Array, n: number): { z: Float32Array; y: Float32Array; x: Float32Array } {
  const c = Math.floor(n / 2);
  const z = vol.slice(c * n * n, (c + 1) * n * n);
  const y = new Float32Array(n * n), x = new Float32Array(n * n);
  for (let iz = 0; iz < n; iz++) for (let i = 0; i < n; i++) {
    y[iz * n + i] = vol[(iz * n + c) * n + i];
    x[iz * n + i] = vol[(iz * n + i) * n + c];
  }
  return { z, y, x };
}
