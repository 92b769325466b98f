/** Reconstruction on the tilt-series projector: one entry `reconstruct(op, data, spec)` for SIRT (ASTRA semantics), FBP, TV (Chambolle-Pock) and the joint HAADF + EDX methods (fused, bimodal, TNV). */
export type { LinearOperator, ProjectionOperator, IterationRecord } from './operator.ts';
export { safeReciprocal } from './operator.ts';
export { reconstruct, parseReconSpec, makeOperator, isJoseph, isJointSpec, CHANNEL_METHODS } from './reconstruct.ts';
export type { ReconSpec, ChannelReconSpec, ReconOptions } from './reconstruct.ts';
export { JOINT_METHODS, parseJointSpec } from './joint/index.ts';
export type { JointSpec, JointTiltSeries, JointVolumes, JointMethod } from './joint/index.ts';
export { sirt, checkSirtOptions } from './sirt/reference.ts';
export type { SirtOptions } from './sirt/reference.ts';
export { sirtFast } from './sirt/slices.ts';
export { fbp, rampFilter, angleWeights, filterTiltSeries, FBP_FILTERS } from './fbp.ts';
export type { FbpFilter, FbpOptions } from './fbp.ts';
export { tvReconstruct, operatorNorm, gradient3, divergence3 } from './tv.ts';
export type { TvOptions, Shape3 } from './tv.ts';
export { SliceMatrixOperator, DenseOperator, josephMatrix } from './joseph-matrix.ts';
