/**
 * Procedural nanoparticle phantoms (science.md section 2): shape classes as exact solids (signed
 * distance and chord along any line), a config-driven sampler with a plain-JSON record per sample,
 * and anti-aliased voxelisation to per-element fractions.
 */
export type { Element, Phantom, PhantomParams, Region, Solid } from './types.ts';
export { SHAPE_CLASSES, POLYTOPE_CLASSES, buildShape, classPlanes, maxRounding, type ShapeClass, type ShapeParams } from './shapes.ts';
export { Capsule, Ellipsoid, Intersection, Polytope, type ConvexSolid } from './solids.ts';
export {
  COMPOSITIONS, ELEMENTS, ORIENTATIONS, checkPhantomConfig, defaultPhantomConfig, phantomSchema, rebuildPhantom, samplePhantom, samplePhantomParams,
  validatePhantomConfig, type Composition, type Orientation, type ParticleParams, type PhantomConfig, type PhantomRecord,
} from './sampler.ts';
export { cubeFraction, erfc, voxelise } from './voxelise.ts';
