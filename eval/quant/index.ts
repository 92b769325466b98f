/**
 * Quantitative HAADF tomography (Skorikov et al., ACS Nano 13, 13421 (2019), doi:10.1021/acsnano.9b05593):
 * two-element concentrations per voxel from the HAADF alone, with its calibration and its conditioning
 * (quantify.ts lists the assumptions).
 */
export { quantifyVolume, quantifyTiltSeries, type QuantOptions, type QuantResult, type TiltSeriesQuantOptions } from './quantify.ts';
export { checkQuantElements, conditioning, MAX_AMPLIFICATION, type Conditioning, type QuantElement } from './elements.ts';
export { calibrate, parseCalibration, physicalK, type Calibration, type CalibrationSpec } from './calibrate.ts';
export { particleThreshold, segmentParticle, erode, dilate, type Shape3 } from './segment.ts';
