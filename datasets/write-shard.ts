/**
 * Writes one shard file: samples [first, first+count) from a source into a temporary file, then
 * sha256 and rename, then the done record. Used in-process and inside worker threads.
 */
import { renameSync, rmSync, statSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { temporaryPath, writeFileAtomic } from '../core/atomic.ts';
import type { Seed } from '../core/random.ts';
import { ConfigError } from '../core/validate.ts';
import { ShardReader, ShardWriter } from './formats/hdf5/emd.ts';
import { doneRecordPath, sha256File, type ShardRecord } from './manifest.ts';
import type { DatasetFileOptions } from './options.ts';
import { assignSplit, type ShardFile } from './shards.ts';
import type { SampleSource } from './source.ts';

export interface ShardJob {
  dir: string;
  file: ShardFile;
  fileCount: number;
  seed: Seed;
  config: DatasetFileOptions;
  generatorVersion: string;
}

export async function writeShard(job: ShardJob, source: SampleSource, onSample: () => void = () => {}): Promise<ShardRecord> {
  const { dir, file, config } = job;
  const final = join(dir, file.file);
  const tmp = temporaryPath(final);
  checkFramesStored(config);
  rmSync(tmp, { force: true });
  const w = await guardWrite(final, () => ShardWriter.create(
    tmp,
    { ...source.layout, store: config.store, compression: config.compression },
    {
      seed: job.seed,
      config,
      generatorVersion: job.generatorVersion,
      shardIndex: file.index,
      shardCount: job.fileCount,
      firstSample: file.first,
      sampleCount: file.count,
      microscope: source.microscope,
    },
  ));
  const splits: Record<string, number> = { train: 0, val: 0, test: 0 };
  try {
    for (let i = file.first; i < file.first + file.count; i++) {
      const rec = await source.sample(i, { phantom: config.store.phantom, frames: config.store.frames });
      const split = assignSplit(job.seed, i, config.split);
      splits[split]++;
      await guardWrite(final, () => w.append({ ...rec, split }));
      onSample();
    }
    // Same seed and config, same bytes: closing clears HDF5's object times (formats/hdf5/emd.ts closeHdf5).
    await guardWrite(final, () => w.close());
    // HDF5 may defer a failed write to close (metadata flush) and still report success: a shard
    // is renamed to its final name only after it reopens with every sample.
    await guardWrite(final, async () => {
      const r = await ShardReader.open(tmp);
      const n = r.count;
      r.close();
      if (n !== file.count) throw new Error(`holds ${n} of ${file.count} samples after writing`);
    });
  } catch (e) {
    try {
      w.abort();
    } catch {
      // the file is deleted below whatever state HDF5 left it in
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  const sha256 = await sha256File(tmp);
  const bytes = statSync(tmp).size;
  renameSync(tmp, final);
  const record: ShardRecord = { ...file, sha256, bytes, splits };
  writeFileAtomic(doneRecordPath(dir, file.file), JSON.stringify(record, null, 1) + '\n');
  return record;
}

/** Refused before any file is written: per-frame counts need more than one frame per tilt. */
export function checkFramesStored(config: DatasetFileOptions): void {
  const frames = (config as unknown as { simulation?: { acquisition?: { frames?: number } } }).simulation?.acquisition?.frames;
  if (config.store.frames && frames !== undefined && !(frames > 1)) {
    throw new ConfigError('store.frames', `is true but simulation.acquisition.frames = ${frames}; per-frame counts need frames of 2 or more (or set store.frames false)`);
  }
}

/** An error from writing a file: one line naming it, and the cause (disk full is told as such). */
export class WriteError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'WriteError';
  }
}

/**
 * Runs one HDF5 write step; an exception (h5wasm's throwing error handler turns HDF5's failures
 * into exceptions with the whole HDF5-DIAG stack as message) becomes one WriteError line naming the
 * file, saying "no space left" when the file system is full.
 */
export async function guardWrite<T>(path: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof WriteError) throw e;
    const msg = String((e as Error)?.message ?? e);
    let free = Infinity;
    try {
      const st = statfsSync(dirname(path));
      free = st.bavail * st.bsize;
    } catch {
      // statfs is not available everywhere; then the cause is the library's message
    }
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'ENOSPC' || free < 1 << 20) throw new WriteError(path, `${path}: cannot write: no space left on the device (${(free / 1e6).toFixed(1)} MB free); nothing was kept under the final name`);
    if (/HDF5-DIAG/.test(msg)) {
      const cause = /minor: (.*)/.exec(msg)?.[1]?.trim() ?? 'HDF5 error';
      throw new WriteError(path, `${path}: HDF5 write failed (${cause}); nothing was kept under the final name`);
    }
    throw new WriteError(path, `${path}: ${msg.split('\n')[0]}`);
  }
}
