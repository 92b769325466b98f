/**
 * Writes one shard file: samples [first, first+count) from a source into a temporary file, then
 * sha256 and rename, then the done record. Used in-process and inside worker threads.
 */
import { renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { temporaryPath, writeFileAtomic } from '../generators/common/atomic.ts';
import type { Seed } from '../generators/common/random.ts';
import { ConfigError } from '../generators/common/validate.ts';
import { ShardWriter } from './emd.ts';
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
  if (config.store.frames && !(source.layout.nFrames > 1)) {
    throw new ConfigError('store.frames', `is true but the acquisition keeps no frames (frames = ${source.layout.nFrames}); set the acquisition's frame count above 1 or store.frames false`);
  }
  rmSync(tmp, { force: true });
  const w = await ShardWriter.create(
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
  );
  const splits: Record<string, number> = { train: 0, val: 0, test: 0 };
  try {
    for (let i = file.first; i < file.first + file.count; i++) {
      const rec = await source.sample(i, { phantom: config.store.phantom, frames: config.store.frames });
      const split = assignSplit(job.seed, i, config.split);
      splits[split]++;
      w.append({ ...rec, split });
      onSample();
    }
    w.close();
  } catch (e) {
    w.abort();
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
