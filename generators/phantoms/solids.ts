/**
 * Solids in world (voxel) coordinates: convex polytopes (half-space intersections, optionally
 * rounded: the points within r of the polytope shrunk by r), ellipsoids, capsules and the
 * intersection of two convex solids. Each gives the exact signed distance and the exact chord
 * (entry/exit interval) along any line. The hot methods allocate nothing.
 */
import type { Solid } from './types.ts';

/** A convex solid that can also give the entry/exit interval along a line. */
export interface ConvexSolid extends Solid {
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

const EPS_DEN = 1e-14;

/** Row-major 3x3 matrix times vector, into out[0..2]. */
function mul3(m: ArrayLike<number>, x: number, y: number, z: number, out: Float64Array): void {
  out[0] = m[0] * x + m[1] * y + m[2] * z;
  out[1] = m[3] * x + m[4] * y + m[5] * z;
  out[2] = m[6] * x + m[7] * y + m[8] * z;
}

/** Transposed: m^T v. */
function mulT3(m: ArrayLike<number>, x: number, y: number, z: number, out: Float64Array): void {
  out[0] = m[0] * x + m[3] * y + m[6] * z;
  out[1] = m[1] * x + m[4] * y + m[7] * z;
  out[2] = m[2] * x + m[5] * y + m[8] * z;
}

/** Slab method: interval of the line inside the planes n.x <= d + off (normals packed xyz). */
function slab(
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
function illinois(f: (t: number) => number, a: number, fa: number, b: number, fb: number): number {
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

/**
 * Convex polytope {x : n_i . x <= d_i} (unit normals, world coordinates), rounded with radius r:
 * the set of points within r of the shrunk polytope {n_i . x <= d_i - r}. r = 0 is the sharp
 * polytope. The signed distance is exact: inside the shrunk polytope it is max_i(n_i.x - d_i);
 * outside, the exact Euclidean distance to the shrunk polytope (faces, edges and vertices) minus r.
 */
export class Polytope implements ConvexSolid {
  readonly n: Float64Array;
  readonly d: Float64Array;
  /** Shrunk planes d_i - r. */
  private readonly ds: Float64Array;
  readonly r: number;
  readonly cx: number;
  readonly cy: number;
  readonly cz: number;
  readonly radius: number;
  readonly boundingRadius: number;
  /** Vertices of the (shrunk) polytope, xyz packed. */
  readonly vertices: Float64Array;
  /** Edges of the shrunk polytope: a (xyz), b - a (xyz), 1/|b-a|^2 per edge. */
  private readonly edges: Float64Array;
  /** CSR list of the edges of each face. */
  private readonly faceEdgeStart: Int32Array;
  private readonly faceEdges: Int32Array;
  /** Plane values n_f . x - ds_f of the last sdf/sdfGrad point, and the normals' dot products n_f . n_m. */
  private readonly gv: Float64Array;
  private readonly nn: Float64Array;
  /** CSR list of the planes that bound each face within its plane (its edge neighbours; all planes if degenerate). */
  private readonly faceNbrStart: Int32Array;
  private readonly faceNbrs: Int32Array;
  private readonly tmp = new Float64Array(2);
  private readonly tmp2 = new Float64Array(2);
  private lp = new Float64Array(6);
  private readonly along = (t: number): number => {
    const l = this.lp;
    return this.sdf(l[0] + t * l[3], l[1] + t * l[4], l[2] + t * l[5]);
  };

  /**
   * @param normals local unit normals (xyz packed), @param d local offsets, @param r rounding,
   * @param rot row-major local-to-world rotation, @param centre world position of the local origin.
   */
  constructor(normals: ArrayLike<number>, d: ArrayLike<number>, r: number, rot: ArrayLike<number>, centre: [number, number, number]) {
    const F = d.length;
    this.n = new Float64Array(3 * F);
    this.d = new Float64Array(F);
    this.ds = new Float64Array(F);
    const v = new Float64Array(3);
    for (let i = 0; i < F; i++) {
      const nx = normals[3 * i], ny = normals[3 * i + 1], nz = normals[3 * i + 2];
      const len = Math.hypot(nx, ny, nz);
      mul3(rot, nx / len, ny / len, nz / len, v);
      this.n[3 * i] = v[0];
      this.n[3 * i + 1] = v[1];
      this.n[3 * i + 2] = v[2];
      const dl = d[i] / len;
      if (!(dl > r)) throw new RangeError(`Polytope: rounding ${r} must be below the distance ${dl} of every face from the centre`);
      this.d[i] = dl + v[0] * centre[0] + v[1] * centre[1] + v[2] * centre[2];
      this.ds[i] = this.d[i] - r;
    }
    this.r = r;
    [this.cx, this.cy, this.cz] = centre;
    // Vertices of the shrunk polytope: feasible intersections of three planes, merged.
    const scale = Math.max(1, ...Array.from(d, Math.abs));
    const tol = 1e-9 * scale;
    const verts: number[][] = [];
    const n = this.n, ds = this.ds;
    for (let i = 0; i < F; i++) for (let j = i + 1; j < F; j++) for (let k = j + 1; k < F; k++) {
      const a = [n[3 * i], n[3 * i + 1], n[3 * i + 2]], b = [n[3 * j], n[3 * j + 1], n[3 * j + 2]], c = [n[3 * k], n[3 * k + 1], n[3 * k + 2]];
      // Cramer: x = (di (b x c) + dj (c x a) + dk (a x b)) / (a . (b x c))
      const bc = [b[1] * c[2] - b[2] * c[1], b[2] * c[0] - b[0] * c[2], b[0] * c[1] - b[1] * c[0]];
      const det = a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2];
      if (Math.abs(det) < 1e-10) continue;
      const ca = [c[1] * a[2] - c[2] * a[1], c[2] * a[0] - c[0] * a[2], c[0] * a[1] - c[1] * a[0]];
      const ab = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
      const p = [0, 1, 2].map((q) => (ds[i] * bc[q] + ds[j] * ca[q] + ds[k] * ab[q]) / det);
      let ok = true;
      for (let m = 0; m < F && ok; m++) if (n[3 * m] * p[0] + n[3 * m + 1] * p[1] + n[3 * m + 2] * p[2] - ds[m] > tol * 10) ok = false;
      if (!ok) continue;
      if (verts.some((q) => Math.hypot(q[0] - p[0], q[1] - p[1], q[2] - p[2]) < 1e-7 * scale)) continue;
      verts.push(p);
    }
    if (verts.length < 4 && r === 0) throw new RangeError('Polytope: fewer than 4 vertices (unbounded or empty)');
    const on = verts.map((p) => {
      const s: number[] = [];
      for (let m = 0; m < F; m++) if (Math.abs(n[3 * m] * p[0] + n[3 * m + 1] * p[1] + n[3 * m + 2] * p[2] - ds[m]) < 1e-7 * scale) s.push(m);
      return s;
    });
    this.vertices = new Float64Array(verts.flat());
    let rad = 0;
    for (const p of verts) rad = Math.max(rad, Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]));
    this.radius = rad + r;
    this.boundingRadius = Math.hypot(...centre) + this.radius;
    const edgeList: [number, number][] = [];
    for (let a = 0; a < verts.length; a++) for (let b = a + 1; b < verts.length; b++) {
      let shared = 0;
      for (const m of on[a]) if (on[b].includes(m)) shared++;
      if (shared >= 2) edgeList.push([a, b]);
    }
    this.edges = new Float64Array(7 * edgeList.length);
    edgeList.forEach(([a, b], e) => {
      const A = verts[a], B = verts[b];
      const ux = B[0] - A[0], uy = B[1] - A[1], uz = B[2] - A[2];
      this.edges.set([A[0], A[1], A[2], ux, uy, uz, 1 / Math.max(ux * ux + uy * uy + uz * uz, 1e-300)], 7 * e);
    });
    const fe: number[][] = Array.from({ length: F }, () => []);
    edgeList.forEach(([a, b], e) => {
      for (const m of on[a]) if (on[b].includes(m)) fe[m].push(e);
    });
    this.faceEdgeStart = new Int32Array(F + 1);
    for (let f = 0; f < F; f++) this.faceEdgeStart[f + 1] = this.faceEdgeStart[f] + fe[f].length;
    this.faceEdges = new Int32Array(fe.flat());
    // The face polygon is its plane cut by the faces across its edges (convexity), so the foot test
    // needs only those; a face with fewer than 3 edges, or an edge not shared by exactly 2 faces, is
    // tested against every plane.
    const edgeFaces: number[][] = edgeList.map(() => []);
    fe.forEach((list, f) => { for (const e of list) edgeFaces[e].push(f); });
    const nbrs: number[][] = fe.map((list, f) => {
      const ok = list.length >= 3 && list.every((e) => edgeFaces[e].length === 2);
      if (!ok) return Array.from({ length: F }, (_, m) => m).filter((m) => m !== f);
      return [...new Set(list.map((e) => edgeFaces[e][0] === f ? edgeFaces[e][1] : edgeFaces[e][0]))];
    });
    this.faceNbrStart = new Int32Array(F + 1);
    for (let f = 0; f < F; f++) this.faceNbrStart[f + 1] = this.faceNbrStart[f] + nbrs[f].length;
    this.faceNbrs = new Int32Array(nbrs.flat());
    this.gv = new Float64Array(F);
    this.nn = new Float64Array(F * F);
    for (let f = 0; f < F; f++) for (let m = 0; m < F; m++) {
      this.nn[f * F + m] = n[3 * f] * n[3 * m] + n[3 * f + 1] * n[3 * m + 1] + n[3 * f + 2] * n[3 * m + 2];
    }
  }

  /**
   * Exact Euclidean distance from an outside point to the shrunk polytope; gradient into this.g.
   * Expects the plane values gv[f] = n_f . x - ds_f of the point (filled by sdf/sdfGrad). The foot of
   * the perpendicular on plane f, q = x - gv[f] n_f, satisfies plane m iff gv[m] - gv[f] (n_f . n_m) <= 0
   * (nn holds the normals' dot products), so a face test costs two flops per plane, and only the planes
   * across the face's edges are tested (faceNbrs: they alone bound the convex face polygon). The nearest point
   * lies on a face with gv > 0 (its interior: the foot; its boundary: one of its edges), which is what
   * is searched; the distance is exact (to rounding) for every outside point.
   */
  private readonly g = new Float64Array(3);
  private outsideDistance(x: number, y: number, z: number): number {
    const n = this.n, F = this.ds.length, E = this.edges, gv = this.gv, nn = this.nn;
    let best2 = Infinity;
    let bx = 0, by = 0, bz = 0;
    // The largest plane violation is a lower bound on the distance; when the foot point on that
    // face is feasible it is the distance (the common case: nearest point inside a face).
    let gm = -Infinity, fm = 0;
    for (let f = 0; f < F; f++) if (gv[f] > gm) { gm = gv[f]; fm = f; }
    {
      let feasible = true;
      const row = fm * F, nb = this.faceNbrs;
      for (let k = this.faceNbrStart[fm], ke = this.faceNbrStart[fm + 1]; k < ke; k++) {
        const m = nb[k];
        if (gv[m] - gm * nn[row + m] > 1e-9) { feasible = false; break; }
      }
      if (feasible) {
        this.g[0] = n[3 * fm]; this.g[1] = n[3 * fm + 1]; this.g[2] = n[3 * fm + 2];
        return gm;
      }
    }
    for (let f = 0; f < F; f++) {
      const g = gv[f];
      if (g <= 0) continue;
      // Foot of the perpendicular on plane f: on the face if it satisfies every other plane.
      if (g * g < best2) {
        let feasible = true;
        const row = f * F, nb = this.faceNbrs;
        for (let k = this.faceNbrStart[f], ke = this.faceNbrStart[f + 1]; k < ke; k++) {
          const m = nb[k];
          if (gv[m] - g * nn[row + m] > 1e-9) { feasible = false; break; }
        }
        if (feasible) { best2 = g * g; bx = g * n[3 * f]; by = g * n[3 * f + 1]; bz = g * n[3 * f + 2]; }
      }
      for (let k = this.faceEdgeStart[f]; k < this.faceEdgeStart[f + 1]; k++) {
        const o = 7 * this.faceEdges[k];
        const wx = x - E[o], wy = y - E[o + 1], wz = z - E[o + 2];
        let t = (wx * E[o + 3] + wy * E[o + 4] + wz * E[o + 5]) * E[o + 6];
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = wx - t * E[o + 3], ey = wy - t * E[o + 4], ez = wz - t * E[o + 5];
        const d2 = ex * ex + ey * ey + ez * ez;
        if (d2 < best2) { best2 = d2; bx = ex; by = ey; bz = ez; }
      }
    }
    if (best2 === Infinity) {
      // Degenerate shrunk polytope (no faces with edges): distance to its vertices.
      const V = this.vertices;
      for (let i = 0; i < V.length; i += 3) {
        const d2 = (x - V[i]) ** 2 + (y - V[i + 1]) ** 2 + (z - V[i + 2]) ** 2;
        if (d2 < best2) { best2 = d2; bx = x - V[i]; by = y - V[i + 1]; bz = z - V[i + 2]; }
      }
    }
    const dist = Math.sqrt(best2);
    this.g[0] = bx / dist; this.g[1] = by / dist; this.g[2] = bz / dist;
    return dist;
  }

  bound(x: number, y: number, z: number): number {
    const n = this.n, ds = this.ds, F = ds.length;
    let m = -Infinity;
    for (let f = 0; f < F; f++) {
      const g = n[3 * f] * x + n[3 * f + 1] * y + n[3 * f + 2] * z - ds[f];
      if (g > m) m = g;
    }
    // Inside the shrunk polytope this is exact; outside, the largest plane violation is a lower
    // bound on the distance to it.
    // In the rounding zone (0 < m < r) the sign is unknown: 0.
    return m <= 0 ? m - this.r : m > this.r ? m - this.r : 0;
  }

  sdfGrad(x: number, y: number, z: number, grad: Float64Array): number {
    // With no cut-off sdfWithin is the exact distance everywhere.
    return this.sdfWithin(x, y, z, Infinity, grad);
  }

  sdfWithin(x: number, y: number, z: number, cut: number, grad: Float64Array | null): number {
    const n = this.n, ds = this.ds, F = ds.length, gv = this.gv;
    let m = -Infinity, arg = 0;
    for (let f = 0; f < F; f++) {
      const g = n[3 * f] * x + n[3 * f + 1] * y + n[3 * f + 2] * z - ds[f];
      gv[f] = g;
      if (g > m) { m = g; arg = f; }
    }
    if (m <= 0) {
      if (grad) { grad[0] = n[3 * arg]; grad[1] = n[3 * arg + 1]; grad[2] = n[3 * arg + 2]; }
      return m - this.r;
    }
    // Outside the shrunk polytope the largest violation minus r is a lower bound on the sdf.
    if (m - this.r >= cut) return m - this.r;
    const d = this.outsideDistance(x, y, z);
    if (grad) { grad[0] = this.g[0]; grad[1] = this.g[1]; grad[2] = this.g[2]; }
    return d - this.r;
  }

  sdf(x: number, y: number, z: number): number {
    const n = this.n, ds = this.ds, F = ds.length, gv = this.gv;
    let m = -Infinity;
    for (let f = 0; f < F; f++) {
      const g = n[3 * f] * x + n[3 * f + 1] * y + n[3 * f + 2] * z - ds[f];
      gv[f] = g;
      if (g > m) m = g;
    }
    if (m <= 0) return m - this.r;
    return this.outsideDistance(x, y, z) - this.r;
  }

  interval(px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array): boolean {
    if (!slab(this.n, this.d, 0, px, py, pz, dx, dy, dz, out)) return false;
    if (this.r === 0) return true;
    // Rounded: the body lies inside the sharp polytope [t0, t1] and contains the shrunk one.
    const t0 = out[0], t1 = out[1];
    const l = this.lp;
    l[0] = px; l[1] = py; l[2] = pz; l[3] = dx; l[4] = dy; l[5] = dz;
    const f = this.along;
    const f0 = f(t0), f1 = f(t1);
    let a: number, b: number, fa: number, fb: number;
    if (slab(this.n, this.d, -this.r, px, py, pz, dx, dy, dz, this.tmp)) {
      a = this.tmp[0]; b = this.tmp[1];
      fa = -this.r; fb = -this.r;
    } else {
      // sdf along the line is convex: golden-section search for a point inside.
      const g = 0.6180339887498949;
      let lo = t0, hi = t1;
      let m1 = hi - g * (hi - lo), m2 = lo + g * (hi - lo);
      let g1 = f(m1), g2 = f(m2);
      let found = NaN, fFound = 0;
      for (let it = 0; it < 100; it++) {
        if (g1 < 0) { found = m1; fFound = g1; break; }
        if (g2 < 0) { found = m2; fFound = g2; break; }
        if (hi - lo < 1e-12) break;
        if (g1 < g2) { hi = m2; m2 = m1; g2 = g1; m1 = hi - g * (hi - lo); g1 = f(m1); }
        else { lo = m1; m1 = m2; g1 = g2; m2 = lo + g * (hi - lo); g2 = f(m2); }
      }
      if (Number.isNaN(found)) return false;
      a = found; b = found; fa = fFound; fb = fFound;
    }
    out[0] = f0 <= 0 ? t0 : illinois(f, t0, f0, a, fa);
    out[1] = f1 <= 0 ? t1 : illinois(f, b, fb, t1, f1);
    return out[1] > out[0];
  }

  chord(px: number, py: number, pz: number, dx: number, dy: number, dz: number): number {
    return this.interval(px, py, pz, dx, dy, dz, this.tmp2) ? this.tmp2[1] - this.tmp2[0] : 0;
  }
}

/** Ellipsoid with semi-axes (a, b, c) along the local axes, rotated and centred. */
export class Ellipsoid implements ConvexSolid {
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
  private readonly tmp = new Float64Array(2);

  constructor(a: number, b: number, c: number, rot: ArrayLike<number>, centre: [number, number, number]) {
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

  chord(px: number, py: number, pz: number, dx: number, dy: number, dz: number): number {
    return this.interval(px, py, pz, dx, dy, dz, this.tmp) ? this.tmp[1] - this.tmp[0] : 0;
  }
}

/** Capsule (rod): points within `rho` of the segment from -h to +h along the local z axis. */
export class Capsule implements ConvexSolid {
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
  private readonly tmp = new Float64Array(2);

  constructor(halfLength: number, rho: number, rot: ArrayLike<number>, centre: [number, number, number]) {
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

  chord(px: number, py: number, pz: number, dx: number, dy: number, dz: number): number {
    return this.interval(px, py, pz, dx, dy, dz, this.tmp) ? this.tmp[1] - this.tmp[0] : 0;
  }
}

/**
 * Intersection of two convex solids (a core cut to lie inside its shell). Chord exact (overlap of
 * the two intervals); sdf = max of the two, exact inside and a lower bound on the distance outside.
 */
export class Intersection implements ConvexSolid {
  readonly cx: number;
  readonly cy: number;
  readonly cz: number;
  readonly radius: number;
  readonly boundingRadius: number;
  private readonly tmp = new Float64Array(2);
  private readonly tmp2 = new Float64Array(2);

  constructor(readonly a: ConvexSolid, readonly b: ConvexSolid) {
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
    if (!this.a.interval(px, py, pz, dx, dy, dz, out)) return false;
    const t0 = out[0], t1 = out[1];
    if (!this.b.interval(px, py, pz, dx, dy, dz, this.tmp)) return false;
    out[0] = Math.max(t0, this.tmp[0]);
    out[1] = Math.min(t1, this.tmp[1]);
    return out[1] > out[0];
  }

  chord(px: number, py: number, pz: number, dx: number, dy: number, dz: number): number {
    return this.interval(px, py, pz, dx, dy, dz, this.tmp2) ? this.tmp2[1] - this.tmp2[0] : 0;
  }
}
