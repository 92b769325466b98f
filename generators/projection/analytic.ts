/**
 * Analytic (exact chord-length) parallel-beam projection of phantoms, with detector super-sampling.
 *
 * Geometry (generators/projection/geometry.ts, the same as the Joseph projector in kernels.ts): volume
 * [z, y, x] with the tilt axis z, origin at the volume centre, voxel (iz, iy, ix) centred at
 * (ix - (nx-1)/2, iy - (ny-1)/2, iz - (nz-1)/2); tilt series [angle, row = z, col]. Detector pixel
 * (row r, col u) at tilt theta covers t in [t_u - 1/2, t_u + 1/2], t_u = u - (nCols-1)/2, and
 * z in [z_r - 1/2, z_r + 1/2], z_r = r - (nz-1)/2. The ray through detector point (t, z) is
 *   p(lambda) = (t cos theta, t sin theta, z) + lambda (-sin theta, cos theta, 0),
 * i.e. the beam runs along +y at 0 degrees and t = x cos theta + y sin theta is the detector coordinate.
 *
 * Per pixel the projection is the pixel average of the exact chord length L(t, z) of each solid
 * (solids.ts: slab method for polytopes, quadratic for ellipsoids and capsules, root finding on the
 * exact sdf for rounded polytopes), by the midpoint rule on s x s sub-rays:
 *   P(r, u) = 1/s^2 sum_{i,j < s} L(t_u + (i + 1/2)/s - 1/2, z_r + (j + 1/2)/s - 1/2).
 * This is the line integral of the indicator of the solid, averaged over the pixel's area, so the sum
 * of a projection times the pixel area (1 voxel^2) is the solid's volume, and the voxelised phantom
 * (partial-volume fractions, voxelise.ts) projected by the Joseph projector gives the same image up to
 * discretisation. Simulating with it avoids the "inverse crime" of simulating with the discretisation
 * that reconstructs (Guerquin-Kern et al., "Realistic analytical phantoms for parallel magnetic resonance
 * imaging", IEEE TMI 31 (2012) 626; Kaipio & Somersalo, J. Comput. Appl. Math. 198 (2007) 493).
 *
 * Element amounts (phantoms/types.ts): region k holds fractions_k[e] of element e on solid_k minus
 * minus_k, so along a ray
 *   amount_e = sum_k fractions_k[e] (L(solid_k) - L(minus_k)).
 * A core-shell particle is the cut core (core ∩ shell) with the core's fractions, and the shell minus
 * that cut core with the shell's fractions: shell element = L(shell) - L(cut core), core element =
 * L(cut core), each times its fractions.
 *
 * Limits: only sharp interfaces of convex solids are exact. Regions with a diffuse boundary (blur,
 * minusBlur or outerBlur > 0: the erf profiles of voxelise.ts) or a solid that is not one of the convex
 * classes (Polytope, Ellipsoid, Capsule, Intersection of those) are not projected here; `projectPhantom`
 * voxelises those regions and projects them with the Joseph voxel projector instead (and says which).
 *
 * Cost: one chord per solid per sub-ray inside the solid's bounding sphere; sub-rays outside it are
 * skipped. Single-threaded by design here (a dataset runs one simulator per worker thread); every
 * pixel is computed by the same sequential code, so results do not depend on how rows are split.
 */
import type { TiltGeometry } from './geometry.ts';
import type { Phantom, Region, Solid } from '../phantoms/types.ts';
import { Capsule, ChordFromInterval, Ellipsoid, Intersection, intersectionInterval, Polytope, slab, type ConvexSolid, type IntervalSolid } from '../phantoms/solids.ts';
import { voxelise } from '../phantoms/voxelise.ts';
import type { Projector } from './index.ts';
import { InternalError } from '../../core/validate.ts';

/** True for the solids whose chord is exact (convex: one interval per line). */
export function isConvexSolid(s: Solid): s is ConvexSolid {
  if (s instanceof Polytope || s instanceof Ellipsoid || s instanceof Capsule) return true;
  if (s instanceof Intersection) return isConvexSolid(s.a) && isConvexSolid(s.b);
  return false;
}

/**
 * Exact chord of a rounded polytope (Polytope with r > 0) in closed form, much cheaper than the root
 * finding of Polytope.interval. The body B = P' (+) ball(r), P' the polytope shrunk by r, is the union of
 * P', the prisms over P''s faces (height r along their normals), the cylinders of radius r about its
 * edges and the balls of radius r at its vertices. A line meets the convex body in one interval, the
 * union of its intervals in the pieces, so its entry is the smallest entry over the pieces. The top of
 * the prism of face f lies on the sharp plane f, which bounds B, so an entry through a prism top is the
 * entry t0 of the sharp polytope (slab method) and happens exactly when p(t0) lies in B (sdf <= 0); the
 * prisms' sides lie in the edge cylinders and the cylinders' caps in the vertex balls. Hence
 *   entry = t0 if sdf(p(t0)) <= 0, else min over edge cylinders (foot of the point on the edge segment)
 *   and vertex balls of their entries (quadratics), and the exit likewise with max.
 * Falls back to Polytope.chord where the shrunk polytope has fewer than 4 vertices.
 */
class RoundedPolytopeChord extends ChordFromInterval implements IntervalSolid {
  readonly cx: number;
  readonly cy: number;
  readonly cz: number;
  readonly radius: number;
  private readonly n: Float64Array;
  private readonly d: Float64Array;
  private readonly r: number;
  private readonly v: Float64Array;
  /** Per edge: a (xyz), u = b - a (xyz), 1 / |u|^2. */
  private readonly e: Float64Array;
  private readonly degenerate: boolean;

  constructor(private readonly p: Polytope) {
    super();
    this.cx = p.cx; this.cy = p.cy; this.cz = p.cz; this.radius = p.radius;
    this.n = p.n; this.d = p.d; this.r = p.r; this.v = p.vertices;
    const F = p.d.length, V = p.vertices.length / 3;
    const tol = 1e-7 * Math.max(1, p.radius + Math.hypot(p.cx, p.cy, p.cz));
    const on: number[][] = [];
    for (let i = 0; i < V; i++) {
      const s: number[] = [];
      for (let m = 0; m < F; m++) {
        const g = p.n[3 * m] * p.vertices[3 * i] + p.n[3 * m + 1] * p.vertices[3 * i + 1] + p.n[3 * m + 2] * p.vertices[3 * i + 2] - (p.d[m] - p.r);
        if (Math.abs(g) < tol) s.push(m);
      }
      on.push(s);
    }
    const edges: number[] = [];
    for (let a = 0; a < V; a++) for (let b = a + 1; b < V; b++) {
      let shared = 0;
      for (const m of on[a]) if (on[b].includes(m)) shared++;
      if (shared < 2) continue;
      const ux = p.vertices[3 * b] - p.vertices[3 * a], uy = p.vertices[3 * b + 1] - p.vertices[3 * a + 1], uz = p.vertices[3 * b + 2] - p.vertices[3 * a + 2];
      const l2 = ux * ux + uy * uy + uz * uz;
      if (l2 > 0) edges.push(p.vertices[3 * a], p.vertices[3 * a + 1], p.vertices[3 * a + 2], ux, uy, uz, 1 / l2);
    }
    this.e = Float64Array.from(edges);
    this.degenerate = V < 4 || edges.length === 0;
  }

  interval(px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array): boolean {
    if (this.degenerate) return this.p.interval(px, py, pz, dx, dy, dz, out);
    // Slab method on the sharp planes n.x <= d.
    if (!slab(this.n, this.d, 0, px, py, pz, dx, dy, dz, out)) return false;
    const t0 = out[0], t1 = out[1];
    const p = this.p;
    const in0 = p.sdf(px + t0 * dx, py + t0 * dy, pz + t0 * dz) <= 1e-9;
    const in1 = p.sdf(px + t1 * dx, py + t1 * dy, pz + t1 * dz) <= 1e-9;
    if (in0 && in1) { out[0] = t0; out[1] = t1; return true; }
    const r2 = this.r * this.r;
    let lo = Infinity, hi = -Infinity;
    const v = this.v;
    for (let i = 0; i < v.length; i += 3) {
      const wx = px - v[i], wy = py - v[i + 1], wz = pz - v[i + 2];
      const b = wx * dx + wy * dy + wz * dz;
      const disc = b * b - (wx * wx + wy * wy + wz * wz - r2);
      if (disc > 0) {
        const s = Math.sqrt(disc);
        if (-b - s < lo) lo = -b - s;
        if (-b + s > hi) hi = -b + s;
      }
    }
    const E = this.e;
    for (let o = 0; o < E.length; o += 7) {
      const ux = E[o + 3], uy = E[o + 4], uz = E[o + 5], iu = E[o + 6];
      const wx = px - E[o], wy = py - E[o + 1], wz = pz - E[o + 2];
      const du = dx * ux + dy * uy + dz * uz, wu = wx * ux + wy * uy + wz * uz;
      const A = 1 - du * du * iu;
      if (!(A > 1e-12)) continue; // parallel to the edge: enters through the end balls
      const B = wx * dx + wy * dy + wz * dz - wu * du * iu;
      const C = wx * wx + wy * wy + wz * wz - wu * wu * iu - r2;
      const disc = B * B - A * C;
      if (!(disc > 0)) continue;
      const s = Math.sqrt(disc);
      const l0 = (-B - s) / A, l1 = (-B + s) / A;
      const f0 = (wu + l0 * du) * iu, f1 = (wu + l1 * du) * iu;
      if (f0 >= 0 && f0 <= 1 && l0 < lo) lo = l0;
      if (f1 >= 0 && f1 <= 1 && l1 > hi) hi = l1;
    }
    out[0] = in0 ? t0 : Math.max(lo, t0);
    out[1] = in1 ? t1 : Math.min(hi, t1);
    return out[1] > out[0];
  }
}

/** Intersection of two evaluators: the overlap of their intervals (intersectionInterval, as Intersection). */
class IntersectionChord extends ChordFromInterval implements IntervalSolid {
  readonly cx: number;
  readonly cy: number;
  readonly cz: number;
  readonly radius: number;
  private readonly t = new Float64Array(2);
  constructor(private readonly a: IntervalSolid, private readonly b: IntervalSolid, s: Intersection) {
    super();
    this.cx = s.cx; this.cy = s.cy; this.cz = s.cz; this.radius = s.radius;
  }
  interval(px: number, py: number, pz: number, dx: number, dy: number, dz: number, out: Float64Array): boolean {
    return intersectionInterval(this.a, this.b, px, py, pz, dx, dy, dz, out, this.t);
  }
}

/**
 * The chord evaluator of a convex solid: the closed form above for rounded polytopes (also inside an
 * Intersection), else the solid's own exact chord.
 */
function chordEvaluator(s: ConvexSolid): IntervalSolid {
  if (s instanceof Polytope && s.r > 0) return new RoundedPolytopeChord(s);
  if (s instanceof Intersection) return new IntersectionChord(chordEvaluator(s.a), chordEvaluator(s.b), s);
  return s;
}

/**
 * True when a region's element amounts along a ray are exact chord arithmetic: sharp boundaries
 * (blur, minusBlur and outerBlur all 0) and convex solids.
 */
export function isAnalyticRegion(region: Region): boolean {
  if (region.blur !== 0 || (region.minusBlur ?? region.blur) !== 0 || (region.outerBlur ?? 0) !== 0) return false;
  return isConvexSolid(region.solid) && (region.minus === undefined || isConvexSolid(region.minus));
}

function checkSupersample(s: number): number {
  if (!Number.isInteger(s) || s < 1 || s > 16) throw new RangeError(`analytic projection: supersample must be an integer in [1, 16], got ${String(s)}`);
  return s;
}

/**
 * Pixel-averaged chord lengths of the solids on rows z0..z1-1 of every projection, accumulated with
 * weights: out[(a * nz + r) * nCols + u] += sum_k w_k P_k(a, r, u) (Float64 accumulator).
 */
function accumulateChords(solidsIn: ConvexSolid[], weights: number[], geom: TiltGeometry, s: number, out: Float64Array, z0: number, z1: number): void {
  const solids = solidsIn.map(chordEvaluator);
  const { angles, nz, nCols } = geom;
  const cu = (nCols - 1) / 2, cz = (nz - 1) / 2;
  const inv = 1 / (s * s);
  const off = new Float64Array(s);
  for (let i = 0; i < s; i++) off[i] = (i + 0.5) / s - 0.5;
  const row = new Float64Array(nCols);
  for (let k = 0; k < solids.length; k++) {
    const sol = solids[k], w = weights[k] * inv, R = sol.radius, R2 = R * R;
    for (let a = 0; a < angles.length; a++) {
      const th = (angles[a] * Math.PI) / 180;
      const c = Math.cos(th), sn = Math.sin(th);
      const dx = -sn, dy = c;
      // Columns whose pixel can meet the bounding sphere (centre projects to tc).
      const tc = sol.cx * c + sol.cy * sn;
      const u0 = Math.max(0, Math.ceil(tc - R + cu - 0.5 - 1e-9)), u1 = Math.min(nCols - 1, Math.floor(tc + R + cu + 0.5 + 1e-9));
      if (u0 > u1) continue;
      const r0 = Math.max(z0, Math.ceil(sol.cz - R + cz - 0.5 - 1e-9)), r1 = Math.min(z1 - 1, Math.floor(sol.cz + R + cz + 0.5 + 1e-9));
      for (let r = r0; r <= r1; r++) {
        for (let u = u0; u <= u1; u++) row[u] = 0;
        for (let j = 0; j < s; j++) {
          const pz = r - cz + off[j];
          const dzc = pz - sol.cz, dz2 = dzc * dzc;
          if (dz2 > R2) continue;
          for (let u = u0; u <= u1; u++) {
            let acc = 0;
            for (let i = 0; i < s; i++) {
              const t = u - cu + off[i];
              const dt = t - tc;
              if (dt * dt + dz2 > R2) continue; // the sub-ray misses the bounding sphere
              acc += sol.chord(t * c, t * sn, pz, dx, dy, 0);
            }
            row[u] += acc;
          }
        }
        const o = (a * nz + r) * nCols;
        for (let u = u0; u <= u1; u++) out[o + u] += w * row[u];
      }
    }
  }
}

/**
 * Pixel-averaged exact chord lengths of one convex solid: tilt series [angle, row, col] in voxel
 * lengths (module comment for the formula and conventions). `supersample` s (default 1): s x s
 * sub-rays per detector pixel.
 */
export function analyticChords(solid: Solid, geom: TiltGeometry, opts: { supersample?: number } = {}): Float32Array {
  if (!isConvexSolid(solid)) throw new TypeError('analyticChords: the solid is not one of the convex solids (Polytope, Ellipsoid, Capsule, Intersection)');
  const s = checkSupersample(opts.supersample ?? 1);
  const acc = new Float64Array(geom.angles.length * geom.nz * geom.nCols);
  accumulateChords([solid], [1], geom, s, acc, 0, geom.nz);
  return Float32Array.from(acc);
}

/** Result of the analytic projection of a phantom. */
export interface AnalyticProjection {
  /** Per element, tilt series [angle, row, col] of projected amounts (voxel lengths of pure element). */
  projected: Float32Array[];
  /** Indices of the regions NOT included (diffuse or non-convex): they need the voxel projector. */
  voxelRegions: number[];
}

function checkPhantomGeometry(phantom: Phantom, geom: TiltGeometry, who: string): void {
  const N = phantom.size;
  if (geom.nz !== N || geom.ny !== N || geom.nx !== N) throw new InternalError(`${who}: the geometry (${geom.nz} x ${geom.ny} x ${geom.nx}) is not the phantom's ${N}^3 grid`);
}

/**
 * Exact projected element amounts of the analytic regions of a phantom (isAnalyticRegion), pixel
 * averaged over s x s sub-rays: amount_e = sum_k fractions_k[e] (L(solid_k) - L(minus_k)), clamped at
 * 0 against round-off (minus lies inside solid). Regions that are not analytic are left out and
 * listed in `voxelRegions`.
 */
export function analyticProjection(phantom: Phantom, geom: TiltGeometry, opts: { supersample?: number } = {}): AnalyticProjection {
  checkPhantomGeometry(phantom, geom, 'analyticProjection');
  const s = checkSupersample(opts.supersample ?? 1);
  const E = phantom.elements.length, n = geom.angles.length * geom.nz * geom.nCols;
  const voxelRegions: number[] = [];
  // Per element, the signed weights of each distinct solid (a cut core is the core region's solid
  // and the shell's minus: its chords are computed once).
  const perElement: Map<ConvexSolid, number>[] = Array.from({ length: E }, () => new Map());
  phantom.regions.forEach((region, k) => {
    if (!isAnalyticRegion(region)) { voxelRegions.push(k); return; }
    for (let e = 0; e < E; e++) {
      const f = region.fractions[e] ?? 0;
      if (f === 0) continue;
      const m = perElement[e];
      const sol = region.solid as ConvexSolid;
      m.set(sol, (m.get(sol) ?? 0) + f);
      if (region.minus) { const mi = region.minus as ConvexSolid; m.set(mi, (m.get(mi) ?? 0) - f); }
    }
  });
  const solids: ConvexSolid[] = [];
  for (const m of perElement) for (const sol of m.keys()) if (!solids.includes(sol)) solids.push(sol);
  const projected: Float32Array[] = [];
  if (solids.length === 1 && E === 1) {
    const acc = new Float64Array(n);
    accumulateChords(solids, [perElement[0].get(solids[0])!], geom, s, acc, 0, geom.nz);
    const p = new Float32Array(n);
    for (let i = 0; i < n; i++) p[i] = acc[i] > 0 ? acc[i] : 0;
    return { projected: [p], voxelRegions };
  }
  // Chords of each distinct solid once, then the per-element combinations.
  const chords = solids.map((sol) => { const acc = new Float64Array(n); accumulateChords([sol], [1], geom, s, acc, 0, geom.nz); return acc; });
  for (let e = 0; e < E; e++) {
    const p = new Float32Array(n);
    const terms = [...perElement[e].entries()].map(([sol, w]) => ({ c: chords[solids.indexOf(sol)], w }));
    if (terms.length) {
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (const t of terms) v += t.w * t.c[i];
        p[i] = v > 0 ? v : 0;
      }
    }
    projected.push(p);
  }
  return { projected, voxelRegions };
}

/**
 * Projected element amounts of a whole phantom with the analytic projector: the analytic regions
 * exactly (analyticProjection), the others (diffuse interfaces, non-convex solids) voxelised
 * (voxelise, anti-aliased) and projected with the given Joseph `projector` (same geometry), then added.
 * Returns the per-element tilt series and the indices of the regions that went through the voxels.
 */
export async function projectPhantom(phantom: Phantom, projector: Projector, opts: { supersample?: number; voxelSupersample?: number } = {}): Promise<AnalyticProjection> {
  const res = analyticProjection(phantom, projector.geom, opts);
  if (res.voxelRegions.length === 0) return res;
  const sub: Phantom = { ...phantom, regions: res.voxelRegions.map((k) => phantom.regions[k]) };
  const vols = voxelise(sub, { supersample: opts.voxelSupersample });
  for (let e = 0; e < vols.length; e++) {
    const v = vols[e];
    let any = false;
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) { any = true; break; }
    if (!any) continue;
    const ts = await projector.forward(v);
    const p = res.projected[e];
    for (let i = 0; i < p.length; i++) p[i] += ts[i];
  }
  return res;
}
