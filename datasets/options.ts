/**
 * The dataset-file part of the dataset config: what to store, the split, shard size and gzip level.
 * Every field, its default and its range are listed in FILE_OPTION_DOCS (printed by
 * `nanodose generate --print-config`).
 */
import { ConfigError, checkChoice, checkKnownKeys, checkNumber } from '../core/validate.ts';

export interface StoreOptions {
  /** Phantom element fractions [element, z, y, x] per sample. */
  phantom: boolean;
  /** Expected (noise-free) counts [channel, angle, row, col]. */
  clean: boolean;
  /** Poisson counts, same shape. */
  noisy: boolean;
  /** Per-frame Poisson counts [channel, angle, frame, row, col] (only when the acquisition has frames). */
  frames: boolean;
}

export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

/**
 * Filters per array (h5wasm allows one per dataset). Chosen by measurement
 * (scripts/bench/datasets.bench.ts): gzip on float32 expected counts saves under 10% at several
 * times the write time (their low mantissa bits are noise), so `clean` is stored plain by default;
 * integer counts use HDF5's built-in scale-offset filter (lossless for integers: each chunk packed
 * to the bits its range needs), smaller and faster than gzip; phantom fractions (mostly exact
 * zeros) gzip well and fast.
 */
export interface CompressionOptions {
  /** gzip level 0-9 of the phantom fractions (0 = none). */
  phantom: number;
  /** gzip level 0-9 of the expected counts (0 = none). */
  clean: number;
  /** Filter of the integer counts (noisy, frames). */
  counts: 'scaleoffset' | 'gzip' | 'none';
}

export const COUNT_FILTERS = ['scaleoffset', 'gzip', 'none'] as const;

export interface DatasetFileOptions {
  store: StoreOptions;
  split: SplitFractions;
  /** Samples per shard file. */
  samplesPerShard: number;
  compression: CompressionOptions;
}

export function defaultFileOptions(): DatasetFileOptions {
  return {
    store: { phantom: true, clean: true, noisy: true, frames: false },
    split: { train: 0.8, val: 0.1, test: 0.1 },
    samplesPerShard: 64,
    compression: { phantom: 1, clean: 0, counts: 'scaleoffset' },
  };
}

export const FILE_OPTION_DOCS: Record<string, string> = {
  'store.phantom': 'store the phantom fractions [sample, element, z, y, x] (default true)',
  'store.clean': 'store the expected counts [sample, channel, angle, row, col] (default true)',
  'store.noisy': 'store the Poisson counts, same shape, uint32 (default true)',
  'store.frames': 'store per-frame counts [sample, channel, angle, frame, row, col] (default false; needs frames > 1 in the acquisition)',
  'split.train': 'fraction of samples in the training split, [0, 1] (default 0.8); train + val + test = 1',
  'split.val': 'fraction in the validation split (default 0.1)',
  'split.test': 'fraction in the test split (default 0.1)',
  samplesPerShard: 'samples per HDF5 shard file, integer in [1, 100000] (default 64)',
  'compression.phantom': 'gzip level of the phantom fractions, integer in [0, 9], 0 = none (default 1)',
  'compression.clean': 'gzip level of the expected counts, integer in [0, 9] (default 0: float32 counts shrink < 10% at several times the write time)',
  'compression.counts': 'filter of the integer counts: scaleoffset (lossless bit packing, default), gzip (level 1) or none',
};

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Validates the file options of `raw` (partial: merged over defaults). `raw` may hold other keys (`known` lists them). */
export function validateFileOptions(raw: Record<string, unknown>, field = 'dataset'): DatasetFileOptions {
  const d = defaultFileOptions();
  const f = (k: string) => (field ? `${field}.${k}` : k);
  const store = { ...d.store };
  if (raw.store !== undefined) {
    if (!isObj(raw.store)) throw new ConfigError(f('store'), `must be an object with boolean fields phantom, clean, noisy, frames; got ${JSON.stringify(raw.store)}`);
    checkKnownKeys(f('store'), raw.store, Object.keys(store));
    for (const [k, v] of Object.entries(raw.store)) {
      if (typeof v !== 'boolean') throw new ConfigError(f(`store.${k}`), `must be true or false, got ${JSON.stringify(v)}`);
      (store as Record<string, boolean>)[k] = v;
    }
  }
  if (!store.clean && !store.noisy && !store.frames && !store.phantom) throw new ConfigError(f('store'), 'stores nothing; set at least one of phantom, clean, noisy, frames');
  const split = { ...d.split };
  if (raw.split !== undefined) {
    if (!isObj(raw.split)) throw new ConfigError(f('split'), `must be an object { train, val, test } of fractions summing to 1; got ${JSON.stringify(raw.split)}`);
    checkKnownKeys(f('split'), raw.split, ['train', 'val', 'test']);
    for (const k of ['train', 'val', 'test'] as const) if (raw.split[k] !== undefined) split[k] = checkNumber(f(`split.${k}`), raw.split[k], 0, 1);
    const s = split.train + split.val + split.test;
    if (Math.abs(s - 1) > 1e-9) throw new ConfigError(f('split'), `train + val + test must be 1, got ${split.train} + ${split.val} + ${split.test} = ${s}`);
  }
  const samplesPerShard = raw.samplesPerShard === undefined ? d.samplesPerShard : checkNumber(f('samplesPerShard'), raw.samplesPerShard, 1, 100000, { integer: true });
  const compression = { ...d.compression };
  if (raw.compression !== undefined) {
    if (!isObj(raw.compression)) throw new ConfigError(f('compression'), `must be an object { phantom: 0-9, clean: 0-9, counts: ${COUNT_FILTERS.join('|')} }; got ${JSON.stringify(raw.compression)}`);
    checkKnownKeys(f('compression'), raw.compression, ['phantom', 'clean', 'counts']);
    const c = raw.compression;
    if (c.phantom !== undefined) compression.phantom = checkNumber(f('compression.phantom'), c.phantom, 0, 9, { integer: true });
    if (c.clean !== undefined) compression.clean = checkNumber(f('compression.clean'), c.clean, 0, 9, { integer: true });
    if (c.counts !== undefined) compression.counts = checkChoice(f('compression.counts'), c.counts, COUNT_FILTERS);
  }
  return { store, split, samplesPerShard, compression };
}
