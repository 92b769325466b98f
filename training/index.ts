/**
 * nanodose training: supervised and self-supervised (binomial-thinning Noise2Noise, even/odd-frame
 * Noise2Noise, blind-spot) training of the pooled single-channel denoisers of models/, with
 * seeded, resumable runs (training/loop.ts). See training/README.md.
 *
 *   import { train } from './training/index.ts';
 *   const r = await train({ data: 'data/train', scheme: 'n2n-thinning', out: 'models/n2n', model: { depth: 3, filters: 16 } });
 */
export { train, TrainingDivergedError, TRAIN_DEFAULTS, type TrainOptions, type TrainResult } from './loop.ts';
export { SCHEMES, makePair, inferenceInput, storedCounts, type Scheme, type NoiseMode, type Projection, type SchemeParams, type Pair, type Crop } from './schemes.ts';
export type { MapSource, MapItem } from './sources.ts';
export { LOSSES, packedLoss, pixelLoss, createLoss, type LossKind } from './losses.ts';
export { dihedral, dihedralMap } from './augment.ts';
export { blindSpotMask, applyBlindSpot, blindSpotTensor, type BlindSpotMask, type BlindSpotOptions } from './blindspot.ts';
export { learningCurveSvg, type EpochLog } from './curve.ts';
export { seededInit } from './checkpoint.ts';
