/**
 * Solids in world (voxel) coordinates, one file each under solids/: convex polytopes (half-space
 * intersections, optionally rounded: the points within r of the polytope shrunk by r), ellipsoids,
 * capsules and the intersection of two convex solids. Each gives the exact signed distance and the exact
 * chord (entry/exit interval) along any line; the chord and the interval overlap are written once in
 * solids/convex.ts. The hot methods allocate nothing.
 */
export { ChordFromInterval, intersectionInterval, slab, type ConvexSolid, type IntervalSolid } from './solids/convex.ts';
export { Polytope } from './solids/polytope.ts';
export { Ellipsoid } from './solids/ellipsoid.ts';
export { Capsule } from './solids/capsule.ts';
export { Intersection } from './solids/intersection.ts';
