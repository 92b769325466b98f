/**
 * What a user's tilt-series file holds, read from its metadata only (for `nanodose inspect`): the
 * format, channels, shape [angle, row, col], tilt angles, pixel size, the stored type and a sample
 * of the values (one projection per channel, at most SAMPLE_VALUES) to tell integer counts from
 * scaled or processed data. HDF5 files (Velox .emd, HyperSpy .hspy, MATLAB v7.3, named-channel
 * HDF5) are read through h5wasm slices, MRC files by sections, TIFF files by the byte ranges of
 * their IFDs and first page (formats/tiff/tiff.ts), MATLAB v5 files by element headers and a stream of
 * each channel cut after projection 0 (formats/matlab/mat5.ts), so memory stays bounded whatever the
 * file's size (`npm run bench -- inspect-rss`).
 *
 * The HDF5 layouts follow the readers of formats/hdf5/hdf5.ts and formats/matlab/matlab.ts (same channel names,
 * axis order, angle and pixel-size sources); formats/probe.test.ts checks that the probe and the
 * readers agree on every fixture, so the two cannot drift apart unnoticed.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { isElement } from './hdf5/hdf5.ts';
import { attr, hspyExperiment, isDataset, isGroup, str, veloxImageMeta } from './hdf5/h5-meta.ts';
import { FormatError, channelName, type FormatName } from './types.ts';

/** Most values read per channel for the sample (16 MB of float32). */
export const SAMPLE_VALUES = 1 << 22;

export interface ChannelInfo {
  name: string;
  /** Stored type, as numpy names it (uint16, float32, ...). */
  dtype: string;
  /** Values of one projection (the first; at most SAMPLE_VALUES, whole rows), float32. */
  sample: Float32Array;
  /** Where the sample came from (e.g. 'projection 0'). */
  sampleOf: string;
}

export interface TiltStackInfo {
  file: string;
  format: FormatName;
  channels: ChannelInfo[];
  shape: [number, number, number];
  angles?: Float64Array;
  anglesFrom?: string;
  pixelSizeNm?: number;
  /** Bytes on disk. */
  bytes: number;
}

type H5 = typeof import('h5wasm/node').default;
type Dataset = import('h5wasm/node').Dataset;
type Group = import('h5wasm/node').Group;

const ANGLES = /^(angles?|tilts?|tilt_?angles?|theta|alpha)$/i;

function dtypeName(d: Dataset): string {
  const m = d.metadata as { type: number; size: number; signed?: boolean };
  if (m.type === 0) return `${m.signed ? 'int' : 'uint'}${8 * m.size}`;
  if (m.type === 1) return `float${8 * m.size}`;
  return `H5T class ${m.type}`;
}

const toF32 = (v: unknown): Float32Array => (v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number | bigint>, (x) => Number(x)));

/**
 * A bounded hyperslab: `ranges` per axis, the last `rowAxis` range cut so that at most
 * SAMPLE_VALUES values are read.
 */
function slab(d: Dataset, ranges: [number, number][], rowAxis: number): Float32Array {
  const n = ranges.reduce((a, [s, e]) => a * (e - s), 1);
  if (n > SAMPLE_VALUES) {
    const per = n / (ranges[rowAxis][1] - ranges[rowAxis][0]);
    ranges = ranges.map((r, k) => (k === rowAxis ? [r[0], r[0] + Math.max(1, Math.floor(SAMPLE_VALUES / per))] : r));
  }
  return toF32(d.slice(ranges));
}

/** Small datasets (angles, pixel sizes, metadata) read whole; refused above 64 MB. */
function small(d: Dataset, path: string, format: string, name: string): unknown {
  const n = (d.shape ?? []).reduce((a, b) => a * b, 1) * ((d.metadata as { size: number }).size || 1);
  if (n > 64e6) throw new FormatError(path, format, `${name} is ${d.shape?.join('x')} (${(n / 1e6).toFixed(0)} MB): too large for metadata`);
  return d.value;
}

/** The metadata (and a sample) of a tilt-series file; see the module comment. */
export async function probeTiltStack(path: string, o: { dataset?: string } = {}): Promise<TiltStackInfo> {
  const { detectFormat, readTiltStack } = await import('./index.ts');
  const fmt = await detectFormat(path);
  const bytes = statSync(path).size;
  if (fmt === 'nanodose-dataset') throw new FormatError(path, fmt, 'is a nanodose dataset (inspect describes it)');
  if (fmt === 'mrc' && o.dataset === undefined) {
    // The header and the first projection only (formats/mrc/mrc.ts reads sections from an offset).
    const { readMrc } = await import('./mrc/mrc.ts');
    let m: ReturnType<typeof readMrc>;
    try {
      m = readMrc(path, { sections: 1 });
    } catch (e) {
      throw new FormatError(path, 'mrc', (e as Error).message.replace(`${path}: `, ''));
    }
    const plane = m.shape[1] * m.shape[2];
    return { file: path, format: 'mrc', shape: m.shape, bytes, channels: [{ name: 'stack', dtype: mrcDtype(path), sample: m.data.slice(0, Math.min(plane, SAMPLE_VALUES)), sampleOf: 'projection 0' }], ...(m.voxelSizeAngstrom > 0 && m.header.cella[0] > 0 ? { pixelSizeNm: m.voxelSizeAngstrom / 10 } : {}) };
  }
  if (fmt === 'tiff' && o.dataset === undefined) {
    // The IFD chain and the strips of the first page's first rows only (formats/tiff/tiff.ts reads by range).
    const { readTiff } = await import('./tiff/tiff.ts');
    let t: Awaited<ReturnType<typeof readTiff>>;
    try {
      t = await readTiff(path, { pages: 1, values: SAMPLE_VALUES });
    } catch (e) {
      throw new FormatError(path, 'tiff', (e as Error).message.replace(`${path}: `, ''));
    }
    return { file: path, format: 'tiff', shape: [t.pages, t.rows, t.shape[2]], bytes, channels: [{ name: 'stack', dtype: t.dtype, sample: t.data, sampleOf: 'projection 0' }], ...(t.pixelSizeNm ? { pixelSizeNm: t.pixelSizeNm } : {}) };
  }
  if (fmt === 'mat-v5' && o.dataset === undefined) {
    // Headers of every variable, then each channel's values streamed up to projection 0's last one (formats/matlab/matlab.ts).
    const { probeMat5, MAT_DTYPE } = await import('./matlab/matlab.ts');
    const first = await probeMat5(path, SAMPLE_VALUES);
    const L = first.layout;
    return { file: path, format: 'mat-v5', shape: L.shape, bytes, channels: L.channels.map((v, k) => ({ name: channelName(v.name), dtype: MAT_DTYPE[v.class] ?? v.class, sample: first.samples[k], sampleOf: 'projection 0' })), ...(L.angles ? { angles: L.angles, anglesFrom: L.anglesFrom } : {}), ...(L.pixelSizeNm ? { pixelSizeNm: L.pixelSizeNm } : {}) };
  }
  if (o.dataset !== undefined && fmt !== 'hdf5') {
    // A named array of an HDF5-based file: read by the reader.
    const s = await readTiltStack(path, o);
    const plane = s.shape[1] * s.shape[2];
    return { file: path, format: s.format, shape: s.shape, bytes, channels: s.channels.map((c) => ({ name: c.name, dtype: 'float32 (as read)', sample: c.data.slice(0, Math.min(plane, SAMPLE_VALUES)), sampleOf: 'projection 0' })), ...(s.angles ? { angles: s.angles, anglesFrom: s.anglesFrom } : {}), ...(s.pixelSizeNm ? { pixelSizeNm: s.pixelSizeNm } : {}) };
  }
  const { h5ready } = await import('./hdf5/emd.ts');
  const lib: H5 = await h5ready();
  let f: InstanceType<H5['File']>;
  try {
    f = new lib.File(path, 'r');
  } catch (e) {
    throw new FormatError(path, fmt, `cannot be opened as HDF5 (${String((e as Error).message).split('\n')[0]})`);
  }
  let withStream = false, imageTypes: Map<string, string> | undefined;
  try {
    const base = { file: path, format: fmt as FormatName, bytes };
    if (fmt === 'emd-velox') {
      const { hasSpectrumStream } = await import('./hdf5/velox-si.ts');
      if (!hasSpectrumStream(f as unknown as Group)) return { ...base, ...probeVelox(f as unknown as Group, path) };
      withStream = true;
      if (isGroup(f.get('Data/Image'))) imageTypes = new Map(probeVelox(f as unknown as Group, path).channels.map((c) => [c.name, c.dtype]));
    }
    if (fmt === 'hspy') return { ...base, ...probeHspy(f as unknown as Group, path) };
    if (fmt === 'mat-v7.3') return { ...base, ...probeMat73(f as unknown as Group, path) };
    if (!withStream) return { ...base, ...probeHdf5(f as unknown as Group, path, o.dataset) };
  } finally {
    f.close();
  }
  // A Velox EDX spectrum stream (formats/hdf5/velox-si.ts): its element maps exist only once decoded,
  // so the whole stream is read (in 32 MB slices); the channels say which energy window each counts.
  const s = await readTiltStack(path);
  const plane = s.shape[1] * s.shape[2];
  const win = new Map((s.spectrum?.windows ?? []).map((w) => [w.name, w]));
  const keV = (i: number) => (s.spectrum!.offsetKeV + i * s.spectrum!.dispersionKeV).toFixed(2);
  const channels = s.channels.map((c) => {
    const w = win.get(c.name);
    return { name: c.name, dtype: w ? `EDX stream counts, ${w.line} ${keV(w.lo)}-${keV(w.hi)} keV` : imageTypes?.get(c.name) ?? 'image', sample: c.data.slice(0, Math.min(plane, SAMPLE_VALUES)), sampleOf: 'frame 0' };
  });
  return { file: path, format: s.format, shape: s.shape, bytes, channels, ...(s.angles ? { angles: s.angles, anglesFrom: s.anglesFrom } : {}), ...(s.pixelSizeNm ? { pixelSizeNm: s.pixelSizeNm } : {}) };
}

function mrcDtype(path: string): string {
  // MRC mode (header word 4): 0 int8, 1 int16, 2 float32, 6 uint16, 12 float16.
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(16);
    readSync(fd, b, 0, 16, 0);
    const mode = b.readInt32LE(12);
    return ({ 0: 'int8', 1: 'int16', 2: 'float32', 6: 'uint16', 12: 'float16' } as Record<number, string>)[mode] ?? `mode ${mode}`;
  } finally {
    closeSync(fd);
  }
}

type Probe = Omit<TiltStackInfo, 'file' | 'format' | 'bytes'>;

function probeVelox(f: Group, path: string): Probe {
  const F = 'emd-velox';
  const img = f.get('Data/Image');
  if (!isGroup(img)) throw new FormatError(path, F, `no /Data/Image group (found ${f.keys().join(', ') || 'nothing'} at the root); spectrum images are not read`);
  const channels: ChannelInfo[] = [];
  let shape: [number, number, number] | undefined, pixelSizeNm: number | undefined, angles: Float64Array | undefined;
  for (const uuid of img.keys()) {
    const g = img.get(uuid);
    const d = isGroup(g) ? g.get('Data') : null;
    if (!isDataset(d)) continue;
    const sh = d.shape ?? [];
    if (sh.length !== 2 && sh.length !== 3) throw new FormatError(path, F, `/Data/Image/${uuid}/Data has shape [${sh.join(', ')}]; expected (rows, cols[, frames])`);
    const [R, C, A] = [sh[0], sh[1], sh[2] ?? 1];
    const meta = (g as Group).get('Metadata');
    const vm = isDataset(meta) ? veloxImageMeta(small(meta, path, F, `/Data/Image/${uuid}/Metadata`) as Uint8Array, meta.shape ?? [], A, path, F, uuid) : {};
    const name = channelName(vm.detector ?? uuid);
    shape ??= [A, R, C];
    pixelSizeNm ??= vm.pixelSizeNm;
    if (!angles && vm.angles) angles = vm.angles;
    // (rows, cols, frames): frame 0 is a strided slab, rows cut to the sample budget.
    const sample = slab(d, sh.length === 3 ? [[0, R], [0, C], [0, 1]] : [[0, R], [0, C]], 0);
    channels.push({ name, dtype: dtypeName(d), sample, sampleOf: 'frame 0' });
  }
  if (!shape) throw new FormatError(path, F, 'no image data under /Data/Image');
  return { channels, shape, ...(angles ? { angles, anglesFrom: `${path} (Stage.AlphaTilt)` } : {}), ...(pixelSizeNm ? { pixelSizeNm } : {}) };
}

function probeHspy(f: Group, path: string): Probe {
  const F = 'hspy';
  const ex = f.get('Experiments');
  if (!isGroup(ex)) throw new FormatError(path, F, 'no /Experiments group');
  const channels: ChannelInfo[] = [];
  let shape: [number, number, number] | undefined, pixelSizeNm: number | undefined, angles: Float64Array | undefined;
  for (const title of ex.keys()) {
    const g = ex.get(title);
    if (!isGroup(g) || !isDataset(g.get('data'))) continue;
    const d = g.get('data') as Dataset;
    const sh = d.shape ?? [];
    const exp = hspyExperiment(g, d, path, F, title);
    shape ??= exp.shape;
    if (exp.angles) angles = exp.angles;
    if (pixelSizeNm === undefined && exp.pixelSizeNm !== undefined) pixelSizeNm = exp.pixelSizeNm;
    const sample = slab(d, sh.length === 3 ? [[0, 1], [0, sh[1]], [0, sh[2]]] : [[0, sh[0]], [0, sh[1]]], sh.length === 3 ? 1 : 0);
    channels.push({ name: channelName(title), dtype: dtypeName(d), sample, sampleOf: 'projection 0' });
  }
  if (!shape) throw new FormatError(path, F, 'no /Experiments/<title>/data');
  return { channels, shape, ...(angles ? { angles, anglesFrom: `${path} (navigation axis)` } : {}), ...(pixelSizeNm ? { pixelSizeNm } : {}) };
}

/** MATLAB v7.3: as formats/matlab/matlab.ts, from the datasets' shapes (MATLAB size = HDF5 shape reversed). */
function probeMat73(f: Group, path: string): Probe {
  const F = 'mat-v7.3';
  const vars = f.keys().map((k) => [k, f.get(k)] as const).filter((e): e is readonly [string, Dataset] => isDataset(e[1]));
  const dims = (d: Dataset) => [...(d.shape ?? [])].reverse();
  const angVar = vars.find(([k, d]) => ANGLES.test(k) && dims(d).filter((x) => x > 1).length <= 1);
  const px = vars.find(([k, d]) => /^pixel_?size_?(nm|a|angstrom)$/i.test(k) && dims(d).reduce((a, b) => a * b, 1) === 1);
  const chans = vars.filter((v) => v !== angVar && v !== px && dims(v[1]).filter((x) => x > 1).length >= 2);
  if (chans.length === 0) throw new FormatError(path, F, `no 2-D/3-D numeric variable to read as a tilt series (variables: ${vars.map(([k]) => k).join(', ') || 'none'})`);
  const d0 = dims(chans[0][1]);
  const d3 = [d0[0], d0[1], d0[2] ?? 1];
  const angles = angVar ? Float64Array.from(small(angVar[1], path, F, angVar[0]) as ArrayLike<number>, Number) : undefined;
  const nA = angles?.length;
  const match = nA !== undefined ? d3.map((d, k) => (d === nA ? k : -1)).filter((k) => k >= 0) : [];
  const aAx = match.length === 1 ? match[0] : 2;
  const [rAx, cAx] = [0, 1, 2].filter((k) => k !== aAx);
  const shape: [number, number, number] = [d3[aAx], d3[rAx], d3[cAx]];
  const pxV = px ? Number((small(px[1], path, F, px[0]) as ArrayLike<number>)[0]) : undefined;
  const pixelSizeNm = px && pxV! > 0 ? (/nm$/i.test(px[0]) ? pxV : pxV! / 10) : undefined;
  const channels = chans.map(([k, d]) => {
    // HDF5 axes are MATLAB's reversed: MATLAB axis m is HDF5 axis (rank - 1 - m).
    const rank = (d.shape ?? []).length;
    const ranges = (d.shape ?? []).map((n) => [0, n] as [number, number]);
    if (rank >= 3) ranges[rank - 1 - aAx] = [0, 1];
    const raw = slab(d, ranges, rank - 1 - rAx);
    // Reorder the slab (HDF5 C order over reversed MATLAB axes) into row-major [row, col].
    const sh = ranges.map(([s, e]) => e - s);
    const R = sh[rank - 1 - rAx], C = sh[rank - 1 - cAx];
    const strideOf = (ax: number) => sh.slice(rank - ax).reduce((a, b) => a * b, 1);
    const sr = strideOf(rAx), sc = strideOf(cAx);
    const sample = new Float32Array(R * C);
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) sample[r * C + c] = raw[r * sr + c * sc];
    return { name: channelName(k), dtype: dtypeName(d), sample, sampleOf: 'projection 0' };
  });
  return { channels, shape, ...(angles ? { angles, anglesFrom: `${path} ${angVar![0]}` } : {}), ...(pixelSizeNm ? { pixelSizeNm } : {}) };
}

function probeHdf5(f: Group, path: string, dataset?: string): Probe {
  const F = 'hdf5';
  const all: [string, Dataset][] = [];
  const walk = (g: Group, pre: string) => {
    for (const k of g.keys()) {
      const x = g.get(k);
      if (isDataset(x)) all.push([`${pre}/${k}`, x]);
      else if (isGroup(x)) walk(x, `${pre}/${k}`);
    }
  };
  walk(f, '');
  let picked: [string, Dataset, string][];
  if (dataset) {
    const p = dataset.startsWith('/') ? dataset : `/${dataset}`;
    const d = all.find(([q]) => q === p);
    if (!d) throw new FormatError(path, F, `--dataset: no array ${dataset}`);
    picked = [[p, d[1], channelName(p.replace(/\/data$/, '').split('/').pop() ?? 'stack')]];
  } else {
    picked = all.filter(([, d]) => [2, 3].includes((d.shape ?? []).length) && !String(d.dtype).startsWith('S')).map(([p, d]) => [p, d, channelName(p.split('/').pop()!)] as [string, Dataset, string]).filter(([, , n]) => n === 'HAADF' || isElement(n));
    if (picked.length === 0) {
      const emd = all.find(([p]) => /^\/data\/[^/]+\/data$/.test(p));
      if (!emd) throw new FormatError(path, F, `no channel arrays (arrays named HAADF or an element symbol); name one with --dataset (arrays: ${all.map(([p]) => p).slice(0, 8).join(', ') || 'none'})`);
      picked = [[emd[0], emd[1], channelName(emd[0].split('/')[2])]];
    }
  }
  const sh0 = picked[0][1].shape ?? [];
  if (sh0.length < 2 || sh0.length > 3) throw new FormatError(path, F, `${picked[0][0]} has shape [${sh0.join(', ')}]; expected a 2-D image or a 3-D stack [angle, row, col]`);
  const shape: [number, number, number] = sh0.length === 2 ? [1, sh0[0], sh0[1]] : [sh0[0], sh0[1], sh0[2]];
  const names = new Set<string>();
  const channels = picked.map(([p, d, n]) => {
    const name = names.has(n) ? p : n;
    names.add(name);
    const s = d.shape ?? [];
    const sample = slab(d, s.length === 3 ? [[0, 1], [0, s[1]], [0, s[2]]] : [[0, s[0]], [0, s[1]]], s.length === 3 ? 1 : 0);
    return { name, dtype: dtypeName(d), sample, sampleOf: 'projection 0' };
  });
  let angles: Float64Array | undefined, anglesFrom: string | undefined;
  const grp = picked[0][0].replace(/\/[^/]+$/, '');
  for (let k = 1; k <= sh0.length; k++) {
    const dm = f.get(`${grp}/dim${k}`);
    if (isDataset(dm) && String(str(attr(dm, 'units')) ?? '').includes('deg')) {
      angles = Float64Array.from(small(dm, path, F, `${grp}/dim${k}`) as ArrayLike<number>, Number);
      anglesFrom = `${path} ${grp}/dim${k}`;
    }
  }
  if (!angles) {
    const a = all.find(([p, d]) => ANGLES.test(p.split('/').pop()!) && (d.shape ?? []).reduce((x, y) => x * y, 1) === shape[0]);
    if (a) {
      angles = Float64Array.from(small(a[1], path, F, a[0]) as ArrayLike<number>, Number);
      anglesFrom = `${path} ${a[0]}`;
    }
  }
  return { channels, shape, ...(angles ? { angles, anglesFrom } : {}) };
}
