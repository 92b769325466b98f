/**
 * What every convex solid shares: the ConvexSolid interface, the chord as the length of the entry/exit
 * interval (written once, in ChordFromInterval), the overlap of two intervals (intersectionInterval, also
 * used by the analytic projector's chord evaluators), and the small allocation-free helpers (rotations,
 * slab method, Illinois root finding) of the solids in this folder.
 */
import type { Solid } from '../types.ts';

/** What a chord needs of a convex body: a bounding sphere and the entry/exit interval along a line. */
export interface IntervalSolid {
  /** Centre and radius of a sphere containing the solid. */
  readonly cx: number;
  readonly cy: number;
  readonly cz: number;
  readonly radius: number;
  /**
   * Writes the parameters t of entry and exit of the line p + t d (|d| = 1) into out[0], out[1];
   * returns false (and leaves out undefined) when the line misses the solid.
   */
  interval(px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array): boolean;
  /** Length of the line p + t d (|d| = 1) inside the solid: out[1] - out[0] of interval, 0 on a miss. */
  chord(px: number, py: number, pz: number, dx: number, dy: number, dz: number): number;
}

/** A convex solid that can also give the entry/exit interval along a line. */
export interface ConvexSolid extends Solid, IntervalSolid {
  /**
   * A cheap conservative sdf: same sign as sdf (or zero) and |bound| <= |sdf|. Used to skip
   * voxels and blocks far from the surface.
   */
  bound(x: number, y: number, z: number): number;
  /** sdf and its gradient (unit outward normal of the nearest surface point) into g[0..2]. */
  sdfGrad(x: number, y: number, z: number, g: Float64Array): number;
  /**
   * The sdf where it is within `cut` of the surface: returns the exact sdf (and, if g is given, its
   * gradient as sdfGrad) when |sdf| < cut; otherwise any value v with the sign of the sdf, |v| >= cut
   * and |v| <= |sdf| (g untouched). Clipped at +-cut the result is exact; used by voxelisation to
   * skip exact distances far from the surface without a separate bound() pass.
   */
  sdfWithin(x: number, y: number, z: number, cut: number, g: Float64Array | null): number;
}

/**
 * The chord of a convex body from its interval (one interval per line, so the chord is exit - entry);
 * the one implementation of chord() for the solids and the analytic projector's evaluators.
 */
export abstract class ChordFromInterval {
  private readonly chordOut = new Float64Array(2);
  abstract interval(px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array): boolean;
  chord(px: number, py: number, pz: number, dx: number, dy: number, dz: number): number {
    return this.interval(px, py, pz, dx, dy, dz, this.chordOut) ? this.chordOut[1] - this.chordOut[0] : 0;
  }
}

/**
 * Interval of the line in the intersection of two convex bodies: the overlap [max entry, min exit] of
 * their intervals (tmp: scratch for b's interval). Exact; false when either is missed or they do not overlap.
 */
export function intersectionInterval(
  a: IntervalSolid, b: IntervalSolid,
  px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array, tmp: Float64Array,
): boolean {
  if (!a.interval(px, py, pz, dx, dy, dz, out)) return false;
  const t0 = out[0], t1 = out[1];
  if (!b.interval(px, py, pz, dx, dy, dz, tmp)) return false;
  out[0] = Math.max(t0, tmp[0]);
  out[1] = Math.min(t1, tmp[1]);
  return out[1] > out[0];
}

export const EPS_DEN = 1e-14;

/** Row-major 3x3 matrix times vector, into out[0..2]. */
export function mul3(m: ArrayLike<number>, x: number, y: number, z: number, out: Float64Array): void {
  out[0] = m[0] * x + m[1] * y + m[2] * z;
  out[1] = m[3] * x + m[4] * y + m[5] * z;
  out[2] = m[6] * x + m[7] * y + m[8] * z;
}

/** Transposed: m^T v. */
export function mulT3(m: ArrayLike<number>, x: number, y: number, z: number, out: Float64Array): void {
  out[0] = m[0] * x + m[3] * y + m[6] * z;
  out[1] = m[1] * x + m[4] * y + m[7] * z;
  out[2] = m[2] * x + m[5] * y + m[8] * z;
}

/** Slab method: interval of the line inside the planes n.x <= d + off (normals packed xyz). */
export function slab(
  n: Float64Array, d: Float64Array, off: number,
  px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array,
): boolean {
  let t0 = -Infinity;
  let t1 = Infinity;
  const F = d.length;
  for (let i = 0; i < F; i++) {
    const nx = n[3 * i], ny = n[3 * i + 1], nz = n[3 * i + 2];
    const den = nx * dx + ny * dy + nz * dz;
    const num = d[i] + off - (nx * px + ny * py + nz * pz);
    if (den > EPS_DEN) {
      const t = num / den;
      if (t < t1) t1 = t;
    } else if (den < -EPS_DEN) {
      const t = num / den;
      if (t > t0) t0 = t;
    } else if (num < 0) {
      return false;
    }
    if (t0 >= t1) return false;
  }
  out[0] = t0;
  out[1] = t1;
  return t0 < t1;
}

/**
 * Root of f on [a, b] where f(a) and f(b) have opposite signs (or one is zero), by the Illinois
 * variant of false position; converges to ~1e-12 in f (f is a signed distance, slope <= 1).
 */
export function illinois(f: (t: number) => number, a: number, fa: number, b: number, fb: number): number {
  if (fa === 0) return a;
  if (fb === 0) return b;
  let side = 0;
  for (let it = 0; it < 200; it++) {
    let c = (a * fb - b * fa) / (fb - fa);
    if (!(c > Math.min(a, b) && c < Math.max(a, b))) c = 0.5 * (a + b);
    const fc = f(c);
    if (Math.abs(fc) < 1e-12 || Math.abs(b - a) < 1e-12) return c;
    if (fc * fb > 0) {
      b = c;
      fb = fc;
      if (side === -1) fa *= 0.5;
      side = -1;
    } else {
      a = c;
      fa = fc;
      if (side === 1) fb *= 0.5;
      side = 1;
    }
  }
  return 0.5 * (a + b);
}
