/**
 * The dataset config: the simulation (phantom, geometry, acquisition; generators/simulate.ts) plus
 * the file options (datasets/options.ts). `validateDatasetConfig` merges a partial config over the
 * defaults and throws a ConfigError naming the field and its allowed range.
 */
import { ConfigError, checkKnownKeys } from '../generators/common/validate.ts';
import { defaultSimulationConfig, validateSimulationConfig, type SimulationConfig } from '../generators/simulate.ts';
import { FILE_OPTION_DOCS, defaultFileOptions, validateFileOptions, type DatasetFileOptions } from './options.ts';

export interface DatasetConfig extends DatasetFileOptions {
  /** Phantom, tilt geometry and acquisition (dose, frames, detector) settings. */
  simulation: SimulationConfig;
}

/**
 * Phantom size of a dataset when the config does not give one: 64^3, a small dataset that a laptop
 * makes in seconds (the phantom generator's own default, 128^3, is science.md's full size).
 */
export const DATASET_DEFAULT_SIZE = 64;

export function defaultDatasetConfig(): DatasetConfig {
  const simulation = defaultSimulationConfig();
  simulation.phantom.size = DATASET_DEFAULT_SIZE;
  return { simulation, ...defaultFileOptions() };
}

export const DATASET_CONFIG_KEYS = ['simulation', 'store', 'split', 'samplesPerShard', 'compression'] as const;

export const CONFIG_DOCS: Record<string, string> = {
  simulation: 'phantom, geometry and acquisition settings of generators/simulate.ts (defaults printed above; their ranges are checked by the simulator)',
  'simulation.geometry.projector': "'voxel' (default: Joseph projection of the voxelised phantom) or 'analytic' (exact chord lengths of the convex solids, no inverse crime; diffuse interfaces still go through the voxels); with 'analytic', simulation.geometry.supersample = sub-rays per pixel side, integer 1-8, default 3",
  'simulation.acquisition.readNoise': 'optional HAADF Gaussian read noise, sigma in counts per frame, >= 0 (default 0 = none)',
  'simulation.acquisition.jitter': 'optional alignment jitter: largest per-tilt integer shift in pixels of rows and cols, 0-4 (default 0 = off; 1 = +-1 px); shifts recorded in each sample\'s params.jitter',
  ...FILE_OPTION_DOCS,
};

export function validateDatasetConfig(raw: unknown): DatasetConfig {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('config', `must be a JSON object, got ${JSON.stringify(raw)}`);
  const r = raw as Record<string, unknown>;
  checkKnownKeys('', r, DATASET_CONFIG_KEYS);
  const sim = (r.simulation ?? {}) as Record<string, unknown>;
  const phantom = (sim.phantom ?? {}) as Record<string, unknown>;
  const withSize = typeof sim === 'object' && !Array.isArray(sim) && typeof phantom === 'object' && !Array.isArray(phantom) && phantom.size === undefined
    ? { ...sim, phantom: { ...phantom, size: DATASET_DEFAULT_SIZE } }
    : sim;
  const simulation = validateSimulationConfig(withSize);
  return { simulation, ...validateFileOptions(r, '') };
}
