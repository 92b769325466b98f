import { ChordFromInterval, illinois, mul3, slab, type ConvexSolid } from './convex.ts';

/**
 * Convex polytope {x : n_i . x <= d_i} (unit normals, world coordinates), rounded with radius r:
 * the set of points within r of the shrunk polytope {n_i . x <= d_i - r}. r = 0 is the sharp
 * polytope. The signed distance is exact: inside the shrunk polytope it is max_i(n_i.x - d_i);
 * outside, the exact Euclidean distance to the shrunk polytope (faces, edges and vertices) minus r.
 */
export class Polytope extends ChordFromInterval implements ConvexSolid {
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
    super();
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
}
