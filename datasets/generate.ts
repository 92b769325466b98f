/**
 * `generateDataset`: a sharded, resumable dataset directory (manifest.json + one HDF5 file per
 * shard; layout in formats/hdf5/emd.ts). Sample i depends only on (seed, i), so any split into jobs
 * (`shard: [i, k]`) or worker threads gives the same samples. Each shard file is written under a
 * temporary name and renamed when complete; its sha256 goes into a done record and the manifest.
 * `resume` keeps shards whose file matches the recorded sha256 and redoes the others.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { checkWritable } from '../core/atomic.ts';
import { taskQueue, workerError } from '../core/pool.ts';
import { progress } from '../core/progress.ts';
import type { Seed } from '../core/random.ts';
import { resolveThreads } from '../core/threads.ts';
import { ConfigError, checkNumber } from '../core/validate.ts';
import { GENERATOR, H5WASM_URL } from './formats/hdf5/emd.ts';
import { MANIFEST, MANIFEST_FORMAT, readDoneRecord, readManifest, sha256File, writeManifest, type Manifest, type ShardRecord } from './manifest.ts';
import type { DatasetFileOptions } from './options.ts';
import { jobFiles, parseShardSpec, shardFiles, type ShardFile } from './shards.ts';
import { DEFAULT_SOURCE, loadSource } from './source.ts';
import { checkFramesStored, writeShard, type ShardJob } from './write-shard.ts';
import type { ShardTask, ShardTaskResult } from './generate-worker.ts';

export interface GenerateOptions {
  /** Dataset config, partial (merged over the defaults) or full. */
  config?: unknown;
  /** Samples in the whole dataset. */
  count: number;
  /** Output directory. */
  out: string;
  seed?: Seed;
  /** Job i of k (0-based): make only that contiguous part of the shard files. */
  shard?: [number, number] | string;
  /** Worker threads, each writing its own shard files (default core/threads.ts: --threads, NANODOSE_THREADS or the cores). */
  workers?: number;
  /** Keep finished shards (verified by sha256) and redo the rest. */
  resume?: boolean;
  /** Delete an existing dataset in `out` first. */
  overwrite?: boolean;
  quiet?: boolean;
  /** Sample source module URL (default: the simulator, datasets/simulated.ts). */
  source?: string;
}

export function generatorVersion(): string {
  try {
    return String(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  } catch {
    return 'unknown';
  }
}

/** Our files in a dataset directory (the only ones --overwrite removes). */
function ownFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f === MANIFEST || /^shard-\d+\.h5(\.done\.json)?$/.test(f) || /^\.tmp-\d+-(shard-\d+\.h5(\.done\.json)?|manifest\.json)$/.test(f));
}

function stableJson(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
}

export async function generateDataset(opts: GenerateOptions): Promise<Manifest> {
  const count = checkNumber('count', opts.count, 1, 1e9, { integer: true });
  const workers = resolveThreads(opts.workers, 'workers');
  const job = parseShardSpec(opts.shard);
  const seed = opts.seed ?? 0;
  if (typeof seed === 'number') checkNumber('seed', seed, -(2 ** 53), 2 ** 53, { integer: true });
  if (opts.resume && opts.overwrite) throw new ConfigError('overwrite', 'cannot be combined with resume');
  const sourceUrl = opts.source ?? DEFAULT_SOURCE;
  const mod = await loadSource(sourceUrl);
  const config = mod.validateConfig(opts.config ?? {}) as DatasetFileOptions;
  checkFramesStored(config);
  const dir = opts.out;
  checkWritable(dir, 'out');
  const version = generatorVersion();

  // The output directory: refused when it holds anything, unless resuming or overwriting.
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length > 0) {
      if (opts.overwrite) {
        for (const f of ownFiles(dir)) rmSync(join(dir, f), { force: true });
        const left = readdirSync(dir);
        if (left.length) throw new ConfigError('out', `${dir} holds files that are not part of a nanodose dataset (${left.slice(0, 3).join(', ')}); --overwrite only removes dataset files`);
      } else if (opts.resume) {
        if (existsSync(join(dir, MANIFEST))) {
          const m = readManifest(dir);
          const mismatch = [
            stableJson(m.config) !== stableJson(config) ? 'config' : '',
            String(m.seed) !== String(seed) ? `seed (${m.seed} there, ${seed} here)` : '',
            m.count !== count ? `count (${m.count} there, ${count} here)` : '',
          ].filter(Boolean);
          if (mismatch.length) throw new ConfigError('resume', `${dir} holds a dataset with a different ${mismatch.join(', ')}; resume with the same settings or use --overwrite`);
        }
      } else {
        throw new ConfigError('out', `${dir} already exists and is not empty; pass --resume to finish it or --overwrite to replace it`);
      }
    }
  }
  mkdirSync(dir, { recursive: true });

  const files = shardFiles(count, config.samplesPerShard);
  const mine = jobFiles(files, job);
  // A source in this thread gives the layout for the manifest (and does the work when workers = 1).
  const source = await mod.createSource(config, seed);
  const base: Omit<Manifest, 'shards' | 'splits' | 'finishedShards'> = {
    format: MANIFEST_FORMAT,
    formatVersion: 1,
    generator: GENERATOR,
    generatorVersion: version,
    seed,
    config,
    count,
    samplesPerShard: config.samplesPerShard,
    channels: source.layout.channels,
    elements: source.layout.elements,
    angles: Array.from(source.layout.angles),
  };

  // Which of my shards are finished (file present and its sha256 as recorded)?
  const todo: ShardFile[] = [];
  for (const f of mine) {
    const rec = readDoneRecord(dir, f.file);
    const p = join(dir, f.file);
    let ok = false;
    if (opts.resume && rec?.sha256 && existsSync(p)) ok = (await sha256File(p)) === rec.sha256;
    if (!ok) {
      rmSync(p, { force: true });
      rmSync(join(dir, `${f.file}.done.json`), { force: true });
      todo.push(f);
    }
  }
  // Temporary files of shards this job owns are leftovers of a killed run.
  const mineNames = new Set(mine.map((f) => f.file));
  for (const e of readdirSync(dir)) {
    const m = /^\.tmp-\d+-(shard-\d+\.h5)/.exec(e);
    if (m && mineNames.has(m[1])) rmSync(join(dir, e), { force: true });
  }
  writeManifest(dir, base, files);

  const total = todo.reduce((a, f) => a + f.count, 0);
  const bar = progress(`generate ${dir}`, total, { unit: 'samples', quiet: opts.quiet });
  const jobBase: Omit<ShardJob, 'file'> = { dir, fileCount: files.length, seed, config, generatorVersion: version };
  const finished = (r: ShardRecord) => {
    void r;
    writeManifest(dir, base, files);
  };
  try {
    const nw = Math.min(workers, todo.length);
    if (nw <= 1) {
      for (const f of todo) finished(await writeShard({ ...jobBase, file: f }, source, () => bar.increment(1)));
    } else {
      await source.close();
      await runPool(nw, todo, sourceUrl, opts.config ?? {}, jobBase, () => bar.increment(1), finished);
    }
  } finally {
    bar.stop();
    await source.close();
  }
  return writeManifest(dir, base, files);
}

/**
 * The shard queue: `n` piscina workers (core/pool.ts taskQueue: datasets/generate-worker.ts, h5wasm
 * loaded before tsx at the URL datasets/formats/hdf5/emd.ts loads it from, so it is the same module), each writing whole shard files with its own sample source and gzip. A free
 * worker takes the next shard; after the first failure no new shard starts, the ones under way are
 * finished (each is written under a temporary name, so nothing is half-written), and the failure is
 * thrown (a ConfigError keeps its field: exit 2).
 */
async function runPool(
  n: number,
  todo: ShardFile[],
  sourceUrl: string,
  rawConfig: unknown,
  job: Omit<ShardJob, 'file'>,
  onSample: () => void,
  onDone: (r: ShardRecord) => void,
): Promise<void> {
  const queue = [...todo];
  const pool = new Piscina(taskQueue(new URL('./generate-worker.ts', import.meta.url), n, [H5WASM_URL]));
  let failure: Error | null = null;
  const one = async () => {
    for (let f = queue.shift(); f && !failure; f = queue.shift()) {
      const { port1, port2 } = new MessageChannel();
      let samples = 0;
      port1.on('message', () => {
        samples++;
        onSample();
      });
      try {
        const task: ShardTask = { sourceUrl, rawConfig, job, file: f, progress: port2 };
        const r = (await pool.run(task, { transferList: [port2] })) as ShardTaskResult;
        if ('error' in r) failure ??= workerError(r.error, 'generate worker');
        else {
          // The result and the sample messages travel on different ports: count what has not arrived.
          for (; samples < f.count; samples++) onSample();
          onDone(r.record);
        }
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
      } finally {
        port1.close();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: n }, one));
  } finally {
    await pool.destroy();
  }
  if (failure) throw failure;
}
