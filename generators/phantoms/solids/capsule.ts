import { ChordFromInterval, EPS_DEN, mul3, mulT3, type ConvexSolid } from './convex.ts';

/** Capsule (rod): points within `rho` of the segment from -h to +h along the local z axis. */
export class Capsule extends ChordFromInterval implements ConvexSolid {
  readonly cx: number;
  readonly cy: number;
  readonly cz: number;
  readonly radius: number;
  readonly boundingRadius: number;
  readonly h: number;
  readonly rho: number;
  private readonly rot: Float64Array;
  private readonly v = new Float64Array(3);
  private readonly w = new Float64Array(3);

  constructor(halfLength: number, rho: number, rot: ArrayLike<number>, centre: [number, number, number]) {
    super();
    if (!(halfLength >= 0 && rho > 0)) throw new RangeError('Capsule: half-length >= 0 and radius > 0');
    this.h = halfLength;
    this.rho = rho;
    this.rot = Float64Array.from(rot);
    [this.cx, this.cy, this.cz] = centre;
    this.radius = halfLength + rho;
    this.boundingRadius = Math.hypot(...centre) + this.radius;
  }

  sdf(x: number, y: number, z: number): number {
    const l = this.v;
    mulT3(this.rot, x - this.cx, y - this.cy, z - this.cz, l);
    const zc = l[2] < -this.h ? -this.h : l[2] > this.h ? this.h : l[2];
    return Math.sqrt(l[0] * l[0] + l[1] * l[1] + (l[2] - zc) ** 2) - this.rho;
  }

  bound(x: number, y: number, z: number): number {
    return this.sdf(x, y, z);
  }

  sdfWithin(x: number, y: number, z: number, _cut: number, g: Float64Array | null): number {
    return g ? this.sdfGrad(x, y, z, g) : this.sdf(x, y, z);
  }

  sdfGrad(x: number, y: number, z: number, g: Float64Array): number {
    const l = this.v;
    mulT3(this.rot, x - this.cx, y - this.cy, z - this.cz, l);
    const zc = l[2] < -this.h ? -this.h : l[2] > this.h ? this.h : l[2];
    const ex = l[0], ey = l[1], ez = l[2] - zc;
    const r = Math.sqrt(ex * ex + ey * ey + ez * ez);
    if (r > 0) mul3(this.rot, ex / r, ey / r, ez / r, this.w); else mul3(this.rot, 1, 0, 0, this.w);
    g[0] = this.w[0]; g[1] = this.w[1]; g[2] = this.w[2];
    return r - this.rho;
  }

  interval(px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array): boolean {
    const P = this.v, D = this.w;
    mulT3(this.rot, px - this.cx, py - this.cy, pz - this.cz, P);
    mulT3(this.rot, dx, dy, dz, D);
    const r2 = this.rho * this.rho, h = this.h;
    let lo = Infinity, hi = -Infinity;
    // Cylinder |xy| <= rho within the slab |z| <= h.
    const a = D[0] * D[0] + D[1] * D[1];
    const b = P[0] * D[0] + P[1] * D[1];
    const c = P[0] * P[0] + P[1] * P[1] - r2;
    let c0 = -Infinity, c1 = Infinity, ok = true;
    if (a > EPS_DEN) {
      const disc = b * b - a * c;
      if (disc > 0) { const s = Math.sqrt(disc); c0 = (-b - s) / a; c1 = (-b + s) / a; } else ok = false;
    } else if (c > 0) ok = false;
    if (ok) {
      if (Math.abs(D[2]) > EPS_DEN) {
        let z0 = (-h - P[2]) / D[2], z1 = (h - P[2]) / D[2];
        if (z0 > z1) { const u = z0; z0 = z1; z1 = u; }
        if (z0 > c0) c0 = z0;
        if (z1 < c1) c1 = z1;
      } else if (Math.abs(P[2]) > h) ok = false;
      if (ok && c0 < c1) { lo = c0; hi = c1; }
    }
    // End spheres.
    for (let s = -1; s <= 1; s += 2) {
      const qz = P[2] - s * h;
      const bb = P[0] * D[0] + P[1] * D[1] + qz * D[2];
      const cc = P[0] * P[0] + P[1] * P[1] + qz * qz - r2;
      const disc = bb * bb - cc;
      if (disc > 0) {
        const sq = Math.sqrt(disc);
        if (-bb - sq < lo) lo = -bb - sq;
        if (-bb + sq > hi) hi = -bb + sq;
      }
    }
    if (!(hi > lo)) return false;
    out[0] = lo;
    out[1] = hi;
    return true;
  }
}
