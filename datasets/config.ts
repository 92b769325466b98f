/**
 * The dataset config: the simulation (phantom, geometry, acquisition; generators/simulate.ts) plus
 * the file options (datasets/options.ts), one zod schema (core/schema.ts) that gives the types, the
 * defaults, the ranges, the field docs `--print-config` prints (CONFIG_DOCS), the README's config
 * table and the JSON Schema file datasets/config.schema.json (for Python users:
 * `jsonschema.validate(cfg, json.load(open('datasets/config.schema.json')))`).
 * `validateDatasetConfig` merges a partial config over the defaults and throws a one-line
 * ConfigError naming the field and its allowed range.
 */
import { z } from 'zod';
import { doc, fieldDocs, fieldRows, num, object, parseConfig } from '../core/schema.ts';
import { checkSimulationConfig, geometrySchema, type SimulationConfig } from '../generators/simulate.ts';
import { defaultPhantomConfig, phantomSchema } from '../generators/phantoms/index.ts';
import { acquisitionSchema, legacyModel } from '../generators/signal/index.ts';
import { checkFileOptions, fileOptionsShape, type DatasetFileOptions } from './options.ts';

export { MAX_DETECTOR_COLUMNS } from '../generators/projection/index.ts';
export { ACQUISITION_MODES, DOSE_KINDS } from '../generators/signal/index.ts';

export interface DatasetConfig extends DatasetFileOptions {
  /** Phantom, tilt geometry and acquisition (dose, frames, detector) settings. */
  simulation: SimulationConfig;
}

/**
 * Phantom size of a dataset when the config does not give one: 64^3, a small dataset that a laptop
 * makes in seconds (the phantom generator's own default, 128^3, is science.md's full size).
 */
export const DATASET_DEFAULT_SIZE = 64;

/** The dataset config schema (field order = the stored config's). */
export const datasetConfigSchema = object({
  simulation: doc(
    object({
      phantom: phantomSchema
        .extend({
          size: doc(num(32, 512, { integer: true }), 'phantom grid edge N in voxels (an N^3 volume; one voxel = one detector pixel = acquisition.pixelSizeAngstrom A)', {
            defaultText: `${DATASET_DEFAULT_SIZE} for a dataset, DATASET_DEFAULT_SIZE; the phantom generator's own default is ${defaultPhantomConfig().size}`,
          }).default(DATASET_DEFAULT_SIZE),
        })
        .prefault({}),
      geometry: geometrySchema.prefault({}),
      acquisition: z.preprocess(legacyModel, acquisitionSchema).prefault({}),
    }),
    'phantom, geometry and acquisition settings of generators/simulate.ts (every field below; defaults printed above)',
  ).prefault({}),
  ...fileOptionsShape,
}, 'a JSON object');

export const DATASET_CONFIG_KEYS = Object.keys(datasetConfigSchema.shape) as (keyof DatasetConfig)[];

export function defaultDatasetConfig(): DatasetConfig {
  return validateDatasetConfig({});
}

export function validateDatasetConfig(raw: unknown): DatasetConfig {
  const c = parseConfig(datasetConfigSchema, raw ?? {}, '');
  const r = (raw ?? {}) as Record<string, unknown>;
  const simulation = checkSimulationConfig(c.simulation as SimulationConfig, r.simulation, 'simulation');
  const { store, split, samplesPerShard, compression } = checkFileOptions(c, '');
  return { simulation, store, split, samplesPerShard, compression };
}

/**
 * One line per field of the dataset config (printed by `nanodose generate --print-config`, and the
 * README's config table): what it is, its unit, its allowed range and its default, from the schema.
 */
export const CONFIG_DOCS: Record<string, string> = fieldDocs(datasetConfigSchema, '', defaultDatasetConfig());

/** The JSON Schema (draft 2020-12) of a dataset config file as a user writes it (every field optional). */
export function datasetConfigJsonSchema(): Record<string, unknown> {
  const js = z.toJSONSchema(datasetConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { title: 'nanodose dataset config', description: 'A nanodose dataset config file (nanodose generate --config); every field is optional, left-out fields take their defaults. Generated from datasets/config.ts by scripts/config-docs.ts.', ...js };
}

/** The config table of datasets/README.md (between its config-table markers; `node --import tsx scripts/config-docs.ts` writes it). */
export function datasetConfigTable(): string {
  const cell = (t: string) => t.replace(/\|/g, '\\|');
  const rows = fieldRows(datasetConfigSchema, defaultDatasetConfig()).filter((r) => r.default);
  return ['| field | default | allowed | meaning |', '|---|---|---|---|', ...rows.map((r) => `| \`${r.path}\` | ${cell(r.default)} | ${cell(r.range)} | ${cell(r.description)} |`)].join('\n');
}
