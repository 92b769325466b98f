/** Reconstruction on the tilt-series projector: SIRT (ASTRA semantics), FBP, TV (Chambolle-Pock). */
export type { ProjectionOperator } from './operator.ts';
export { safeReciprocal } from './operator.ts';
export { sirt } from './sirt.ts';
export type { SirtOptions } from './sirt.ts';
export { fbp, rampFilter, angleWeights, filterTiltSeries, FBP_FILTERS } from './fbp.ts';
export type { FbpFilter, FbpOptions } from './fbp.ts';
export { tvReconstruct, operatorNorm, gradient3, divergence3 } from './tv.ts';
export type { TvOptions, Shape3 } from './tv.ts';
export { SliceMatrixOperator, DenseOperator, josephMatrix } from './sparse.ts';
