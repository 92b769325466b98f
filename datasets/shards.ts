/**
 * Shard arithmetic and split assignment. Files are fixed by (count, samplesPerShard): file j holds
 * samples [j*S, min((j+1)*S, count)). A job `--shard i/k` makes the contiguous run of files
 * [floor(i*F/k), floor((i+1)*F/k)), so k jobs together make exactly the files one process makes,
 * and sample i depends only on (seed, i).
 */
import { stream, type Seed } from '../core/random.ts';
import { ConfigError } from '../core/validate.ts';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface ShardFile {
  /** File index j (0-based, over the whole dataset). */
  index: number;
  /** File name inside the dataset directory. */
  file: string;
  /** First global sample index. */
  first: number;
  /** Number of samples. */
  count: number;
}

/** Number of shard files for `count` samples at `samplesPerShard` each. */
export function shardFileCount(count: number, samplesPerShard: number): number {
  return Math.ceil(count / samplesPerShard);
}

/** `shard-00003.h5`: zero-padded to at least 5 digits so names sort in sample order. */
export function shardFileName(j: number, fileCount: number): string {
  return `shard-${String(j).padStart(Math.max(5, String(Math.max(0, fileCount - 1)).length), '0')}.h5`;
}

/** Every shard file of a dataset. */
export function shardFiles(count: number, samplesPerShard: number): ShardFile[] {
  const F = shardFileCount(count, samplesPerShard);
  return Array.from({ length: F }, (_, j) => ({
    index: j,
    file: shardFileName(j, F),
    first: j * samplesPerShard,
    count: Math.min(samplesPerShard, count - j * samplesPerShard),
  }));
}

/** The files job i of k makes: a contiguous run, sizes differing by at most one file. */
export function jobFiles(files: ShardFile[], job: [number, number]): ShardFile[] {
  const [i, k] = job;
  const F = files.length;
  return files.slice(Math.floor((i * F) / k), Math.floor(((i + 1) * F) / k));
}

/** Parses `--shard i/k` (0 <= i < k). */
export function parseShardSpec(spec: string | [number, number] | undefined, field = 'shard'): [number, number] {
  if (spec === undefined) return [0, 1];
  let i: number, k: number;
  if (Array.isArray(spec)) [i, k] = spec;
  else {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(spec));
    if (!m) throw new ConfigError(field, `must look like i/k (job i of k, 0-based), got ${JSON.stringify(spec)}`);
    i = Number(m[1]);
    k = Number(m[2]);
  }
  if (!Number.isInteger(k) || k < 1) throw new ConfigError(field, `job count k must be an integer >= 1, got ${k}`);
  if (!Number.isInteger(i) || i < 0 || i >= k) throw new ConfigError(field, `job index i must be in [0, ${k - 1}], got ${i}`);
  return [i, k];
}

/**
 * The split of sample `index`: u ~ U[0,1) from stream(seed, index, 'split'); train if
 * u < f_train, val if u < f_train + f_val, else test. Depends only on (seed, index).
 */
export function assignSplit(seed: Seed, index: number, fractions: { train: number; val: number; test: number }): Split {
  const u = stream(seed, index, 'split').uniform();
  if (u < fractions.train) return 'train';
  if (u < fractions.train + fractions.val) return 'val';
  return 'test';
}
