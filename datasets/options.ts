/**
 * The dataset-file part of the dataset config: what to store, the split, shard size and gzip level.
 * Every field, its default and its range come from the schema below (printed by
 * `nanodose generate --print-config`, datasets/config.ts CONFIG_DOCS).
 */
import { z } from 'zod';
import { bool, choice, doc, fieldDocs, num, object, parseConfig } from '../core/schema.ts';
import { ConfigError } from '../core/validate.ts';

export const COUNT_FILTERS = ['scaleoffset', 'gzip', 'none'] as const;

/**
 * Filters per array (h5wasm allows one per dataset). Chosen by measurement
 * (scripts/bench/datasets.bench.ts): gzip on float32 expected counts saves under 10% at several
 * times the write time (their low mantissa bits are noise), so `clean` is stored plain by default;
 * integer counts use HDF5's built-in scale-offset filter (lossless for integers: each chunk packed
 * to the bits its range needs), smaller and faster than gzip; phantom fractions (mostly exact
 * zeros) gzip well and fast.
 */
const compressionSchema = object({
  phantom: doc(num(0, 9, { integer: true }), 'gzip level of the phantom fractions, 0 = none').default(1),
  clean: doc(num(0, 9, { integer: true }), 'gzip level of the expected counts, 0 = none (float32 counts shrink < 10% at several times the write time)').default(0),
  counts: doc(choice(COUNT_FILTERS), 'filter of the integer counts: scaleoffset (lossless bit packing), gzip (level 1) or none').default('scaleoffset'),
}, `an object { phantom: 0-9, clean: 0-9, counts: ${COUNT_FILTERS.join('|')} }`);

/** The dataset-file options, one schema (core/schema.ts); field order = the stored config's. */
export const fileOptionsShape = {
  store: object({
    phantom: doc(bool(), 'store the phantom fractions [sample, element, z, y, x]').default(true),
    clean: doc(bool(), 'store the expected counts [sample, channel, angle, row, col]').default(true),
    noisy: doc(bool(), 'store the Poisson counts, same shape, uint32').default(true),
    frames: doc(bool(), 'store per-frame counts [sample, channel, angle, frame, row, col] (needs frames > 1 in the acquisition)').default(false),
  }, 'an object with boolean fields phantom, clean, noisy, frames').prefault({}),
  split: object({
    train: doc(num(0, 1), 'fraction of samples in the training split; train + val + test = 1').default(0.8),
    val: doc(num(0, 1), 'fraction in the validation split').default(0.1),
    test: doc(num(0, 1), 'fraction in the test split').default(0.1),
  }, 'an object { train, val, test } of fractions summing to 1').prefault({}),
  samplesPerShard: doc(num(1, 100000, { integer: true }), 'samples per HDF5 shard file').default(64),
  compression: compressionSchema.prefault({}),
};
export const fileOptionsSchema = object(fileOptionsShape);

export type DatasetFileOptions = z.output<typeof fileOptionsSchema>;
export type StoreOptions = DatasetFileOptions['store'];
export type SplitFractions = DatasetFileOptions['split'];
export type CompressionOptions = DatasetFileOptions['compression'];

export function defaultFileOptions(): DatasetFileOptions {
  return fileOptionsSchema.parse({});
}

/** The rules between file-option fields, after the schema: something is stored; the split sums to 1. */
export function checkFileOptions(o: DatasetFileOptions, field = 'dataset'): DatasetFileOptions {
  const f = (k: string) => (field ? `${field}.${k}` : k);
  const { store, split } = o;
  if (!store.clean && !store.noisy && !store.frames && !store.phantom) throw new ConfigError(f('store'), 'stores nothing; set at least one of phantom, clean, noisy, frames');
  const s = split.train + split.val + split.test;
  if (Math.abs(s - 1) > 1e-9) throw new ConfigError(f('split'), `train + val + test must be 1, got ${split.train} + ${split.val} + ${split.test} = ${s}`);
  return o;
}

/** Validates the file options of `raw` (partial: merged over defaults). `raw` may hold other keys (a whole dataset config). */
export function validateFileOptions(raw: Record<string, unknown>, field = 'dataset'): DatasetFileOptions {
  const picked = Object.fromEntries(Object.keys(fileOptionsShape).filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]));
  return checkFileOptions(parseConfig(fileOptionsSchema, picked, field), field);
}

/** One line per file-option field: meaning, range, default (from the schema). */
export const FILE_OPTION_DOCS: Record<string, string> = fieldDocs(fileOptionsSchema, '', defaultFileOptions());
