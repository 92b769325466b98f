/**
 * Presets of the one-command pipeline (`nanodose run --preset NAME`): the dataset, the denoisers to
 * train and the evaluation, as plain data. Every figure the pipeline reports comes from running
 * these; nothing is precomputed.
 *
 * - `demo`: small enough for a laptop or CI machine (about 5-10 minutes on 2 cores): 64^3 phantoms,
 *   Au/Ag solid, alloy and core-shell particles, 29 tilts over +-70 deg, a supervised and a
 *   self-supervised (Noise2Noise on binomially thinned halves of the stored noisy counts, no clean
 *   data) U-Net and a HAADF-guided U-Net (HAADF + Au + Ag in, Au + Ag out), then raw / Gaussian / TV /
 *   the models over 5 doses spanning 2 decades with SIRT, the joint HAADF + EDX reconstruction
 *   fused (at its data-scaled default weight), alone and after the Gaussian filter (gaussian+fused),
 *   and quantitative HAADF tomography (haadf-quant, no EDX).
 * - `paper`: the set-up of science.md followed faithfully (128^3, every shape class, core-shell
 *   with diffuse interfaces, -70..70 deg in 2 deg steps, doses over 3 decades, the default U-Net):
 *   hours on a CPU, practical with tfjs-node-gpu.
 * - `protocols`: the protocol comparison (number of tilts, tilt range, detector solid angle at a
 *   fixed total dose) on a demo-sized dataset, with the classical baselines.
 * - `tiny`: the end-to-end test's preset (32^3, a few phantoms, short training): checks the
 *   plumbing, not the science.
 */
import type { Scheme } from '../../training/index.ts';
import { ConfigError } from '../../core/validate.ts';

export interface TrainStep {
  /** Name of the method in the report (and the model's folder under models/). */
  name: string;
  scheme: Scheme;
  /** Options passed to training's train() besides data, scheme and out. */
  options: Record<string, unknown>;
}

export interface Preset {
  name: string;
  describe: string;
  dataset: { config: Record<string, unknown>; count: number; seed: number };
  train: TrainStep[];
  /**
   * joint: methods that bring their own reconstruction (eval/harness/methods.ts), e.g. 'fused:20' or
   * 'gaussian+fused:20'; their weight is tuned per dose on jointTunePhantoms validation phantoms.
   */
  eval: { baselines: string[]; joint?: string[]; doses: string; recon: string; phantoms: number; bootstrap: number; tunePhantoms?: number; jointTunePhantoms?: number };
  /** Protocol comparison instead of the method comparison. */
  protocols?: { totalDose?: number };
  /**
   * Seconds of each stage in one measured run (train: per model). Only their ratios are used: they
   * give `run`'s overall ETA its stages to come, scaled by this machine's speed on the stages so far
   * (core/progress startOverall). Left out: no overall ETA until the last stage runs.
   */
  stageSeconds?: { generate: number; train: number; eval: number };
}

const demoData = (size: number, angles: string, extra: Record<string, unknown> = {}, elements = ['Au', 'Ag']) => ({
  simulation: {
    phantom: { size, elements },
    geometry: { angles },
    // 300 e/A^2 per projection: about 0.5 counts per pixel inside a 64^3 particle (the quantum-dot data's level)
    acquisition: { dose: 300 },
    ...extra,
  },
  split: { train: 0.7, val: 0.15, test: 0.15 },
  samplesPerShard: 32,
});

/** The demo's dataset config with another element pair (the joint-eval bench's Au/Pt set: Z 79/78). */
export function demoDatasetConfig(elements: string[]): Record<string, unknown> {
  return demoData(64, '-70:70:5', {}, elements);
}

export const PRESETS: Record<string, Preset> = {
  demo: {
    name: 'demo',
    describe: 'small built-in demo: 64^3, 29 tilts, supervised + self-supervised + HAADF-guided U-Net, 5 doses, SIRT',
    dataset: { config: demoData(64, '-70:70:5'), count: 64, seed: 1 },
    train: [
      { name: 'unet-supervised', scheme: 'supervised', options: { model: { arch: 'unet', depth: 4, filters: 16 }, epochs: 12, stepsPerEpoch: 25, batch: 8, patch: 64, doseRange: [20, 4000], lr: 2e-3, seed: 1 } },
      { name: 'unet-n2n', scheme: 'n2n-thinning', options: { model: { arch: 'unet', depth: 4, filters: 16 }, epochs: 12, stepsPerEpoch: 25, batch: 8, patch: 64, noise: 'fixed', lr: 2e-3, seed: 2 } },
      // HAADF-guided: the HAADF and both element maps in, both maps out, at the supervised U-Net's budget
      // (8 patches x 3 channels per step: the same element-map patches per step as the pooled net's 8 x 1, twice the maps seen per patch).
      { name: 'unet-guided', scheme: 'supervised', options: { model: { arch: 'unet', depth: 4, filters: 16 }, inputs: ['HAADF', 'Au', 'Ag'], outputs: ['Au', 'Ag'], epochs: 12, stepsPerEpoch: 25, batch: 8, patch: 64, doseRange: [20, 4000], lr: 2e-3, seed: 1 } },
    ],
    // Joint and HAADF-only methods within the 10-minute budget (about 7.5 min without them on 2 quiet
    // cores, so about 150 s to spend). Measured on this data (64^3, 29 tilts, 2 elements), process CPU
    // seconds per block, loaded machine: fused:4 3.1-4.3, fused:8 5.0-5.2 (the single-threaded TV prox
    // dominates, so CPU ~ wall on quiet cores), haadf-quant 0.7-0.9, sirt:50 of both elements 1.3.
    // fused:4 at the library's data-scaled default weight (jointTunePhantoms 0: tuning its 6-value grid
    // at 5 doses would cost 30 more reconstructions, about 100-130 s) and haadf-quant: 25 blocks each, about
    // 80-110 s + 20 s (after the ray-table joint engine, measured during a full test run: fused:4 5.7 s,
    // haadf-quant 1.1 s CPU, i.e. up to 170 s: borderline; drop 'fused:4' here first if the demo runs long). fused:8 gave the same PSNR as fused:4 to 0.05 dB on a test phantom at 300 e/A^2;
    // gaussian+fused, the best joint method of the joint-eval bench (Gaussian + SIRT x 1.98 / 1.76 on
    // Au/Ag), at the same 4 iterations and default weight: the profile of the evaluate stage (loaded,
    // serial, before the block workers) gave fused:4's reconstruction 24 % of the stage, so it adds
    // about a quarter, paid for by the (phantom, dose) groups running on 2 block workers (the denoising,
    // metrics and the joint prox ran on one core: 60 % of the stage). bimodal, TNV, tuning and the
    // Au/Pt set stay in `npm run bench -- joint-eval`.
    eval: { baselines: ['gaussian', 'tv'], joint: ['fused:4', 'gaussian+fused:4', 'haadf-quant'], doses: '30:3000:5', recon: 'sirt:50', phantoms: 5, bootstrap: 1000, jointTunePhantoms: 0 },
    // README's fresh-clone run (750c464): generate 6 s, train 209 s (3 models), evaluate 102 s
    stageSeconds: { generate: 6, train: 70, eval: 102 },
  },
  paper: {
    name: 'paper',
    describe: 'science.md set-up: 128^3, every shape class, core-shell, -70..70 step 2, 3 decades of dose (hours on CPU)',
    dataset: {
      config: {
        simulation: {
          phantom: { size: 128, elements: ['Au', 'Ag'], composition: { solid: 1, alloy: 1, 'core-shell': 2 } },
          geometry: { angles: '-70:70:2' },
          acquisition: { dose: 300 },
        },
        split: { train: 0.8, val: 0.1, test: 0.1 },
        samplesPerShard: 16,
      },
      count: 1000,
      seed: 1,
    },
    train: [
      { name: 'unet-supervised', scheme: 'supervised', options: { model: { arch: 'unet' }, epochs: 100, stepsPerEpoch: 200, batch: 16, patch: 128, doseRange: [5, 10000], patience: 10, seed: 1 } },
      { name: 'unet-n2n', scheme: 'n2n-thinning', options: { model: { arch: 'unet' }, epochs: 100, stepsPerEpoch: 200, batch: 16, patch: 128, noise: 'fixed', patience: 10, seed: 2 } },
      { name: 'unet-n2v', scheme: 'blind-spot', options: { model: { arch: 'unet' }, epochs: 100, stepsPerEpoch: 200, batch: 16, patch: 128, noise: 'fixed', patience: 10, seed: 3 } },
    ],
    eval: { baselines: ['gaussian', 'median', 'tv', 'anscombe'], doses: '10:10000:7', recon: 'sirt:100', phantoms: 50, bootstrap: 2000 },
  },
  protocols: {
    name: 'protocols',
    describe: 'protocol comparison at a fixed total dose: tilt count, tilt range, detector solid angle',
    dataset: { config: demoData(64, '-70:70:5'), count: 48, seed: 1 },
    train: [],
    eval: { baselines: ['gaussian'], doses: '30:3000:5', recon: 'sirt:50', phantoms: 3, bootstrap: 500 },
    protocols: {},
  },
  tiny: {
    name: 'tiny',
    describe: 'end-to-end test preset: 32^3, 15 tilts, short training (checks the plumbing)',
    dataset: { config: demoData(32, '-70:70:10'), count: 24, seed: 3 },
    train: [
      { name: 'unet-supervised', scheme: 'supervised', options: { model: { arch: 'unet', depth: 2, filters: 8 }, epochs: 4, stepsPerEpoch: 20, batch: 8, patch: 32, doseRange: [20, 4000], lr: 3e-3, seed: 1, workers: 1 } },
      { name: 'unet-n2n', scheme: 'n2n-thinning', options: { model: { arch: 'unet', depth: 2, filters: 8 }, epochs: 4, stepsPerEpoch: 20, batch: 8, patch: 32, noise: 'fixed', lr: 3e-3, seed: 2, workers: 1 } },
    ],
    eval: { baselines: ['gaussian'], doses: '30:3000:3', recon: 'sirt:30', phantoms: 2, bootstrap: 100, tunePhantoms: 1 },
    // one run on the loaded 2-core machine: generate 32 s, train 98 s (2 models), evaluate 96 s
    stageSeconds: { generate: 32, train: 49, eval: 96 },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);

export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new ConfigError('preset', `unknown preset '${name}'; allowed: ${PRESET_NAMES.join(', ')}`);
  return structuredClone(p);
}
