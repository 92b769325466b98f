/** Metrics (a leaf module: training may import it). */
export { mse, psnr, ssim, valueRange } from './image.ts';
export type { SsimOptions } from './image.ts';
export { lsScale, scaledScores, nrmseScaled, ssim3d, otsuThreshold, thresholdMask, dice, otsuDice, shellThickness, shellThicknessError } from './volume.ts';
export type { ScaledScores } from './volume.ts';
export { poissonDeviance } from './counts.ts';
export { pearson } from './correlation.ts';
