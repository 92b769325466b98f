/**
 * The phantom contract shared by voxelisation, analytic projection and dataset writing.
 *
 * Coordinates are in voxel units of an N^3 grid, origin at the volume centre; the volume array is
 * `[z, y, x]` with the tilt axis along z (science.md section 3). Voxel (iz, iy, ix) has its
 * centre at (ix - (N-1)/2, iy - (N-1)/2, iz - (N-1)/2).
 */

/** A solid body: convex shapes (half-space intersections, optionally rounded), ellipsoids, capped cylinders. */
export interface Solid {
  /** Signed Euclidean distance to the surface (negative inside), in voxels. */
  sdf(x: number, y: number, z: number): number;
  /**
   * Length of the line p + t d (t over all reals, |d| = 1) inside the solid, in voxels. Exact for
   * convex shapes: the inside of a convex body along a line is one interval.
   */
  chord(px: number, py: number, pz: number, dx: number, dy: number, dz: number): number;
  /** Radius of a sphere about the origin that contains the solid. */
  readonly boundingRadius: number;
}

/** A chemical element of the phantom: symbol and atomic number. */
export interface Element {
  symbol: string;
  Z: number;
}

/**
 * One homogeneous region of a phantom: the points inside `solid` and outside `minus` (if given),
 * each holding `fractions[e]` of element e (sum <= 1). A core-shell particle is two regions:
 * the core, and the shell with `minus` = core. `blur` (voxels, 0 = sharp) is the width of a
 * diffuse (erf-profile) interface on this region's boundary.
 */
export interface Region {
  solid: Solid;
  minus?: Solid;
  fractions: number[];
  blur: number;
  /** Diffuse width (voxels) of the boundary with `minus` (e.g. the core-shell interface); default `blur`. */
  minusBlur?: number;
  /**
   * Where `solid` or `minus` is a cut core (an Intersection of a core with its shell), the diffuse
   * width of the shell's surface, so that a blurred core never reaches beyond the shell; default 0.
   */
  outerBlur?: number;
}

/** A sampled phantom: its regions (for voxelisation and exact projection) and its plain-data record. */
export interface Phantom {
  /** Edge length N of the voxel grid this phantom was sampled for. */
  size: number;
  elements: Element[];
  regions: Region[];
  /** JSON-serialisable record of everything drawn (class, sizes, rotation, composition), enough to rebuild. */
  params: PhantomParams;
}

export interface PhantomParams {
  /** Shape class of the (outer) particle, e.g. 'octahedron'; several particles: the first one's. */
  shapeClass: string;
  /** 'solid' | 'alloy' | 'core-shell'. */
  composition: string;
  [key: string]: unknown;
}
