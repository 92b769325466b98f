/**
 * Worker thread of `generateDataset`: loads the sample source once, then writes whole shard files
 * on request (so each worker runs its own gzip), reporting each sample.
 */
import { parentPort } from 'node:worker_threads';
import { loadSource, type SampleSource } from './source.ts';
import { writeShard, type ShardJob } from './write-shard.ts';

let source: SampleSource | null = null;
let base: Omit<ShardJob, 'file'> | null = null;

parentPort!.on('message', async (msg: { type: 'init'; sourceUrl: string; rawConfig: unknown; job: Omit<ShardJob, 'file'> } | { type: 'shard'; file: ShardJob['file'] } | { type: 'close' }) => {
  try {
    if (msg.type === 'init') {
      const mod = await loadSource(msg.sourceUrl);
      const cfg = mod.validateConfig(msg.rawConfig);
      base = { ...msg.job, config: cfg };
      source = await mod.createSource(cfg, msg.job.seed);
      parentPort!.postMessage({ type: 'ready' });
    } else if (msg.type === 'shard') {
      const record = await writeShard({ ...base!, file: msg.file }, source!, () => parentPort!.postMessage({ type: 'sample' }));
      parentPort!.postMessage({ type: 'done', record });
    } else if (msg.type === 'close') {
      await source?.close();
      parentPort!.postMessage({ type: 'closed' });
    }
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ type: 'error', name: err.name, field: (err as { field?: string }).field, message: err.message, stack: err.stack });
  }
});
