/**
 * The shard file: HDF5 in the EMD 0.2 layout (science.md section 8; Berkeley NCEM's EMD spec,
 * read by HyperSpy, ncempy, h5py), written and read with h5wasm.
 *
 * Root attributes: version_major=0, version_minor=2, generator, generator_version, seed, config
 * (JSON), shard_index, shard_count, first_sample, sample_count. Groups /data, /microscope, /sample,
 * /user, /comments. Each data group (emd_group_type=1) holds `data` and `dim1..dimN` with string
 * attributes `name` and `units`:
 *   /data/phantom/data      float32 [sample, element, z, y, x] fractions
 *   /data/tilt_clean/data   float32 [sample, channel, angle, row, col] expected counts
 *   /data/tilt_noisy/data   uint32  same shape, Poisson counts
 *   /data/tilt_frames/data  uint32  [sample, channel, angle, frame, row, col] (when kept)
 * /samples: 1-D datasets of length sample_count: index, shape_class, composition, dose (e/A^2 per
 * projection), dose_total, split, params (JSON).
 *
 * Chunks: one volume per (sample, element), one projection per (sample, channel, angle), so a
 * reader pulls one sample or one projection without touching the rest; gzip at a chosen level
 * (h5wasm allows one filter per dataset). Samples are appended one at a time (resize +
 * write_slice), so memory stays at one sample whatever the shard size.
 */
import type { Dataset, File as H5File, Group } from 'h5wasm/node';

import type { CompressionOptions } from '../../options.ts';
import { ConfigError, InternalError } from '../../../core/validate.ts';

type H5 = typeof import('h5wasm/node').default;

export const GENERATOR = 'nanodose';

export interface ShardLayout {
  /** Element symbols and atomic numbers, in channel order. */
  elements: { symbol: string; Z: number }[];
  /** Channel names: HAADF then one per element. */
  channels: string[];
  /** Tilt angles in degrees. */
  angles: Float64Array;
  /** Volume edge N (phantom N^3, projection rows N). */
  size: number;
  /** Detector columns. */
  nCols: number;
  /** Frames per projection when frames are stored, else 0. */
  nFrames: number;
  /** Pixel (voxel) size in nm, for the coordinate dims. */
  pixelSizeNm: number;
  store: { phantom: boolean; clean: boolean; noisy: boolean; frames: boolean };
  /** Filters per array (see CompressionOptions in options.ts). */
  compression: CompressionOptions;
}

export interface ShardInfo {
  seed: number | string;
  config: unknown;
  generatorVersion: string;
  shardIndex: number;
  shardCount: number;
  firstSample: number;
  sampleCount: number;
  /** Attributes for /microscope (dose, solid angle, pixel size, frames...). */
  microscope: Record<string, number | string | number[] | string[]>;
}

/** One sample as stored. */
export interface SampleRecord {
  index: number;
  split: string;
  params: { shapeClass: string; composition: string; [k: string]: unknown };
  /** Dose per projection (e/A^2). */
  dose: number;
  doseTotal: number;
  /** Per element N^3 fractions [z, y, x], or one packed [element, z, y, x] array. */
  phantom?: Float32Array[] | Float32Array;
  clean?: Float32Array;
  noisy?: Uint32Array;
  frames?: Uint32Array;
}

import { withCheckedOpen } from '../../h5-file.ts';
import { clearObjectTimes } from '../../h5-reproducible.ts';
import { withAtomicPath } from '../../../core/atomic.ts';

let ready: Promise<H5> | null = null;
/**
 * h5wasm's URL with tsx's namespace query: under tsx (the `nanodose` command, `node --import tsx`)
 * every ES module goes through tsx's dynamic-import transform, which on h5wasm's 4 MB one-line
 * module builds a source map costing about 20 s and 600 MB of memory. tsx leaves modules of another
 * namespace to Node's own loader, so this URL loads h5wasm untransformed (about 1 s, 85 MB); without
 * tsx the query is ignored. datasets/testing/preload.mjs imports the same URL (one instance).
 */
export const H5WASM_URL = `${import.meta.resolve('h5wasm/node')}?tsx-namespace=nanodose-untransformed`;
/** Loads the h5wasm module (once, on first use: compiling it takes about a second). */
export function h5ready(): Promise<H5> {
  ready ??= (import(H5WASM_URL) as Promise<typeof import('h5wasm/node')>).then(async (m) => {
    const M = (await m.default.ready) as unknown as { activate_throwing_error_handler?: () => void };
    // HDF5 errors become JS exceptions (a failed write raises instead of printing HDF5-DIAG lines
    // and carrying on), and the library's diagnostics stay off the terminal.
    M.activate_throwing_error_handler?.();
    // an unopenable file (not HDF5, truncated, damaged) is one line naming it (h5-file.ts)
    return withCheckedOpen(m.default);
  });
  return ready;
}

/**
 * Every HDF5 file nanodose writes (dataset shards, denoise and reconstruct outputs) is created by
 * createHdf5 and closed by closeHdf5, which clears HDF5's object times (datasets/h5-reproducible.ts):
 * the same calls give the same bytes. writeHdf5File adds the temporary name and the rename.
 */
export async function createHdf5(path: string): Promise<H5File> {
  const h5 = await h5ready();
  return new h5.File(path, 'w');
}

/** Closes a file made by createHdf5; its times are cleared unless it is being abandoned (`keep: false`). */
export function closeHdf5(f: H5File, path: string, o: { keep?: boolean } = {}): void {
  f.close();
  if (o.keep !== false) clearObjectTimes(path);
}

/** Writes the HDF5 file `path` with `build`, atomically (core/atomic.ts) and reproducibly (closeHdf5). */
export async function writeHdf5File(path: string, build: (f: H5File) => void | Promise<void>): Promise<void> {
  await withAtomicPath(path, async (tmp) => {
    const f = await createHdf5(tmp);
    let built = false;
    try {
      await build(f);
      built = true;
    } finally {
      closeHdf5(f, tmp, { keep: built });
    }
  });
}

function attr(obj: { create_attribute: Group['create_attribute'] }, name: string, value: number | string | number[] | string[] | boolean, dtype?: string): void {
  if (typeof value === 'boolean') value = value ? 1 : 0;
  if (typeof value === 'number') {
    const small = Number.isInteger(value) && Math.abs(value) < 2 ** 31;
    obj.create_attribute(name, value, null, dtype ?? (small ? '<i4' : '<d'));
  } else if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'number') {
    const nums = value as number[];
    const isInt = nums.every((x) => Number.isInteger(x) && Math.abs(x) < 2 ** 31);
    obj.create_attribute(name, isInt ? Int32Array.from(nums) : Float64Array.from(nums), [nums.length], isInt ? '<i4' : '<d');
  } else if (Array.isArray(value)) {
    obj.create_attribute(name, value as string[], [value.length]);
  } else {
    obj.create_attribute(name, value);
  }
}

function dim(g: Group, k: number, values: Float64Array | Int32Array | BigInt64Array, name: string, units: string): void {
  const d = g.create_dataset({ name: `dim${k}`, data: values, shape: [values.length] });
  attr(d, 'name', name);
  attr(d, 'units', units);
}

function centredCoords(n: number, step: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (i - (n - 1) / 2) * step;
  return a;
}

type AttrValue = number | string | number[] | string[] | boolean;

/** One coordinate axis of an EMD data group: `dimK` with attributes `name` and `units`. */
export interface EmdDim {
  name: string;
  units: string;
  values: Float64Array | Int32Array;
  attrs?: Record<string, AttrValue>;
}

/** A spatial axis: centred coordinates in nm, units `[n_m]` (HyperSpy keeps them); pixel indices `[px]` when uncalibrated. */
export function spatialDim(name: string, n: number, pixelNm?: number): EmdDim {
  return pixelNm ? { name, units: '[n_m]', values: centredCoords(n, pixelNm) } : { name, units: '[px]', values: Int32Array.from({ length: n }, (_, i) => i) };
}

/** EMD 0.2 root: `version_major` 0, `version_minor` 2, then `attrs` (numbers as <i4 when integer, else <d). */
export function writeEmdRoot(f: H5File, attrs: Record<string, AttrValue> = {}): void {
  attr(f, 'version_major', 0, '<i4');
  attr(f, 'version_minor', 2, '<i4');
  for (const [k, v] of Object.entries(attrs)) attr(f, k, v);
}

/**
 * One EMD data group (`emd_group_type` 1) under `parent`: `data` (float32) of `shape` with one
 * `dimK` per axis. `data` given: written whole; absent: created empty and resized, to be filled
 * with write_slice, one chunk per `chunks` (default one 2-D image per chunk). Every writer of EMD
 * data groups (shards, denoise, reconstruct) goes through this one, so units and centring agree.
 */
export function writeEmdDataGroup(parent: Group, name: string, o: { shape: number[]; dims: EmdDim[]; data?: Float32Array; title?: string; chunks?: number[]; attrs?: Record<string, AttrValue> }): Dataset {
  if (o.dims.length !== o.shape.length || o.dims.some((d, k) => d.values.length !== o.shape[k])) {
    throw new InternalError(`EMD group ${name}: dims ${o.dims.map((d) => d.values.length).join('x')} do not match shape ${o.shape.join('x')}`);
  }
  const g = parent.create_group(name);
  attr(g, 'emd_group_type', 1, '<i4');
  if (o.title) attr(g, 'title', o.title);
  for (const [k, v] of Object.entries(o.attrs ?? {})) attr(g, k, v);
  let d: Dataset;
  if (o.data) d = g.create_dataset({ name: 'data', data: o.data, shape: o.shape, dtype: '<f4' });
  else {
    const chunks = o.chunks ?? o.shape.map((n, i) => (i < o.shape.length - 2 ? 1 : n));
    d = g.create_dataset({ name: 'data', data: new Float32Array(0), shape: [0, ...o.shape.slice(1)], maxshape: [null, ...o.shape.slice(1)], chunks, dtype: '<f' });
    d.resize(o.shape);
  }
  o.dims.forEach((x, k) => {
    dim(g, k + 1, x.values, x.name, x.units);
    for (const [an, av] of Object.entries(x.attrs ?? {})) attr(g.get(`dim${k + 1}`) as Dataset, an, av);
  });
  return d;
}

/** Appends samples to one shard file in the EMD layout. Call append() sampleCount times, then close(). */
export class ShardWriter {
  private readonly file: H5File;
  private n = 0;
  private readonly ds: Partial<Record<'phantom' | 'clean' | 'noisy' | 'frames', { d: Dataset; tail: number[] }>> = {};
  private readonly table: { index: number[]; shape_class: string[]; composition: string[]; dose: number[]; dose_total: number[]; split: string[]; params: string[] } = {
    index: [], shape_class: [], composition: [], dose: [], dose_total: [], split: [], params: [],
  };
  private closed = false;

  private constructor(
    f: H5File,
    readonly path: string,
    readonly layout: ShardLayout,
    readonly info: ShardInfo,
  ) {
    const L = layout;
    this.file = f;
    attr(f, 'version_major', 0, '<i4');
    attr(f, 'version_minor', 2, '<i4');
    attr(f, 'generator', GENERATOR);
    attr(f, 'generator_version', info.generatorVersion);
    attr(f, 'seed', typeof info.seed === 'number' ? info.seed : String(info.seed));
    attr(f, 'config', JSON.stringify(info.config));
    attr(f, 'shard_index', info.shardIndex);
    attr(f, 'shard_count', info.shardCount);
    attr(f, 'first_sample', info.firstSample);
    attr(f, 'sample_count', info.sampleCount);
    const data = f.create_group('data');
    const mic = f.create_group('microscope');
    for (const [k, v] of Object.entries(info.microscope)) attr(mic, k, v);
    const smp = f.create_group('sample');
    attr(smp, 'elements', L.elements.map((e) => e.symbol));
    attr(smp, 'atomic_numbers', L.elements.map((e) => e.Z));
    attr(smp, 'channel_names', L.channels);
    attr(smp, 'size', L.size);
    f.create_group('user');
    const com = f.create_group('comments');
    attr(com, 'created_by', `${GENERATOR} ${info.generatorVersion}`);
    const N = L.size, E = L.elements.length, C = L.channels.length, A = L.angles.length, R = L.size, U = L.nCols;
    const gzip = (level: number) => (level > 0 ? { compression: 'gzip' as const, compression_opts: level } : {});
    // HDF5 scale-offset filter (id 6), integer mode (2) with minimum bits computed per chunk (0): lossless.
    const counts = L.compression.counts === 'scaleoffset' ? { compression: 6, compression_opts: [2, 0] } : L.compression.counts === 'gzip' ? gzip(1) : {};
    const filters = { phantom: gzip(L.compression.phantom), clean: gzip(L.compression.clean), noisy: counts, frames: counts };
    const sampleDim = (g: Group) => dim(g, 1, Int32Array.from({ length: info.sampleCount }, (_, i) => info.firstSample + i), 'sample', '[]');
    const make = (key: 'phantom' | 'clean' | 'noisy' | 'frames', group: string, tail: number[], chunkTail: number[], dtype: '<f' | '<I', title: string) => {
      const g = data.create_group(group);
      attr(g, 'emd_group_type', 1, '<i4');
      attr(g, 'title', title);
      const empty = dtype === '<f' ? new Float32Array(0) : new Uint32Array(0);
      const d = g.create_dataset({ name: 'data', data: empty, shape: [0, ...tail], maxshape: [null, ...tail], chunks: [1, ...chunkTail], dtype, ...filters[key] });
      this.ds[key] = { d, tail };
      sampleDim(g);
      return g;
    };
    const px = L.pixelSizeNm;
    if (L.store.phantom) {
      const g = make('phantom', 'phantom', [E, N, N, N], [1, N, N, N], '<f', 'phantom element fractions');
      dim(g, 2, Int32Array.from(L.elements.map((e) => e.Z)), 'element', '[Z]');
      attr(g.get('dim2') as Dataset, 'symbols', L.elements.map((e) => e.symbol));
      dim(g, 3, centredCoords(N, px), 'z', '[n_m]');
      dim(g, 4, centredCoords(N, px), 'y', '[n_m]');
      dim(g, 5, centredCoords(N, px), 'x', '[n_m]');
    }
    const tiltDims = (g: Group, frames: boolean) => {
      dim(g, 2, Int32Array.from({ length: C }, (_, i) => i), 'channel', '[]');
      attr(g.get('dim2') as Dataset, 'channel_names', L.channels);
      dim(g, 3, Float64Array.from(L.angles), 'tilt angle', '[deg]');
      let k = 4;
      if (frames) dim(g, k++, Int32Array.from({ length: L.nFrames }, (_, i) => i), 'frame', '[]');
      dim(g, k++, centredCoords(R, px), 'row (z)', '[n_m]');
      dim(g, k++, centredCoords(U, px), 'column (u)', '[n_m]');
      attr(g, 'channel_names', L.channels);
    };
    if (L.store.clean) tiltDims(make('clean', 'tilt_clean', [C, A, R, U], [1, 1, R, U], '<f', 'expected counts'), false);
    if (L.store.noisy) tiltDims(make('noisy', 'tilt_noisy', [C, A, R, U], [1, 1, R, U], '<I', 'Poisson counts'), false);
    if (L.store.frames) {
      if (!(L.nFrames > 0)) throw new ConfigError('store.frames', 'is set but the acquisition has no frames');
      tiltDims(make('frames', 'tilt_frames', [C, A, L.nFrames, R, U], [1, 1, 1, R, U], '<I', 'Poisson counts per frame'), true);
    }
  }

  /** Creates (truncates) the file at `path`. */
  static async create(path: string, layout: ShardLayout, info: ShardInfo): Promise<ShardWriter> {
    return new ShardWriter(await createHdf5(path), path, layout, info);
  }

  get written(): number {
    return this.n;
  }

  /** Appends one sample (the next index); arrays are checked against the layout's shapes. */
  append(rec: SampleRecord): void {
    if (this.closed) throw new InternalError('ShardWriter: append after close');
    if (this.n >= this.info.sampleCount) throw new InternalError(`ShardWriter: shard holds ${this.info.sampleCount} samples, got one more`);
    if (rec.index !== this.info.firstSample + this.n) throw new InternalError(`ShardWriter: expected sample ${this.info.firstSample + this.n}, got ${rec.index}`);
    const i = this.n;
    const put = (key: 'phantom' | 'clean' | 'noisy' | 'frames', arr: Float32Array | Uint32Array | undefined) => {
      const e = this.ds[key];
      if (!e) return;
      if (!arr) throw new InternalError(`ShardWriter: sample ${rec.index} lacks '${key}' which this shard stores`);
      const len = e.tail.reduce((a, b) => a * b, 1);
      if (arr.length !== len) throw new InternalError(`ShardWriter: '${key}' of sample ${rec.index} has ${arr.length} values, expected ${len} (${e.tail.join('x')})`);
      e.d.resize([i + 1, ...e.tail]);
      // Write in slices along the second axis so no single heap copy exceeds one element/channel.
      const per = len / e.tail[0];
      for (let c = 0; c < e.tail[0]; c++) {
        e.d.write_slice([[i, i + 1], [c, c + 1], ...e.tail.slice(1).map(() => [] as [])], arr.subarray(c * per, (c + 1) * per));
      }
    };
    if (this.ds.phantom) {
      const p = rec.phantom;
      let packed: Float32Array | undefined;
      if (Array.isArray(p)) {
        const per = this.layout.size ** 3;
        packed = new Float32Array(per * p.length);
        p.forEach((a, k) => packed!.set(a, k * per));
      } else packed = p;
      put('phantom', packed);
    }
    put('clean', rec.clean);
    put('noisy', rec.noisy);
    put('frames', rec.frames);
    const t = this.table;
    t.index.push(rec.index);
    t.shape_class.push(String(rec.params.shapeClass));
    t.composition.push(String(rec.params.composition));
    t.dose.push(rec.dose);
    t.dose_total.push(rec.doseTotal);
    t.split.push(rec.split);
    t.params.push(JSON.stringify(rec.params));
    this.n++;
  }

  /** Writes the /samples table and closes the file (closeHdf5: reproducible bytes); throws if fewer samples than announced were appended. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let complete = false;
    try {
      if (this.n !== this.info.sampleCount) throw new InternalError(`ShardWriter: ${this.n} of ${this.info.sampleCount} samples written`);
      const g = this.file.create_group('samples');
      const t = this.table;
      g.create_dataset({ name: 'index', data: Int32Array.from(t.index), shape: [t.index.length], dtype: '<i4' });
      for (const k of ['shape_class', 'composition', 'split', 'params'] as const) g.create_dataset({ name: k, data: t[k], shape: [t[k].length] });
      g.create_dataset({ name: 'dose', data: Float64Array.from(t.dose), shape: [t.dose.length], dtype: '<d' });
      g.create_dataset({ name: 'dose_total', data: Float64Array.from(t.dose_total), shape: [t.dose_total.length], dtype: '<d' });
      attr(g, 'dose_units', 'e/A^2 per projection');
      complete = true;
    } finally {
      closeHdf5(this.file, this.path, { keep: complete });
    }
  }

  /** Closes the file without the table (an abandoned shard; the caller deletes it). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    closeHdf5(this.file, this.path, { keep: false });
  }
}

export type SampleField = 'phantom' | 'clean' | 'noisy' | 'frames';

export interface ShardSampleMeta {
  index: number;
  split: string;
  shapeClass: string;
  composition: string;
  dose: number;
  doseTotal: number;
  params: Record<string, unknown>;
}

/**
 * Reads one shard file (or any EMD-like HDF5 file written by nanodose) by hyperslabs: a sample or
 * one projection at a time, never the whole file.
 */
export class ShardReader {
  readonly attrs: Record<string, unknown>;
  readonly samples: ShardSampleMeta[];
  readonly elements: { symbol: string; Z: number }[];
  readonly channels: string[];
  readonly angles: Float64Array;
  readonly size: number;
  readonly nCols: number;
  readonly nFrames: number;
  /** Pixel (voxel) size in nm, from the spacing of the last coordinate dim (1 if absent). */
  readonly pixelSizeNm: number;
  readonly has: Record<SampleField, boolean>;

  private constructor(private readonly file: H5File, readonly path: string) {
    const a: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(file.attrs)) {
      const val = v.value;
      a[k] = typeof val === 'bigint' ? Number(val) : val;
    }
    this.attrs = a;
    if (a.generator !== GENERATOR) throw new ConfigError(path, `not a nanodose shard (root attribute generator = ${JSON.stringify(a.generator)})`);
    const get = (p: string) => file.get(p) as Dataset | null;
    const num = (p: string) => {
      const v = get(p)?.value;
      if (v == null) throw new ConfigError(path, `missing ${p}`);
      return Array.from(v as ArrayLike<number | bigint>, (x) => Number(x));
    };
    const strs = (p: string) => {
      const v = get(p)?.value;
      if (v == null) throw new ConfigError(path, `missing ${p} (an unfinished shard?)`);
      return v as string[];
    };
    const idx = num('samples/index');
    const split = strs('samples/split'), sc = strs('samples/shape_class'), comp = strs('samples/composition'), params = strs('samples/params');
    const dose = num('samples/dose'), doseTotal = num('samples/dose_total');
    this.samples = idx.map((index, k) => ({ index, split: split[k], shapeClass: sc[k], composition: comp[k], dose: dose[k], doseTotal: doseTotal[k], params: JSON.parse(params[k]) }));
    const smp = file.get('sample') as Group;
    const sym = smp.attrs['elements'].value as string[] | string;
    const Zs = smp.attrs['atomic_numbers'].value as ArrayLike<number | bigint> | number | bigint;
    const symArr = Array.isArray(sym) ? sym : [sym];
    const zArr = typeof Zs === 'number' || typeof Zs === 'bigint' ? [Number(Zs)] : Array.from(Zs, (x) => Number(x));
    this.elements = symArr.map((s, k) => ({ symbol: s, Z: zArr[k] }));
    const ch = smp.attrs['channel_names'].value as string[] | string;
    this.channels = Array.isArray(ch) ? ch : [ch];
    this.size = Number(smp.attrs['size'].value as number | bigint);
    this.has = { phantom: !!get('data/phantom/data'), clean: !!get('data/tilt_clean/data'), noisy: !!get('data/tilt_noisy/data'), frames: !!get('data/tilt_frames/data') };
    const tilt = get('data/tilt_clean/data') ?? get('data/tilt_noisy/data') ?? get('data/tilt_frames/data');
    const ang = get('data/tilt_clean/dim3') ?? get('data/tilt_noisy/dim3') ?? get('data/tilt_frames/dim3');
    this.angles = ang ? Float64Array.from(ang.value as Float64Array) : new Float64Array(0);
    const sh = tilt?.shape ?? [];
    this.nCols = sh.length ? sh[sh.length - 1] : 0;
    const fr = get('data/tilt_frames/data')?.shape;
    this.nFrames = fr ? fr[3] : 0;
    const lastDim = sh.length ? (get('data/tilt_clean/dim5') ?? get('data/tilt_noisy/dim5')) : get('data/phantom/dim5');
    const xs = lastDim?.value as Float64Array | undefined;
    this.pixelSizeNm = xs && xs.length > 1 ? xs[1] - xs[0] : 1;
  }

  static async open(path: string): Promise<ShardReader> {
    const h5 = await h5ready();
    const f = new h5.File(path, 'r');
    try {
      return new ShardReader(f, path);
    } catch (e) {
      f.close();
      throw e;
    }
  }

  get count(): number {
    return this.samples.length;
  }

  get firstSample(): number {
    return Number(this.attrs.first_sample);
  }

  private dataset(field: SampleField): Dataset {
    const p = { phantom: 'data/phantom/data', clean: 'data/tilt_clean/data', noisy: 'data/tilt_noisy/data', frames: 'data/tilt_frames/data' }[field];
    const d = this.file.get(p) as Dataset | null;
    if (!d) throw new ConfigError(this.path, `this dataset does not store '${field}' (set store.${field} when generating)`);
    return d;
  }

  /** One whole sample's array of `field` (local index within this shard). */
  read(local: number, field: SampleField): Float32Array | Uint32Array {
    const d = this.dataset(field);
    const rank = d.shape!.length;
    return d.slice([[local, local + 1], ...Array.from({ length: rank - 1 }, () => [] as [])]) as Float32Array | Uint32Array;
  }

  /** One projection image [row, col] of (sample, channel, angle) from the clean or noisy series. */
  readProjection(local: number, field: 'clean' | 'noisy', channel: number, angle: number, rows?: [number, number], cols?: [number, number]): Float32Array | Uint32Array {
    const d = this.dataset(field);
    return d.slice([[local, local + 1], [channel, channel + 1], [angle, angle + 1], rows ?? [], cols ?? []]) as Float32Array | Uint32Array;
  }

  /** The shape of `field`'s data (first axis = samples). */
  shape(field: SampleField): number[] {
    return this.dataset(field).shape!;
  }

  /** Compression filters of `field` (for inspect). */
  filters(field: SampleField): { name: string; cd_values: number[] }[] {
    return this.dataset(field).filters.map((f) => ({ name: String(f.name), cd_values: Array.from(f.cd_values ?? []) }));
  }

  private closed = false;

  /** Closes the file; a second close is a no-op (HDF5 failures raise now, and a reader may be closed by its owner and a cache). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}
