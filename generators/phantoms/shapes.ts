/**
 * The shape classes of science.md section 2 as solids. A shape is given by plain parameters
 * (class, size = circumscribed diameter in voxels, centre, rotation quaternion, rounding and the
 * class's own dimensionless parameters), so a phantom can be rebuilt from its JSON record.
 */
import { quaternionToMatrix, type Quaternion } from '../../core/random.ts';
import { Capsule, Ellipsoid, Polytope, type ConvexSolid } from './solids.ts';

export const SHAPE_CLASSES = [
  'sphere', 'ellipsoid', 'cube', 'rod', 'octahedron', 'truncated-octahedron', 'cuboctahedron',
  'icosahedron', 'decahedron', 'bipyramid', 'triangle-plate', 'truncated-triangle-plate',
  'hexagon-plate', 'square-plate',
] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

/** Classes built as (optionally rounded) polytopes. */
export const POLYTOPE_CLASSES: readonly ShapeClass[] = SHAPE_CLASSES.filter((c) => !['sphere', 'ellipsoid', 'rod'].includes(c));

/** Plain, JSON-serialisable description of one shape. */
export interface ShapeParams {
  shapeClass: ShapeClass;
  /** Circumscribed diameter (largest extent about the centre x 2), voxels. */
  size: number;
  /** Centre, voxels from the volume centre, (x, y, z). */
  centre: [number, number, number];
  /** Local-to-world rotation. */
  rotation: Quaternion;
  /** Edge/tip rounding radius, voxels (polytopes only; 0 = sharp). */
  rounding: number;
  /**
   * Class parameters: cube `aspect` (z/x, 1-2); ellipsoid `ratioB`, `ratioC` (axis ratios 1-2);
   * rod `aspect` (length/diameter 1-4); octahedron/truncated-octahedron `truncation` (0-1);
   * decahedron `truncation` (Marks/Ino re-entrant cut, 0-0.3); bipyramid `truncation` (tips, 0-0.1);
   * plates `thickness` (fraction of the triangle/hexagon/square edge, 0.1-0.3) and
   * truncated-triangle `truncation` (0 triangle - 1 hexagon).
   */
  dims: Record<string, number>;
}

interface Planes { normals: number[]; d: number[] }

function dim(p: ShapeParams, key: string, fallback: number): number {
  const v = p.dims[key];
  return typeof v === 'number' ? v : fallback;
}

/** Local half-space description of a polytope class (arbitrary scale; centred on the origin). */
export function classPlanes(p: ShapeParams): Planes {
  const normals: number[] = [];
  const d: number[] = [];
  const add = (nx: number, ny: number, nz: number, dd: number): void => {
    normals.push(nx, ny, nz);
    d.push(dd);
  };
  const ring = (k: number, phase: number, dd: number): void => {
    for (let i = 0; i < k; i++) {
      const a = phase + (2 * Math.PI * i) / k;
      add(Math.cos(a), Math.sin(a), 0, dd);
    }
  };
  const plateZ = (edge: number): void => {
    const t = dim(p, 'thickness', 0.2) * edge;
    add(0, 0, 1, t / 2);
    add(0, 0, -1, t / 2);
  };
  switch (p.shapeClass) {
    case 'cube': {
      const a = dim(p, 'aspect', 1);
      add(1, 0, 0, 1); add(-1, 0, 0, 1); add(0, 1, 0, 1); add(0, -1, 0, 1); add(0, 0, 1, a); add(0, 0, -1, a);
      break;
    }
    case 'octahedron':
    case 'truncated-octahedron':
    case 'cuboctahedron': {
      for (const sx of [-1, 1]) for (const sy of [-1, 1]) for (const sz of [-1, 1]) add(sx, sy, sz, 1);
      // Cube planes |x_i| <= c: c = 1 touches the vertices (octahedron), 2/3 the Archimedean
      // truncated octahedron, 1/2 the cuboctahedron.
      const tau = p.shapeClass === 'cuboctahedron' ? 1 : dim(p, 'truncation', 0);
      if (tau > 0) {
        const c = 1 - tau / 2;
        add(1, 0, 0, c); add(-1, 0, 0, c); add(0, 1, 0, c); add(0, -1, 0, c); add(0, 0, 1, c); add(0, 0, -1, c);
      }
      break;
    }
    case 'icosahedron': {
      // Face normals of the icosahedron = vertices of the dodecahedron.
      const phi = (1 + Math.sqrt(5)) / 2, ip = 1 / phi;
      for (const sx of [-1, 1]) for (const sy of [-1, 1]) for (const sz of [-1, 1]) add(sx, sy, sz, Math.sqrt(3));
      for (const s1 of [-1, 1]) for (const s2 of [-1, 1]) {
        add(0, s1 * ip, s2 * phi, Math.sqrt(3));
        add(s1 * ip, s2 * phi, 0, Math.sqrt(3));
        add(s1 * phi, 0, s2 * ip, Math.sqrt(3));
      }
      break;
    }
    case 'decahedron':
    case 'bipyramid': {
      // Pentagonal bipyramid: equator vertices at radius 1; apex at +-h.
      const rhoE = Math.cos(Math.PI / 5);
      const h = p.shapeClass === 'decahedron' ? (1.55 * rhoE) / 2 : 3.73;
      for (let k = 0; k < 5; k++) {
        const a = (2 * Math.PI * (k + 0.5)) / 5;
        add(h * Math.cos(a), h * Math.sin(a), rhoE, h * rhoE);
        add(h * Math.cos(a), h * Math.sin(a), -rhoE, h * rhoE);
      }
      const tau = dim(p, 'truncation', 0);
      if (tau > 0) {
        if (p.shapeClass === 'decahedron') ring(5, 0, 1 - tau);
        else { add(0, 0, 1, h * (1 - tau)); add(0, 0, -1, h * (1 - tau)); }
      }
      break;
    }
    case 'triangle-plate':
    case 'truncated-triangle-plate': {
      // Inradius 1, circumradius 2, edge 2 sqrt 3; truncation planes at the corners, 0..1 -> hexagon.
      ring(3, 0, 1);
      const tau = p.shapeClass === 'truncated-triangle-plate' ? dim(p, 'truncation', 0.5) : 0;
      if (tau > 0) ring(3, Math.PI, 2 - tau);
      plateZ(2 * Math.sqrt(3));
      break;
    }
    case 'hexagon-plate':
      ring(6, 0, 1);
      plateZ(2 / Math.sqrt(3));
      break;
    case 'square-plate':
      ring(4, 0, 1);
      plateZ(2);
      break;
    default:
      throw new RangeError(`classPlanes: ${p.shapeClass} is not a polytope class`);
  }
  return { normals, d };
}

const IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1];
const circumCache = new Map<string, number>();

/** Builds the solid of a shape. Deterministic in its parameters. */
export function buildShape(p: ShapeParams): ConvexSolid {
  const rot = quaternionToMatrix(p.rotation);
  const half = p.size / 2;
  switch (p.shapeClass) {
    case 'sphere':
      return new Ellipsoid(half, half, half, rot, p.centre);
    case 'ellipsoid': {
      const b = dim(p, 'ratioB', 1), c = dim(p, 'ratioC', 1);
      const m = Math.max(1, b, c);
      return new Ellipsoid(half / m, (half * b) / m, (half * c) / m, rot, p.centre);
    }
    case 'rod': {
      const rho = p.size / (2 * dim(p, 'aspect', 2));
      return new Capsule(Math.max(half - rho, 0), rho, rot, p.centre);
    }
    default: {
      const { normals, d } = classPlanes(p);
      const key = JSON.stringify([p.shapeClass, p.dims]);
      let circ = circumCache.get(key);
      if (circ === undefined) {
        circ = new Polytope(normals, d, 0, IDENTITY, [0, 0, 0]).radius;
        if (circumCache.size > 10000) circumCache.clear();
        circumCache.set(key, circ);
      }
      const s = half / circ;
      const ds = d.map((v) => v * s);
      return new Polytope(normals, ds, p.rounding, rot, p.centre);
    }
  }
}

/** Largest rounding radius a polytope shape allows (below its distance from centre to any face). */
export function maxRounding(p: ShapeParams): number {
  if (!POLYTOPE_CLASSES.includes(p.shapeClass)) return 0;
  const { normals, d } = classPlanes(p);
  const circ = new Polytope(normals, d, 0, IDENTITY, [0, 0, 0]).radius;
  let m = Infinity;
  for (let i = 0; i < d.length; i++) m = Math.min(m, d[i] / Math.hypot(normals[3 * i], normals[3 * i + 1], normals[3 * i + 2]));
  return (m * p.size) / 2 / circ;
}
