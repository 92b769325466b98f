import { ChordFromInterval, mul3, mulT3, type ConvexSolid } from './convex.ts';

/** Ellipsoid with semi-axes (a, b, c) along the local axes, rotated and centred. */
export class Ellipsoid extends ChordFromInterval implements ConvexSolid {
  readonly cx: number;
  readonly cy: number;
  readonly cz: number;
  readonly radius: number;
  readonly boundingRadius: number;
  readonly axes: Float64Array;
  private readonly amin: number;
  private readonly isSphere: boolean;
  private readonly gs = new Float64Array(3);
  private readonly rot: Float64Array;
  private readonly v = new Float64Array(3);
  private readonly w = new Float64Array(3);

  constructor(a: number, b: number, c: number, rot: ArrayLike<number>, centre: [number, number, number]) {
    super();
    if (!(a > 0 && b > 0 && c > 0)) throw new RangeError('Ellipsoid: semi-axes must be positive');
    this.axes = new Float64Array([a, b, c]);
    this.rot = Float64Array.from(rot);
    [this.cx, this.cy, this.cz] = centre;
    this.radius = Math.max(a, b, c);
    this.amin = Math.min(a, b, c);
    this.isSphere = a === b && b === c;
    this.boundingRadius = Math.hypot(...centre) + this.radius;
  }

  bound(x: number, y: number, z: number): number {
    const A = this.axes;
    if (this.isSphere) return Math.sqrt((x - this.cx) ** 2 + (y - this.cy) ** 2 + (z - this.cz) ** 2) - A[0];
    const l = this.v;
    mulT3(this.rot, x - this.cx, y - this.cy, z - this.cz, l);
    const k = Math.sqrt((l[0] / A[0]) ** 2 + (l[1] / A[1]) ** 2 + (l[2] / A[2]) ** 2);
    // x -> x / a has Lipschitz constant 1 / min(a): the real distance is at least min(a) times the
    // distance of the scaled point to the unit sphere.
    return this.amin * (k - 1);
  }

  sdfWithin(x: number, y: number, z: number, cut: number, g: Float64Array | null): number {
    const b = this.bound(x, y, z);
    if (b >= cut || b <= -cut) return b;
    return this.sdfGrad(x, y, z, g ?? this.gs);
  }

  sdf(x: number, y: number, z: number): number {
    return this.sdfGrad(x, y, z, this.gs);
  }

  /**
   * Exact distance: closest point x_i = a_i^2 y_i / (t + a_i^2) with t the largest root of
   * sum (a_i y_i / (t + a_i^2))^2 = 1 (convex, decreasing on t > -min a_i^2), by Newton's method
   * from the left (monotone convergence). Gradient: the outward normal at the closest point.
   */
  sdfGrad(x: number, y: number, z: number, g: Float64Array): number {
    const A = this.axes;
    if (this.isSphere) {
      const ux = x - this.cx, uy = y - this.cy, uz = z - this.cz;
      const r = Math.sqrt(ux * ux + uy * uy + uz * uz);
      if (r > 0) { g[0] = ux / r; g[1] = uy / r; g[2] = uz / r; } else { g[0] = 1; g[1] = 0; g[2] = 0; }
      return r - A[0];
    }
    const l = this.v;
    mulT3(this.rot, x - this.cx, y - this.cy, z - this.cz, l);
    const y0 = Math.abs(l[0]), y1 = Math.abs(l[1]), y2 = Math.abs(l[2]);
    const a0 = A[0], a1 = A[1], a2 = A[2];
    const k = (y0 / a0) ** 2 + (y1 / a1) ** 2 + (y2 / a2) ** 2;
    let amin = a0, ymin = y0;
    if (a1 < amin) { amin = a1; ymin = y1; }
    if (a2 < amin) { amin = a2; ymin = y2; }
    const s0 = a0 * a0, s1 = a1 * a1, s2 = a2 * a2;
    let t = 0;
    if (k !== 1) {
      // Start just right of the pole -min a^2 (or at 0 outside), where F >= 0.
      const yq = Math.max(ymin, 1e-12 * amin);
      t = k > 1 ? Math.max(-amin * amin + amin * yq, 0) : -amin * amin + amin * yq;
      // A closer start where still F >= 0 (exact for a sphere): amin^2 (sqrt k - 1).
      const tc = amin * amin * (Math.sqrt(k) - 1);
      if (tc > t) {
        const r0 = (a0 * y0) / (tc + s0), r1 = (a1 * y1) / (tc + s1), r2 = (a2 * y2) / (tc + s2);
        if (r0 * r0 + r1 * r1 + r2 * r2 >= 1) t = tc;
      }
      for (let it = 0; it < 200; it++) {
        const r0 = (a0 * y0) / (t + s0), r1 = (a1 * y1) / (t + s1), r2 = (a2 * y2) / (t + s2);
        const F = r0 * r0 + r1 * r1 + r2 * r2 - 1;
        const dF = -2 * (r0 * r0 / (t + s0) + r1 * r1 / (t + s1) + r2 * r2 / (t + s2));
        const step = F / dF;
        t -= step;
        if (!(Math.abs(step) > 1e-15 * (Math.abs(t) + s0 + s1 + s2))) break;
      }
    }
    const q0 = (s0 * y0) / (t + s0), q1 = (s1 * y1) / (t + s1), q2 = (s2 * y2) / (t + s2);
    // Outward normal at the closest point, back to the signs of the local point, then to world.
    let n0 = q0 / s0, n1 = q1 / s1, n2 = q2 / s2;
    const nl = Math.sqrt(n0 * n0 + n1 * n1 + n2 * n2) || 1;
    n0 = (l[0] < 0 ? -n0 : n0) / nl; n1 = (l[1] < 0 ? -n1 : n1) / nl; n2 = (l[2] < 0 ? -n2 : n2) / nl;
    mul3(this.rot, n0, n1, n2, this.w);
    g[0] = this.w[0]; g[1] = this.w[1]; g[2] = this.w[2];
    const dist = Math.sqrt((y0 - q0) ** 2 + (y1 - q1) ** 2 + (y2 - q2) ** 2);
    return k > 1 ? dist : -dist;
  }

  interval(px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array): boolean {
    const P = this.v, D = this.w, A = this.axes;
    mulT3(this.rot, px - this.cx, py - this.cy, pz - this.cz, P);
    mulT3(this.rot, dx, dy, dz, D);
    const p0 = P[0] / A[0], p1 = P[1] / A[1], p2 = P[2] / A[2];
    const d0 = D[0] / A[0], d1 = D[1] / A[1], d2 = D[2] / A[2];
    const a = d0 * d0 + d1 * d1 + d2 * d2;
    const b = p0 * d0 + p1 * d1 + p2 * d2;
    const c = p0 * p0 + p1 * p1 + p2 * p2 - 1;
    const disc = b * b - a * c;
    if (!(disc > 0)) return false;
    const s = Math.sqrt(disc);
    // Stable roots of a t^2 + 2 b t + c.
    const q = b >= 0 ? -(b + s) : -(b - s);
    let t0 = q / a, t1 = c / q;
    if (t0 > t1) { const u = t0; t0 = t1; t1 = u; }
    out[0] = t0;
    out[1] = t1;
    return true;
  }
}
