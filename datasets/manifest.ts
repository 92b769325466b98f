/**
 * `manifest.json` of a dataset directory: config, seed, counts, file list and the sha256 of each
 * finished shard. A shard is finished when its file was renamed into place and its record
 * (`<file>.done.json`, written atomically after the rename) holds its sha256; the manifest is
 * rebuilt from those records after each shard, so several processes (a job array, one per
 * `--shard i/k`) can fill one directory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import type { Seed } from '../core/random.ts';
import type { ShardFile } from './shards.ts';
import { ConfigError } from '../core/validate.ts';

export const MANIFEST = 'manifest.json';
export const MANIFEST_FORMAT = 'nanodose-dataset';

export interface ShardRecord extends ShardFile {
  /** Hex sha256 of the finished file; null while unfinished. */
  sha256: string | null;
  bytes: number | null;
  /** Samples per split in this shard (when finished). */
  splits?: Record<string, number>;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: 1;
  generator: string;
  generatorVersion: string;
  seed: Seed;
  /** The full validated dataset config. */
  config: unknown;
  count: number;
  samplesPerShard: number;
  channels: string[];
  elements: { symbol: string; Z: number }[];
  angles: number[];
  /** Samples per split over the finished shards. */
  splits: Record<string, number>;
  finishedShards: number;
  shards: ShardRecord[];
}

/** Hex sha256 of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export function doneRecordPath(dir: string, file: string): string {
  return join(dir, `${file}.done.json`);
}

export function readDoneRecord(dir: string, file: string): ShardRecord | null {
  const p = doneRecordPath(dir, file);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as ShardRecord;
  } catch {
    return null;
  }
}

export function readManifest(dir: string): Manifest {
  const p = join(dir, MANIFEST);
  if (!existsSync(p)) throw new ConfigError(dir, `no ${MANIFEST} (not a nanodose dataset directory)`);
  const m = JSON.parse(readFileSync(p, 'utf8')) as Manifest;
  if (m.format !== MANIFEST_FORMAT) throw new ConfigError(p, `format is ${JSON.stringify(m.format)}, expected ${MANIFEST_FORMAT}`);
  return m;
}

/** Fills each shard's sha256/bytes/splits from its done record and writes the manifest atomically. */
export function writeManifest(dir: string, base: Omit<Manifest, 'shards' | 'splits' | 'finishedShards'>, files: ShardFile[]): Manifest {
  const splits: Record<string, number> = { train: 0, val: 0, test: 0 };
  let finished = 0;
  const shards: ShardRecord[] = files.map((f) => {
    const d = readDoneRecord(dir, f.file);
    if (d && d.sha256 && existsSync(join(dir, f.file))) {
      finished++;
      for (const [k, v] of Object.entries(d.splits ?? {})) splits[k] = (splits[k] ?? 0) + v;
      return { ...f, sha256: d.sha256, bytes: d.bytes, splits: d.splits };
    }
    return { ...f, sha256: null, bytes: null };
  });
  const m: Manifest = { ...base, splits, finishedShards: finished, shards };
  writeFileAtomic(join(dir, MANIFEST), JSON.stringify(m, null, 1) + '\n');
  return m;
}

/** A finished shard whose file is not what the manifest promises. */
export interface ShardProblem {
  file: string;
  problem: string;
}

/**
 * Checks the finished shards against the manifest: each file exists with the recorded size, and
 * (with `sha256`) the recorded hash. Size is a stat per file; the hash reads every byte.
 */
export async function verifyShards(dir: string, m: Manifest, opts: { sha256?: boolean } = {}): Promise<ShardProblem[]> {
  const out: ShardProblem[] = [];
  for (const s of m.shards) {
    if (!s.sha256) continue;
    const p = join(dir, s.file);
    if (!existsSync(p)) {
      out.push({ file: s.file, problem: 'missing' });
      continue;
    }
    const size = statSync(p).size;
    if (s.bytes != null && size !== s.bytes) {
      out.push({ file: s.file, problem: `${size} bytes, the manifest records ${s.bytes} (truncated or damaged)` });
      continue;
    }
    if (opts.sha256 && (await sha256File(p)) !== s.sha256) out.push({ file: s.file, problem: 'sha256 differs from the manifest (damaged)' });
  }
  return out;
}
