/**
 * Task of `generateDataset`'s shard queue (a piscina worker, core/pool.ts taskQueue): writes one
 * whole shard file (so each worker runs its own gzip), reporting each sample on the task's port.
 * The sample source is loaded once per worker and kept for its later shards.
 */
import type { MessagePort } from 'node:worker_threads';
import { errorReply, type WorkerErrorReply } from '../core/pool.ts';
import type { ShardRecord } from './manifest.ts';
import { loadSource, type SampleSource } from './source.ts';
import { writeShard, type ShardJob } from './write-shard.ts';

export interface ShardTask {
  sourceUrl: string;
  /** The config as the user gave it (each worker validates it again: the source's own types). */
  rawConfig: unknown;
  job: Omit<ShardJob, 'file'>;
  file: ShardJob['file'];
  /** Gets one message per sample written. */
  progress: MessagePort;
}

/** The shard's record, or the error as the parent rebuilds it (core/pool.ts workerError). */
export type ShardTaskResult = { record: ShardRecord } | { error: WorkerErrorReply };

let cached: { key: string; source: SampleSource; base: Omit<ShardJob, 'file'> } | null = null;

export default async function writeShardTask(t: ShardTask): Promise<ShardTaskResult> {
  try {
    const key = JSON.stringify([t.sourceUrl, t.rawConfig, t.job]);
    if (cached?.key !== key) {
      await cached?.source.close();
      cached = null;
      const mod = await loadSource(t.sourceUrl);
      const cfg = mod.validateConfig(t.rawConfig);
      cached = { key, source: await mod.createSource(cfg, t.job.seed), base: { ...t.job, config: cfg } };
    }
    const record = await writeShard({ ...cached.base, file: t.file }, cached.source, () => t.progress.postMessage('sample'));
    return { record };
  } catch (e) {
    return { error: errorReply(e) };
  } finally {
    t.progress.close();
  }
}
