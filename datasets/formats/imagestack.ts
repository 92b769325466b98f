/**
 * Reading user image stacks (tilt series or volumes) from MRC, TIFF (multi-page, formats/tiff/tiff.ts) or
 * HDF5 (a named dataset; EMD files are understood).
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { readMrc, readTlt } from './mrc/mrc.ts';
import { readTiff } from './tiff/tiff.ts';
import { ConfigError } from '../../core/validate.ts';

export interface ImageStack {
  /** float32, C-order over `shape` (for a stack: [image, row, col]). */
  data: Float32Array;
  shape: number[];
  /** Tilt angles in degrees when the file (or a .tlt beside it) gives them. */
  angles?: Float64Array;
  /** Pixel size in nm when the file is calibrated (ImageJ TIFF: unit + XResolution). */
  pixelSizeNm?: number;
}

function tltBeside(path: string): Float64Array | undefined {
  const ext = extname(path);
  const p = ext ? path.slice(0, -ext.length) + '.tlt' : path + '.tlt';
  return existsSync(p) ? readTlt(p) : undefined;
}

/**
 * Reads an image stack. `.mrc/.mrcs/.st/.ali/.rec` as MRC (angles from a .tlt beside it),
 * `.tif/.tiff` as a multi-page TIFF (all pages the same size; 8/16/32-bit integers or 32/64-bit
 * floats, one sample per pixel), `.h5/.hdf5/.emd` as HDF5: `opts.dataset` names the dataset
 * (default: the first of /data/*\/data in EMD files); angles from an EMD dim with units [deg].
 */
export async function readImageStack(path: string, opts: { dataset?: string } = {}): Promise<ImageStack> {
  if (!existsSync(path)) throw new ConfigError(path, `no such file`);
  const ext = extname(path).toLowerCase();
  if (['.mrc', '.mrcs', '.st', '.ali', '.rec', '.map'].includes(ext)) {
    const m = readMrc(path);
    const angles = tltBeside(path);
    return { data: m.data, shape: [...m.shape], ...(angles ? { angles } : {}) };
  }
  if (ext === '.tif' || ext === '.tiff') return readTiffStack(path);
  if (['.h5', '.hdf5', '.emd', '.hdf'].includes(ext)) return readHdf5Stack(path, opts.dataset);
  throw new ConfigError(path, `unknown image format ${ext || '(no extension)'}; readable: .mrc/.mrcs/.st/.ali/.rec, .tif/.tiff, .h5/.hdf5/.emd`);
}

async function readTiffStack(path: string): Promise<ImageStack> {
  const t = await readTiff(path);
  const angles = tltBeside(path);
  return { data: t.data, shape: t.shape, ...(angles ? { angles } : {}), ...(t.pixelSizeNm ? { pixelSizeNm: t.pixelSizeNm } : {}) };
}

async function readHdf5Stack(path: string, dataset?: string): Promise<ImageStack> {
  const { h5ready } = await import('./hdf5/emd.ts');
  const h5 = await h5ready();
  const f = new h5.File(path, 'r');
  try {
    let name = dataset;
    if (!name) {
      const data = f.get('data');
      const groups = data && 'keys' in data ? (data as { keys(): string[] }).keys() : [];
      const pick = ['tilt_noisy', 'tilt_clean', 'phantom', ...groups].find((g) => f.get(`data/${g}/data`));
      if (!pick) throw new ConfigError(path, `name the dataset to read (e.g. { dataset: '/data/tilt/data' }); no /data/*/data found`);
      name = `data/${pick}/data`;
    }
    const ds = f.get(name) as import('h5wasm/node').Dataset | null;
    if (!ds || !('shape' in ds)) throw new ConfigError(path, `no dataset ${name}`);
    const shape = ds.shape ?? [];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n * 4 > 1.5e9) throw new ConfigError(path, `${name} is ${shape.join('x')}, too large to read whole (h5wasm heap is about 2 GB)`);
    const v = ds.value as ArrayLike<number | bigint>;
    const data = v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>, (x) => Number(x));
    // Angles: a sibling dimN with units [deg] (EMD).
    let angles: Float64Array | undefined;
    const grp = name.replace(/\/?[^/]+$/, '');
    for (let k = 1; k <= shape.length; k++) {
      const dm = f.get(`${grp}/dim${k}`) as import('h5wasm/node').Dataset | null;
      const units = dm?.attrs?.['units']?.value;
      if (dm && typeof units === 'string' && units.includes('deg')) angles = Float64Array.from(dm.value as ArrayLike<number>);
    }
    return { data, shape, ...(angles ? { angles } : {}) };
  } finally {
    f.close();
  }
}
