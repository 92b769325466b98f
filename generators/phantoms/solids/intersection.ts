import { ChordFromInterval, intersectionInterval, type ConvexSolid } from './convex.ts';


/**
 * Intersection of two convex solids (a core cut to lie inside its shell). Chord exact (overlap of
 * the two intervals); sdf = max of the two, exact inside and a lower bound on the distance outside.
 */
export class Intersection extends ChordFromInterval implements ConvexSolid {
  readonly cx: number;
  readonly cy: number;
  readonly cz: number;
  readonly radius: number;
  readonly boundingRadius: number;
  private readonly tmp = new Float64Array(2);

  constructor(readonly a: ConvexSolid, readonly b: ConvexSolid) {
    super();
    const s = a.radius <= b.radius ? a : b;
    this.cx = s.cx; this.cy = s.cy; this.cz = s.cz; this.radius = s.radius;
    this.boundingRadius = Math.min(a.boundingRadius, b.boundingRadius);
  }

  sdf(x: number, y: number, z: number): number {
    const u = this.a.sdf(x, y, z), v = this.b.sdf(x, y, z);
    return u > v ? u : v;
  }

  bound(x: number, y: number, z: number): number {
    const u = this.a.bound(x, y, z), v = this.b.bound(x, y, z);
    return u > v ? u : v;
  }

  /** max of the two clipped values: exact where it lies within cut (the smaller one is then exact or <= -cut). */
  sdfWithin(x: number, y: number, z: number, cut: number, g: Float64Array | null): number {
    const u = this.a.sdfWithin(x, y, z, cut, g), v = this.b.sdfWithin(x, y, z, cut, g ? this.gb : null);
    if (u >= v) return u;
    if (g) { g[0] = this.gb[0]; g[1] = this.gb[1]; g[2] = this.gb[2]; }
    return v;
  }

  private readonly gb = new Float64Array(3);
  sdfGrad(x: number, y: number, z: number, g: Float64Array): number {
    const u = this.a.sdfGrad(x, y, z, g), v = this.b.sdfGrad(x, y, z, this.gb);
    if (u >= v) return u;
    g[0] = this.gb[0]; g[1] = this.gb[1]; g[2] = this.gb[2];
    return v;
  }

  interval(px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array): boolean {
    return intersectionInterval(this.a, this.b, px, py, pz, dx, dy, dz, out, this.tmp);
  }
}
