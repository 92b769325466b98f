/**
 * Reading datasets for training and evaluation: a dataset directory (manifest.json + shards) or
 * one shard file, through one API. Samples are read by hyperslab (one sample, one projection or
 * one patch at a time); no file is ever loaded whole.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RandomStream, stream, type Seed } from '../core/random.ts';
import { ShardReader, type SampleField, type ShardSampleMeta } from './formats/hdf5/emd.ts';
import { Hdf5FileError, readingHdf5, readingHdf5Async } from './h5-file.ts';
import { readManifest, type Manifest } from './manifest.ts';
import type { Split } from './shards.ts';
import { ConfigError } from '../core/validate.ts';

export interface SampleData {
  index: number;
  split: string;
  params: Record<string, unknown>;
  /** Dose per projection, e/A^2. */
  dosePerProjection: number;
  doseTotal: number;
  /** [channel, angle, row, col] expected counts. */
  clean?: Float32Array;
  /** [channel, angle, row, col] Poisson counts. */
  noisy?: Uint32Array;
  /** [element, z, y, x] fractions. */
  phantom?: Float32Array;
  /** [channel, angle, frame, row, col] counts. */
  frames?: Uint32Array;
}

export interface PatchOptions {
  /** Number of patches. */
  count: number;
  /** Patch edge in pixels (square patches of one projection). */
  size: number;
  split?: Split;
  /** Channel indices to include (default all). */
  channels?: number[];
  /** Which arrays: default ['noisy', 'clean'] (those the dataset stores). */
  fields?: ('noisy' | 'clean')[];
  /** Random stream: either a stream, or (seed, step) from which stream(seed, step, 'patches') is made. */
  rng?: RandomStream;
  seed?: Seed;
  step?: number;
}

export interface PatchBatch {
  /** [count, channels, size, size]. */
  shape: [number, number, number, number];
  noisy?: Float32Array;
  clean?: Float32Array;
  /** Where each patch came from. */
  origins: { index: number; angle: number; row: number; col: number }[];
  /** Dose per projection of each patch's sample. */
  dose: Float64Array;
}

export interface DatasetReader {
  readonly path: string;
  /** Samples readable (finished shards only). */
  readonly count: number;
  readonly channels: string[];
  readonly elements: { symbol: string; Z: number }[];
  readonly angles: Float64Array;
  readonly seed: Seed;
  readonly config: unknown;
  /** Array shapes per sample. */
  readonly shape: { size: number; nCols: number; nFrames: number; pixelSizeNm: number; phantom: number[]; tilt: number[]; frames?: number[] };
  /** Which arrays are stored. */
  readonly stored: Record<SampleField, boolean>;
  /** Global sample indices, optionally only one split, ascending. */
  indices(split?: Split): number[];
  meta(index: number): ShardSampleMeta;
  readSample(index: number, what?: SampleField[]): Promise<SampleData>;
  /** One projection [row, col] of (sample, channel, angle) as float32. */
  readProjection(index: number, field: 'clean' | 'noisy', channel: number, angle: number): Promise<Float32Array>;
  randomPatches(opts: PatchOptions): Promise<PatchBatch>;
  close(): Promise<void>;
}

interface Part {
  path: string;
  first: number;
  count: number;
  reader: ShardReader | null;
  meta: ShardSampleMeta[];
}

const MAX_OPEN = 8;

class Reader implements DatasetReader {
  private readonly byIndex = new Map<number, { part: Part; local: number }>();
  private readonly open: Part[] = [];
  readonly count: number;

  constructor(
    readonly path: string,
    private readonly parts: Part[],
    readonly channels: string[],
    readonly elements: { symbol: string; Z: number }[],
    readonly angles: Float64Array,
    readonly seed: Seed,
    readonly config: unknown,
    readonly shape: DatasetReader['shape'],
    readonly stored: Record<SampleField, boolean>,
  ) {
    for (const p of parts) p.meta.forEach((m, k) => this.byIndex.set(m.index, { part: p, local: k }));
    this.count = this.byIndex.size;
  }

  private async shard(p: Part): Promise<ShardReader> {
    if (p.reader) return p.reader;
    if (this.open.length >= MAX_OPEN) {
      const old = this.open.shift()!;
      old.reader?.close();
      old.reader = null;
    }
    p.reader = await readingHdf5Async(p.path, () => ShardReader.open(p.path));
    this.open.push(p);
    return p.reader;
  }

  private locate(index: number): { part: Part; local: number } {
    const e = this.byIndex.get(index);
    if (!e) throw new RangeError(`sample ${index} is not in ${this.path} (${this.count} samples readable)`);
    return e;
  }

  indices(split?: Split): number[] {
    const out: number[] = [];
    for (const p of this.parts) for (const m of p.meta) if (!split || m.split === split) out.push(m.index);
    return out.sort((a, b) => a - b);
  }

  meta(index: number): ShardSampleMeta {
    const { part, local } = this.locate(index);
    return part.meta[local];
  }

  async readSample(index: number, what: SampleField[] = ['clean', 'noisy']): Promise<SampleData> {
    const { part, local } = this.locate(index);
    const r = await this.shard(part);
    const m = part.meta[local];
    const out: SampleData = { index, split: m.split, params: m.params, dosePerProjection: m.dose, doseTotal: m.doseTotal };
    for (const f of what) {
      const a = readingHdf5(part.path, () => r.read(local, f));
      if (f === 'clean' || f === 'phantom') out[f] = a instanceof Float32Array ? a : Float32Array.from(a);
      else out[f] = a instanceof Uint32Array ? a : Uint32Array.from(a);
    }
    return out;
  }

  async readProjection(index: number, field: 'clean' | 'noisy', channel: number, angle: number): Promise<Float32Array> {
    const { part, local } = this.locate(index);
    const r = await this.shard(part);
    const a = readingHdf5(part.path, () => r.readProjection(local, field, channel, angle));
    return a instanceof Float32Array ? a : Float32Array.from(a);
  }

  async randomPatches(opts: PatchOptions): Promise<PatchBatch> {
    const { size, count } = opts;
    const N = this.shape.size, U = this.shape.nCols, A = this.angles.length;
    if (!(Number.isInteger(size) && size >= 1 && size <= Math.min(N, U))) throw new RangeError(`patch size must be an integer in [1, ${Math.min(N, U)}], got ${size}`);
    const channels = opts.channels ?? this.channels.map((_, c) => c);
    for (const c of channels) if (!(c >= 0 && c < this.channels.length)) throw new RangeError(`channel ${c} out of range [0, ${this.channels.length - 1}]`);
    const fields = (opts.fields ?? (['noisy', 'clean'] as const).filter((f) => this.stored[f])) as ('noisy' | 'clean')[];
    for (const f of fields) if (!this.stored[f]) throw new ConfigError(this.path, `does not store '${f}'`);
    const pool = this.indices(opts.split);
    if (pool.length === 0) throw new ConfigError(this.path, `no samples in split ${opts.split ?? '(any)'}`);
    const rng = opts.rng ?? stream(opts.seed ?? 0, opts.step ?? 0, 'patches');
    const C = channels.length, P = size * size;
    const batch: PatchBatch = { shape: [count, C, size, size], origins: [], dose: new Float64Array(count) };
    for (const f of fields) batch[f] = new Float32Array(count * C * P);
    for (let b = 0; b < count; b++) {
      const index = pool[rng.int(pool.length)];
      const angle = rng.int(A);
      const row = rng.int(N - size + 1);
      const col = rng.int(U - size + 1);
      batch.origins.push({ index, angle, row, col });
      const { part, local } = this.locate(index);
      const r = await this.shard(part);
      batch.dose[b] = part.meta[local].dose;
      for (const f of fields) {
        const dst = batch[f]!;
        for (let k = 0; k < C; k++) dst.set(readingHdf5(part.path, () => r.readProjection(local, f, channels[k], angle, [row, row + size], [col, col + size])), (b * C + k) * P);
      }
    }
    return batch;
  }

  async close(): Promise<void> {
    for (const p of this.open) p.reader?.close();
    for (const p of this.parts) p.reader = null;
    this.open.length = 0;
  }
}

/**
 * Opens a dataset: a directory holding manifest.json (finished shards only; unfinished ones are
 * left out), or a single shard .h5 file.
 */
export async function openDataset(path: string): Promise<DatasetReader> {
  if (!existsSync(path)) throw new ConfigError(path, `no such file or directory`);
  let files: { path: string; first: number; count: number; bytes?: number | null }[];
  let manifest: Manifest | null = null;
  if (statSync(path).isDirectory()) {
    manifest = readManifest(path);
    files = manifest.shards.filter((s) => s.sha256).map((s) => ({ path: join(path, s.file), first: s.first, count: s.count, bytes: s.bytes }));
    if (files.length === 0) throw new ConfigError(path, `no finished shards yet (see manifest.json)`);
  } else files = [{ path, first: -1, count: -1 }];
  const parts: Part[] = [];
  let head: ShardReader | null = null;
  for (const f of files) {
    // a finished shard whose size is not the recorded one is damaged (truncated or overwritten): said before HDF5 reads it
    const size = statSync(f.path).size;
    if (f.bytes != null && size !== f.bytes) throw new Hdf5FileError(f.path, `${size} bytes, the manifest records ${f.bytes} (truncated or damaged; \`nanodose generate --resume\` with the dataset's settings remakes it)`);
    const r = await readingHdf5Async(f.path, () => ShardReader.open(f.path));
    parts.push({ path: f.path, first: r.firstSample, count: r.count, reader: null, meta: r.samples });
    if (!head) head = r;
    else r.close();
  }
  const h = head!;
  const E = h.elements.length, C = h.channels.length, A = h.angles.length, N = h.size;
  const shape: DatasetReader['shape'] = {
    size: N, nCols: h.nCols, nFrames: h.nFrames, pixelSizeNm: h.pixelSizeNm,
    phantom: [E, N, N, N], tilt: [C, A, N, h.nCols],
    ...(h.has.frames ? { frames: [C, A, h.nFrames, N, h.nCols] } : {}),
  };
  const cfg = manifest ? manifest.config : JSON.parse(String(h.attrs.config));
  const seed = manifest ? manifest.seed : (h.attrs.seed as Seed);
  const stored = { ...h.has };
  h.close();
  return new Reader(path, parts, h.channels, h.elements, h.angles, seed, cfg, shape, stored);
}
