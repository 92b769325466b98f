/**
 * The HDF5-based tilt-series layouts (read with h5wasm): Velox `.emd` (Thermo Fisher), HyperSpy
 * `.hspy`, MATLAB v7.3 `.mat`, and any other HDF5 file with named channels (HAADF and element maps
 * as 2-D/3-D arrays anywhere in the file) or one array named by `dataset`.
 *
 * - Velox: /Data/Image/<uuid>/Data is (rows, cols, frames), an EDX spectrum image /Data/SpectrumStream
 *   (formats/hdf5/velox-si.ts, velox-stream.ts) gives element maps; /Data/Image/<uuid>/Metadata is JSON text
 *   per frame (uint8, (length, frames)): the channel name from BinaryResult.Detector, the pixel
 *   size from BinaryResult.PixelSize.width with PixelUnitX (m, nm, A), the tilt from Stage.AlphaTilt
 *   (radians) when every frame gives one.
 * - HyperSpy: /Experiments/<title>/data with axis-K groups (name, scale, offset, units, size,
 *   navigate) in array order; the navigation axis of a tilt series in deg (or rad) gives the
 *   angles, the signal axes' scale and units the pixel size.
 * - MATLAB v7.3: each variable a root dataset with a MATLAB_class attribute; the HDF5 shape is the
 *   MATLAB size reversed, so the values are MATLAB's column-major order as is (formats/matlab/matlab.ts
 *   orders the axes).
 */
import type { MatVariable } from '../matlab/mat5.ts';
import { FormatError, type TiltStack, channelName } from '../types.ts';
import { Hdf5FileError } from '../../h5-file.ts';
import { attr, hspyExperiment, isDataset, isGroup, str, veloxImageMeta } from './h5-meta.ts';

type H5 = typeof import('h5wasm/node').default;
type Dataset = import('h5wasm/node').Dataset;
type Group = import('h5wasm/node').Group;

async function h5(): Promise<H5> {
  const { h5ready } = await import('./emd.ts');
  return h5ready();
}

/** Opens an HDF5 file for reading; any failure becomes one FormatError line (no HDF5 diagnostics). */
async function open(path: string, format: string): Promise<InstanceType<H5['File']>> {
  const lib = await h5();
  try {
    return new lib.File(path, 'r');
  } catch (e) {
    // h5ready's File already says what is wrong in one line naming the file (datasets/h5-file.ts)
    if (e instanceof Hdf5FileError) throw new FormatError(path, format, e.message.slice(path.length + 2));
    throw new FormatError(path, format, `cannot be opened as HDF5 (${String((e as Error).message).split('\n')[0]})`);
  }
}


function values(d: Dataset, path: string, format: string, name: string): Float32Array {
  const n = (d.shape ?? []).reduce((a, b) => a * b, 1);
  if (n * 4 > 1.5e9) throw new FormatError(path, format, `${name} is ${d.shape?.join('x')}, too large to read whole (h5wasm heap is about 2 GB)`);
  const v = d.value as unknown;
  if (v instanceof Float32Array) return v;
  if (ArrayBuffer.isView(v) || Array.isArray(v)) return Float32Array.from(v as ArrayLike<number | bigint>, (x) => Number(x));
  throw new FormatError(path, format, `${name} is not a numeric array (dtype ${JSON.stringify(d.dtype)})`);
}

/** Every dataset of a file: [path, dataset]. */
function walk(g: Group, prefix = ''): [string, Dataset][] {
  const out: [string, Dataset][] = [];
  for (const k of g.keys()) {
    const x = g.get(k);
    const p = `${prefix}/${k}`;
    if (isDataset(x)) out.push([p, x]);
    else if (isGroup(x)) out.push(...walk(x, p));
  }
  return out;
}

/** Which HDF5 layout a file is in (the root attributes and groups decide, not the extension). */
export async function hdf5Layout(path: string): Promise<'nanodose-dataset' | 'emd-velox' | 'hspy' | 'mat-v7.3' | 'hdf5'> {
  const f = await open(path, 'hdf5');
  try {
    if (str(attr(f, 'file_format')) === 'HyperSpy') return 'hspy';
    if (isGroup(f.get('Data/Image')) || isGroup(f.get('Data'))) return 'emd-velox';
    if (isGroup(f.get('samples')) && isGroup(f.get('data')) && String(str(attr(f, 'generator')) ?? '').startsWith('nanodose')) return 'nanodose-dataset';
    const keys = f.keys();
    if (keys.length > 0 && keys.every((k) => { const x = f.get(k); return !isDataset(x) || attr(x, 'MATLAB_class') !== undefined; }) && keys.some((k) => attr(f.get(k) as Dataset, 'MATLAB_class') !== undefined)) return 'mat-v7.3';
    return 'hdf5';
  } finally {
    f.close();
  }
}

/** MATLAB v7.3 variables (numeric datasets at the root), as formats/matlab/matlab.ts expects them. */
export async function readMat73(path: string): Promise<MatVariable[]> {
  const f = await open(path, 'mat-v7.3');
  try {
    const out: MatVariable[] = [];
    for (const k of f.keys()) {
      const d = f.get(k);
      if (!isDataset(d)) continue;
      const cls = str(attr(d, 'MATLAB_class')) ?? 'unknown';
      const dims = [...(d.shape ?? [])].reverse();
      const numeric = ['double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'logical'].includes(cls);
      out.push({ name: k, class: cls, dims, numeric, ...(numeric ? { data: values(d, path, 'mat-v7.3', k) } : {}) });
    }
    return out;
  } finally {
    f.close();
  }
}


/**
 * Velox .emd: one channel per /Data/Image/<uuid>, and with an EDX spectrum image
 * (/Data/SpectrumStream) one channel per element mapped from it (formats/hdf5/velox-si.ts: the
 * elements of `want` with a line in the table, or without `want` those whose line stands out of the
 * spectrum). A stream map replaces an image channel of the same name (the stream holds the raw
 * counts). Per-frame data stays per frame: [frame, row, col], the tilt repeated per frame.
 */
export async function readVelox(path: string, want?: string[]): Promise<TiltStack> {
  const F = 'emd-velox';
  const f = await open(path, F);
  try {
    const img = f.get('Data/Image');
    const { hasSpectrumStream, readVeloxSpectrum } = await import('./velox-si.ts');
    const withStream = hasSpectrumStream(f as unknown as Group);
    if (!isGroup(img) && !withStream) throw new FormatError(path, F, `no /Data/Image or /Data/SpectrumStream group (found ${f.keys().join(', ') || 'nothing'} at the root)`);
    const channels: TiltStack['channels'] = [];
    let shape: [number, number, number] | undefined, pixelSizeNm: number | undefined, angles: Float64Array | undefined, anglesFrom: string | undefined;
    let frame: [number, number] | undefined;
    // With a stream, element names are the stream's to map; without `want`, it maps what it detects.
    const fromStream = withStream ? (want ?? []).filter((n) => isElement(n)) : [];
    for (const uuid of isGroup(img) ? img.keys() : []) {
      const g = (img as Group).get(uuid);
      const d = isGroup(g) ? g.get('Data') : null;
      if (!isDataset(d)) continue;
      const sh = d.shape ?? [];
      if (sh.length !== 2 && sh.length !== 3) throw new FormatError(path, F, `/Data/Image/${uuid}/Data has shape [${sh.join(', ')}]; expected (rows, cols[, frames])`);
      const [R, C, A] = [sh[0], sh[1], sh[2] ?? 1];
      frame ??= [R, C];
      const meta = (g as Group).get('Metadata');
      const vm = isDataset(meta) ? veloxImageMeta(meta.value as Uint8Array, meta.shape ?? [], A, path, F, uuid) : {};
      const name = channelName(vm.detector ?? uuid);
      if (want && !want.includes(name)) continue;
      if (fromStream.includes(name)) continue;
      const raw = values(d, path, F, `/Data/Image/${uuid}/Data`);
      // (rows, cols, frames) -> [frame, row, col]
      const data = new Float32Array(A * R * C);
      for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) for (let a = 0; a < A; a++) data[(a * R + r) * C + c] = raw[(r * C + c) * A + a];
      if (shape && (shape[0] !== A || shape[1] !== R || shape[2] !== C)) throw new FormatError(path, F, `channel ${name} is ${A}x${R}x${C}, channel ${channels[0].name} is ${shape.join('x')}`);
      shape = [A, R, C];
      pixelSizeNm ??= vm.pixelSizeNm;
      if (!angles && vm.angles) { angles = vm.angles; anglesFrom = `${path} (Stage.AlphaTilt)`; }
      channels.push({ name, data });
    }
    let spectrum: TiltStack['spectrum'];
    if (withStream && (!want || fromStream.length > 0)) {
      const si = readVeloxSpectrum(f as unknown as Group, path, { want: want ? fromStream : undefined, frame });
      spectrum = si.spectrum;
      if (shape && si.channels.length && (shape[0] !== si.shape[0] || shape[1] !== si.shape[1] || shape[2] !== si.shape[2])) {
        throw new FormatError(path, F, `channel ${channels[0].name} is ${shape.join('x')} (frames x rows x cols), the spectrum stream's maps ${si.shape.join('x')}; read them apart (--channels ${channels.map((c) => c.name).join(',')} or --channels ${si.channels.map((c) => c.name).join(',')})`);
      }
      if (si.channels.length) shape ??= si.shape;
      channels.push(...si.channels);
      pixelSizeNm ??= si.pixelSizeNm;
      if (!angles && si.angles && si.channels.length) { angles = si.angles; anglesFrom = `${path} (spectrum stream Stage.AlphaTilt)`; }
    }
    if (!shape) throw new FormatError(path, F, want ? `no image channel named ${want.join(', ')}${withStream ? ' (element maps come from the spectrum stream by name: Au, Ag, ...)' : ''}` : withStream ? 'no image data under /Data/Image, and no element line stands out of the spectrum stream (name the elements: --channels Au,Ag)' : 'no image data under /Data/Image');
    return { file: path, format: F, channels, shape, ...(angles ? { angles, anglesFrom } : {}), ...(pixelSizeNm ? { pixelSizeNm } : {}), ...(spectrum ? { spectrum } : {}) };
  } finally {
    f.close();
  }
}

/** HyperSpy .hspy: one channel per /Experiments/<title>. */
export async function readHspy(path: string, want?: string[]): Promise<TiltStack> {
  const F = 'hspy';
  const f = await open(path, F);
  try {
    const ex = f.get('Experiments');
    if (!isGroup(ex)) throw new FormatError(path, F, 'no /Experiments group');
    const channels: TiltStack['channels'] = [];
    let shape: [number, number, number] | undefined, pixelSizeNm: number | undefined, angles: Float64Array | undefined;
    for (const title of ex.keys()) {
      const g = ex.get(title);
      if (!isGroup(g) || !isDataset(g.get('data'))) continue;
      const name = channelName(title);
      if (want && !want.includes(name)) continue;
      const d = g.get('data') as Dataset;
      const exp = hspyExperiment(g, d, path, F, title);
      if (shape && shape.join() !== exp.shape.join()) throw new FormatError(path, F, `channel ${name} is ${exp.shape.join('x')}, channel ${channels[0].name} is ${shape.join('x')}`);
      shape = exp.shape;
      if (exp.angles) angles = exp.angles;
      if (pixelSizeNm === undefined && exp.pixelSizeNm !== undefined) pixelSizeNm = exp.pixelSizeNm;
      channels.push({ name, data: values(d, path, F, `/Experiments/${title}/data`) });
    }
    if (!shape) throw new FormatError(path, F, want ? `no experiment named ${want.join(', ')} (channels are /Experiments/<title>)` : 'no /Experiments/<title>/data');
    return { file: path, format: F, channels, shape, ...(angles ? { angles, anglesFrom: `${path} (navigation axis)` } : {}), ...(pixelSizeNm ? { pixelSizeNm } : {}) };
  } finally {
    f.close();
  }
}

const ANGLE_NAME = /^(angles?|tilts?|tilt_?angles?|theta|alpha)$/i;

/**
 * Any other HDF5 file. With `dataset`: that array is the one channel (named after its last path
 * component). Otherwise every 2-D/3-D numeric array whose name is HAADF or an element symbol is a
 * channel (all of one shape); an EMD 0.2 file without such names gives its first /data/<group>/data.
 * Angles: a 1-D array named angles/tilts/theta of the right length, or an EMD dim with units [deg].
 */
export async function readHdf5Channels(path: string, o: { dataset?: string; channels?: string[] } = {}): Promise<TiltStack> {
  const F = 'hdf5';
  const f = await open(path, F);
  try {
    const all = walk(f as unknown as Group);
    let picked: [string, Dataset, string][];
    if (o.dataset) {
      const p = o.dataset.startsWith('/') ? o.dataset : `/${o.dataset}`;
      const d = all.find(([q]) => q === p);
      if (!d) throw new FormatError(path, F, `--dataset: no array ${o.dataset} (arrays: ${all.filter(([, x]) => (x.shape ?? []).length >= 2).map(([q]) => q).slice(0, 8).join(', ') || 'none'})`);
      picked = [[p, d[1], channelName(p.replace(/\/data$/, '').split('/').pop() ?? 'stack')]];
    } else {
      picked = all.filter(([, d]) => [2, 3].includes((d.shape ?? []).length) && !d.dtype.toString().startsWith('S')).map(([p, d]) => [p, d, channelName(p.split('/').pop()!)] as [string, Dataset, string]).filter(([, , n]) => n === 'HAADF' || isElement(n));
      if (o.channels) picked = picked.filter(([, , n]) => o.channels!.includes(n));
      if (picked.length === 0) {
        const emd = all.find(([p]) => /^\/data\/[^/]+\/data$/.test(p));
        if (emd && !o.channels) picked = [[emd[0], emd[1], channelName(emd[0].split('/')[2])]];
        else throw new FormatError(path, F, `no channel arrays${o.channels ? ` named ${o.channels.join(', ')}` : ''} (arrays named HAADF or an element symbol); name one with --dataset (arrays: ${all.map(([p]) => p).slice(0, 8).join(', ') || 'none'})`);
      }
    }
    const sh0 = picked[0][1].shape!;
    const shape: [number, number, number] = sh0.length === 2 ? [1, sh0[0], sh0[1]] : [sh0[0], sh0[1], sh0[2]];
    if (sh0.length < 2 || sh0.length > 3) throw new FormatError(path, F, `${picked[0][0]} has shape [${sh0.join(', ')}]; expected a 2-D image or a 3-D stack [angle, row, col]`);
    const names = new Set<string>();
    const channels = picked.map(([p, d, n]) => {
      if ((d.shape ?? []).join() !== sh0.join()) throw new FormatError(path, F, `${p} has shape [${d.shape?.join(', ')}], ${picked[0][0]} has [${sh0.join(', ')}]; channels must match`);
      const name = names.has(n) ? p : n;
      names.add(name);
      return { name, data: values(d, path, F, p) };
    });
    let angles: Float64Array | undefined, anglesFrom: string | undefined;
    const grp = picked[0][0].replace(/\/[^/]+$/, '');
    for (let k = 1; k <= sh0.length; k++) {
      const dm = f.get(`${grp}/dim${k}`);
      if (isDataset(dm) && String(str(attr(dm, 'units')) ?? '').includes('deg')) { angles = Float64Array.from(dm.value as ArrayLike<number>); anglesFrom = `${path} ${grp}/dim${k}`; }
    }
    if (!angles) {
      const a = all.find(([p, d]) => ANGLE_NAME.test(p.split('/').pop()!) && (d.shape ?? []).reduce((x, y) => x * y, 1) === shape[0]);
      if (a) { angles = Float64Array.from(a[1].value as ArrayLike<number>, Number); anglesFrom = `${path} ${a[0]}`; }
    }
    return { file: path, format: F, channels, shape, ...(angles ? { angles, anglesFrom } : {}) };
  } finally {
    f.close();
  }
}

const SYMBOLS = new Set('H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr'.split(' '));
export const isElement = (s: string): boolean => SYMBOLS.has(s);
