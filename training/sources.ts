/**
 * Training data: a nanodose dataset (directory or one shard .h5, read per projection with a small
 * cache) or in-memory maps (`MapSource`, e.g. a user's real tilt series). Either becomes a list of
 * projection references (sample, angle, element channel) per split and a `get(ref)` that returns
 * the whole projection: whole maps are needed for the input normalisation (models/normalise.ts).
 */
import { ConfigError } from '../core/validate.ts';
import type { Projection } from './schemes.ts';

export interface MapItem { h: number; w: number; noisy?: Float32Array; frames?: Float32Array[]; clean?: Float32Array; dose?: number }
export interface MapSource { kind: 'maps'; channel: string; train: MapItem[]; val: MapItem[] }

export interface ProjectionRef { sample: number; angle: number; channel: number; key: string }

/** Multi-channel in-memory maps: `train[i][c]` is channel `channels[c]` of projection i (all the same size). */
export interface MultiMapSource { kind: 'multi-maps'; channels: string[]; train: MapItem[][]; val: MapItem[][] }

export interface TrainingData {
  /** What was trained on, for train-config.json. */
  description: string;
  /** Names of the channels trained on (the model's metadata channels). */
  channels: string[];
  has: { clean: boolean; noisy: boolean; frames: boolean };
  /** Frames per projection when frames are stored (else 0). */
  nFrames: number;
  train: ProjectionRef[];
  val: ProjectionRef[];
  /** Smallest map height / width over both splits. */
  minSize: [number, number];
  maxSize: [number, number];
  /** Stored doses per projection of the training projections (undefined: unknown, relative). */
  doses: number[] | undefined;
  get(ref: ProjectionRef, fields: ('clean' | 'noisy' | 'frames')[]): Promise<Projection>;
  /**
   * Grouped data (multi-channel networks): the refs are one per (sample, angle) and this returns
   * every channel of `channels`, in that order.
   */
  getGroup?(ref: ProjectionRef, fields: ('clean' | 'noisy' | 'frames')[]): Promise<Projection[]>;
  close(): Promise<void>;
}

/** Multi-channel in-memory maps as grouped training data (refs one per projection, every channel). */
export function multiMapData(src: MultiMapSource, thinning: boolean): TrainingData {
  if (!src || src.kind !== 'multi-maps') throw new ConfigError('data', "must be { kind: 'multi-maps', channels, train, val }");
  if (!Array.isArray(src.channels) || src.channels.length === 0 || src.channels.some((c) => typeof c !== 'string' || !c)) throw new ConfigError('data.channels', 'must name the channels of the maps');
  if (new Set(src.channels).size !== src.channels.length) throw new ConfigError('data.channels', 'a channel is listed twice');
  const C = src.channels.length;
  for (const split of ['train', 'val'] as const) {
    const items = src[split];
    if (!Array.isArray(items) || items.length === 0) throw new ConfigError(`data.${split}`, `must hold at least 1 projection${split === 'val' ? ' (validation)' : ''}`);
    items.forEach((g, i) => {
      if (!Array.isArray(g) || g.length !== C) throw new ConfigError(`data.${split}[${i}]`, `must hold ${C} maps (${src.channels.join(', ')}), got ${Array.isArray(g) ? g.length : typeof g}`);
      g.forEach((it, k) => {
        // The HAADF guide is never thinned: any finite counts >= 0 (e.g. a gain-corrected detector signal).
        checkItem(`data.${split}[${i}][${k}] (${src.channels[k]})`, it, thinning && !/^haadf$/i.test(src.channels[k]));
        if (it.h !== g[0].h || it.w !== g[0].w) throw new ConfigError(`data.${split}[${i}][${k}]`, `is ${it.h}x${it.w}; every channel of a projection must be ${g[0].h}x${g[0].w}`);
      });
    });
  }
  const all = [...src.train, ...src.val].flat();
  const has = { clean: all.every((i) => !!i.clean), noisy: all.every((i) => !!i.noisy), frames: all.every((i) => !!i.frames) };
  const nFr = has.frames ? Math.min(...all.map((i) => i.frames!.length)) : 0;
  const dosesKnown = all.every((i) => i.dose !== undefined);
  const ref = (split: number, k: number): ProjectionRef => ({ sample: split, angle: k, channel: -1, key: `${split}/${k}` });
  const proj = (it: MapItem): Projection => ({ h: it.h, w: it.w, clean: it.clean, noisy: it.noisy, frames: it.frames, dose: it.dose ?? 1 });
  const groups = [...src.train, ...src.val];
  return {
    description: `in-memory maps (${src.channels.join(', ')}): ${src.train.length} train, ${src.val.length} val`,
    channels: src.channels,
    has,
    nFrames: nFr,
    train: src.train.map((_, k) => ref(0, k)),
    val: src.val.map((_, k) => ref(1, k)),
    minSize: [Math.min(...groups.map((g) => g[0].h)), Math.min(...groups.map((g) => g[0].w))],
    maxSize: [Math.max(...groups.map((g) => g[0].h)), Math.max(...groups.map((g) => g[0].w))],
    doses: dosesKnown ? src.train.map((g) => g[0].dose!) : undefined,
    get: async (r) => proj((r.sample === 0 ? src.train : src.val)[r.angle][0]),
    getGroup: async (r) => (r.sample === 0 ? src.train : src.val)[r.angle].map(proj),
    close: async () => {},
  };
}

function checkItem(field: string, it: MapItem, thinning: boolean): void {
  if (!it || typeof it !== 'object') throw new ConfigError(field, 'must be an object { h, w, noisy?, frames?, clean?, dose? }');
  if (!(Number.isInteger(it.h) && it.h >= 1 && Number.isInteger(it.w) && it.w >= 1)) throw new ConfigError(`${field}.h`, `h and w must be integers >= 1, got ${it.h} x ${it.w}`);
  const n = it.h * it.w;
  const check = (name: string, a: Float32Array, integer: boolean) => {
    if (!(a instanceof Float32Array) || a.length !== n) throw new ConfigError(`${field}.${name}`, `must be a Float32Array of h*w = ${n} values, got ${a?.length}`);
    for (let i = 0; i < n; i++) {
      const v = a[i];
      if (!(v >= 0) || v === Infinity) throw new ConfigError(`${field}.${name}`, `values must be finite and >= 0 (counts), got ${v} at pixel ${i}`);
      if (integer && !Number.isInteger(v)) throw new ConfigError(`${field}.${name}`, `binomial thinning needs integer counts, got ${v} at pixel ${i} (gain-corrected data: divide by the gain first)`);
    }
  };
  if (it.clean) check('clean', it.clean, false);
  if (it.noisy) check('noisy', it.noisy, thinning);
  if (it.frames) {
    if (!Array.isArray(it.frames) || it.frames.length < 1) throw new ConfigError(`${field}.frames`, 'must be an array of Float32Array frames');
    it.frames.forEach((f, k) => check(`frames[${k}]`, f, thinning));
  }
  if (!it.clean && !it.noisy && !it.frames) throw new ConfigError(field, 'has none of clean, noisy, frames');
  if (it.dose !== undefined && !(it.dose > 0 && Number.isFinite(it.dose))) throw new ConfigError(`${field}.dose`, `must be a dose per projection > 0 (e/A^2), got ${it.dose}`);
}

/** In-memory maps as training data. */
export function mapData(src: MapSource, thinning: boolean): TrainingData {
  if (!src || src.kind !== 'maps') throw new ConfigError('data', "must be a dataset path or { kind: 'maps', channel, train, val }");
  if (typeof src.channel !== 'string' || !src.channel) throw new ConfigError('data.channel', 'must name the element channel of the maps');
  if (!Array.isArray(src.train) || src.train.length === 0) throw new ConfigError('data.train', 'must hold at least 1 map');
  if (!Array.isArray(src.val) || src.val.length === 0) throw new ConfigError('data.val', 'must hold at least 1 map (validation)');
  src.train.forEach((it, i) => checkItem(`data.train[${i}]`, it, thinning));
  src.val.forEach((it, i) => checkItem(`data.val[${i}]`, it, thinning));
  const all = [...src.train, ...src.val];
  const has = { clean: all.every((i) => !!i.clean), noisy: all.every((i) => !!i.noisy), frames: all.every((i) => !!i.frames) };
  const nFr = has.frames ? Math.min(...all.map((i) => i.frames!.length)) : 0;
  const dosesKnown = all.every((i) => i.dose !== undefined);
  const ref = (split: number, k: number): ProjectionRef => ({ sample: split, angle: k, channel: 0, key: `${split}/${k}` });
  return {
    description: `in-memory maps (${src.channel}): ${src.train.length} train, ${src.val.length} val`,
    channels: [src.channel],
    has,
    nFrames: nFr,
    train: src.train.map((_, k) => ref(0, k)),
    val: src.val.map((_, k) => ref(1, k)),
    minSize: [Math.min(...all.map((i) => i.h)), Math.min(...all.map((i) => i.w))],
    maxSize: [Math.max(...all.map((i) => i.h)), Math.max(...all.map((i) => i.w))],
    doses: dosesKnown ? src.train.map((i) => i.dose!) : undefined,
    get: async (r) => {
      const it = (r.sample === 0 ? src.train : src.val)[r.angle];
      return { h: it.h, w: it.w, clean: it.clean, noisy: it.noisy, frames: it.frames, dose: it.dose ?? 1 };
    },
    close: async () => {},
  };
}

class Lru<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly cap: number) {}
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.m.set(k, v);
    if (this.m.size > this.cap) this.m.delete(this.m.keys().next().value as string);
  }
}

/**
 * A nanodose dataset as training data: train / val splits, the chosen element channels. With
 * `group` (multi-channel networks) the channels may include the HAADF and the refs are one per
 * (sample, angle), read with getGroup.
 */
export async function datasetData(path: string, channels: string[] | undefined, group = false): Promise<TrainingData> {
  const { openDataset } = await import('../datasets/index.ts');
  let ds;
  try {
    ds = await openDataset(path);
  } catch (e) {
    throw new ConfigError('data', (e as Error).message);
  }
  const elements = ds.elements.map((e) => e.symbol);
  const names = channels ?? elements;
  if (!Array.isArray(names) || names.length === 0) throw new ConfigError('channels', `must list element channels of ${path}: ${elements.join(', ')}`);
  const idx = names.map((n) => {
    const k = ds.channels.indexOf(n);
    if (group && k < 0) throw new ConfigError('inputs', `'${n}' is not a channel of ${path}; its channels: ${ds.channels.join(', ')}`);
    if (!group && k < 1) throw new ConfigError('channels', `'${n}' is not an element channel of ${path}; allowed: ${elements.join(', ')}`);
    return k;
  });
  if (new Set(idx).size !== idx.length) throw new ConfigError('channels', 'a channel is listed twice');
  const A = ds.angles.length;
  const refs = (split: 'train' | 'val') =>
    group
      ? ds.indices(split).flatMap((i) => Array.from({ length: A }, (_, a) => ({ sample: i, angle: a, channel: -1, key: `${i}/g/${a}` })))
      : ds.indices(split).flatMap((i) => Array.from({ length: A }, (_, a) => idx.map((c) => ({ sample: i, angle: a, channel: c, key: `${i}/${c}/${a}` }))).flat());
  const train = refs('train');
  const val = refs('val');
  if (train.length === 0) throw new ConfigError('data', `${path} has no samples in the train split`);
  if (val.length === 0) throw new ConfigError('data', `${path} has no samples in the val split (validation needs some: generate more samples or raise split.val)`);
  const N = ds.shape.size, U = ds.shape.nCols, F = ds.stored.frames ? ds.shape.nFrames : 0;
  const cache = new Lru<Projection>(512);
  const frameCache = new Lru<Uint32Array>(4);
  const P = N * U;
  const get = async (r: ProjectionRef, fields: ('clean' | 'noisy' | 'frames')[]): Promise<Projection> => {
      const key = `${r.key}:${fields.join(',')}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const p: Projection = { h: N, w: U, dose: ds.meta(r.sample).dose };
      if (fields.includes('clean')) p.clean = await ds.readProjection(r.sample, 'clean', r.channel, r.angle);
      if (fields.includes('noisy')) p.noisy = await ds.readProjection(r.sample, 'noisy', r.channel, r.angle);
      if (fields.includes('frames')) {
        let fr = frameCache.get(String(r.sample));
        if (!fr) {
          fr = (await ds.readSample(r.sample, ['frames'])).frames!;
          frameCache.set(String(r.sample), fr);
        }
        const base = (r.channel * A + r.angle) * F * P;
        p.frames = Array.from({ length: F }, (_, f) => Float32Array.from(fr!.subarray(base + f * P, base + (f + 1) * P)));
      }
      cache.set(key, p);
      return p;
  };
  return {
    description: `dataset ${path}`,
    channels: names,
    has: { clean: ds.stored.clean, noisy: ds.stored.noisy, frames: ds.stored.frames && F >= 1 },
    nFrames: F,
    train,
    val,
    minSize: [N, U],
    maxSize: [N, U],
    doses: ds.indices('train').map((i) => ds.meta(i).dose),
    get,
    getGroup: group ? (r, fields) => Promise.all(idx.map((c) => get({ sample: r.sample, angle: r.angle, channel: c, key: `${r.sample}/${c}/${r.angle}` }, fields))) : undefined,
    close: () => ds.close(),
  };
}
