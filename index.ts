/**
 * nanodose's public API: what a script needs to simulate data, train a denoiser, reconstruct and score
 * dose efficiency without the CLI. Each area's own index (datasets/, generators/phantoms/,
 * generators/projection/, models/, training/, eval/recon/, eval/metrics/, eval/baselines/) holds the
 * rest of its API; they are reachable as `nanodose/<area>` (package.json `exports`).
 *
 *   import { generateDataset, train, runEvaluation } from 'nanodose';
 *   await generateDataset({ out: 'data/train', count: 64, seed: 1 });
 *   await train({ data: 'data/train', scheme: 'n2n-thinning', out: 'models/n2n' });
 *   await runEvaluation({ ... });             // see eval/README.md
 */
// Phantoms and simulated tilt series
export { samplePhantom, rebuildPhantom, voxelise, defaultPhantomConfig, validatePhantomConfig, type Phantom, type PhantomConfig } from './generators/phantoms/index.ts';
export { Projector, makeGeometry, parseTiltAngles, projectPhantom, type TiltGeometry } from './generators/projection/index.ts';
export { simulateSample, defaultSimulationConfig, validateSimulationConfig, type SimulationConfig, type SimulatedSample } from './generators/simulate.ts';
export { ConfigError } from './core/validate.ts';
// Datasets
export { generateDataset, openDataset, defaultDatasetConfig, validateDatasetConfig, readManifest, type GenerateOptions, type DatasetReader, type DatasetConfig, type Manifest } from './datasets/index.ts';
// Denoisers and training
export { initBackend, buildModel, saveModel, loadModel, denoiseTiled, type BackendChoice, type ModelSpec } from './models/index.ts';
export { train, SCHEMES, type TrainOptions, type TrainResult, type Scheme } from './training/index.ts';
// Reconstruction, baselines, metrics, evaluation
export { reconstruct, parseReconSpec, makeOperator, sirt, sirtFast, fbp, tvReconstruct, type ReconSpec, type ProjectionOperator } from './eval/recon/index.ts';
export { denoiseBaseline, BASELINES, type Baseline } from './eval/baselines/index.ts';
export { psnr, ssim, nrmseScaled, ssim3d, poissonDeviance } from './eval/metrics/index.ts';
export { runEvaluation, type EvaluationOptions, type EvaluationResult } from './eval/harness/run.ts';
export { runPipeline, type PipelineOptions, type PipelineResult } from './scripts/pipeline/run.ts';
