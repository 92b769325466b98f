/**
 * Reading user image stacks (tilt series or volumes) from MRC, TIFF (multi-page, via utif2) or
 * HDF5 (a named dataset; EMD files are understood), and writing float32 TIFF stacks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { writeFileAtomic } from '../../core/atomic.ts';
import { readMrc, readTlt } from './mrc.ts';

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
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const ext = extname(path).toLowerCase();
  if (['.mrc', '.mrcs', '.st', '.ali', '.rec', '.map'].includes(ext)) {
    const m = readMrc(path);
    const angles = tltBeside(path);
    return { data: m.data, shape: [...m.shape], ...(angles ? { angles } : {}) };
  }
  if (ext === '.tif' || ext === '.tiff') return readTiffStack(path);
  if (['.h5', '.hdf5', '.emd', '.hdf'].includes(ext)) return readHdf5Stack(path, opts.dataset);
  throw new Error(`${path}: unknown image format ${ext || '(no extension)'}; readable: .mrc/.mrcs/.st/.ali/.rec, .tif/.tiff, .h5/.hdf5/.emd`);
}

async function readTiffStack(path: string): Promise<ImageStack> {
  const UTIF = (await import('utif2')).default as typeof import('utif2');
  const buf = readFileSync(path);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const ifds = UTIF.decode(ab).filter((d) => d.t256 !== undefined);
  if (ifds.length === 0) throw new Error(`${path}: no images in this TIFF`);
  let w = 0, h = 0;
  const pages: Float32Array[] = [];
  for (const [k, ifd] of ifds.entries()) {
    UTIF.decodeImage(ab, ifd);
    const bits = (ifd.t258 as number[] | undefined)?.[0] ?? 1;
    const spp = (ifd.t277 as number[] | undefined)?.[0] ?? 1;
    const fmt = (ifd.t339 as number[] | undefined)?.[0] ?? 1;
    if (spp !== 1) throw new Error(`${path}: page ${k} has ${spp} samples per pixel; only greyscale stacks are read`);
    if (k === 0) [w, h] = [ifd.width, ifd.height];
    else if (ifd.width !== w || ifd.height !== h) throw new Error(`${path}: page ${k} is ${ifd.width}x${ifd.height}, page 0 is ${w}x${h}`);
    const d = ifd.data;
    const le = !(buf[0] === 0x4d && buf[1] === 0x4d);
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const n = w * h;
    const out = new Float32Array(n);
    const bps = bits / 8;
    if (d.byteLength < n * bps) throw new Error(`${path}: page ${k} holds ${d.byteLength} bytes, ${w}x${h}x${bits}-bit needs ${n * bps}`);
    for (let i = 0; i < n; i++) {
      const o = i * bps;
      if (fmt === 3) out[i] = bits === 64 ? v.getFloat64(o, le) : v.getFloat32(o, le);
      else if (fmt === 2) out[i] = bits === 8 ? v.getInt8(o) : bits === 16 ? v.getInt16(o, le) : v.getInt32(o, le);
      else out[i] = bits === 8 ? v.getUint8(o) : bits === 16 ? v.getUint16(o, le) : v.getUint32(o, le);
    }
    pages.push(out);
  }
  const data = new Float32Array(pages.length * w * h);
  pages.forEach((p, k) => data.set(p, k * w * h));
  const angles = tltBeside(path);
  const pixelSizeNm = imagejPixelNm(ifds[0]);
  return { data, shape: [pages.length, h, w], ...(angles ? { angles } : {}), ...(pixelSizeNm ? { pixelSizeNm } : {}) };
}

const UNIT_NM: Record<string, number> = { nm: 1, nanometer: 1, a: 0.1, 'å': 0.1, angstrom: 0.1, '\\u00c5': 0.1, um: 1e3, 'µm': 1e3, micron: 1e3, microns: 1e3 };

/** ImageJ calibration: the description's `unit=` and XResolution (pixels per unit). */
function imagejPixelNm(ifd: Record<string, unknown>): number | undefined {
  const d = ifd.t270 as string[] | string | undefined;
  const desc = Array.isArray(d) ? d[0] : d;
  if (typeof desc !== 'string' || !desc.startsWith('ImageJ=')) return undefined;
  const unit = /(?:^|\n)unit=([^\n]*)/.exec(desc)?.[1]?.trim().toLowerCase();
  const r = (ifd.t282 as ([number, number] | number)[] | undefined)?.[0];
  const res = Array.isArray(r) ? r[0] / r[1] : r;
  return unit && UNIT_NM[unit] && res && res > 0 ? UNIT_NM[unit] / res : undefined;
}

async function readHdf5Stack(path: string, dataset?: string): Promise<ImageStack> {
  const { h5ready } = await import('./emd.ts');
  const h5 = await h5ready();
  const f = new h5.File(path, 'r');
  try {
    let name = dataset;
    if (!name) {
      const data = f.get('data');
      const groups = data && 'keys' in data ? (data as { keys(): string[] }).keys() : [];
      const pick = ['tilt_noisy', 'tilt_clean', 'phantom', ...groups].find((g) => f.get(`data/${g}/data`));
      if (!pick) throw new Error(`${path}: name the dataset to read (e.g. { dataset: '/data/tilt/data' }); no /data/*/data found`);
      name = `data/${pick}/data`;
    }
    const ds = f.get(name) as import('h5wasm/node').Dataset | null;
    if (!ds || !('shape' in ds)) throw new Error(`${path}: no dataset ${name}`);
    const shape = ds.shape ?? [];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n * 4 > 1.5e9) throw new Error(`${path}: ${name} is ${shape.join('x')}, too large to read whole (h5wasm heap is about 2 GB)`);
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

/**
 * Writes a float32 multi-page baseline TIFF (uncompressed, one strip per page, little-endian,
 * SampleFormat 3 = IEEE float), readable by Fiji/ImageJ and tifffile. `shape` = [pages, h, w].
 * With `pixelSizeNm` the file is calibrated the way ImageJ reads it (ImageJ 1.x TIFF convention,
 * ij/io/TiffEncoder.java): ImageDescription `ImageJ=1.11a images=P slices=P unit=nm spacing=...`
 * on the first page, XResolution = YResolution = 1 / pixel size (pixels per unit), ResolutionUnit
 * none; `spacing` is the slice spacing (the pixel size for a volume, 1 for a stack of projections).
 */
export function writeTiffStack(path: string, data: Float32Array, shape: [number, number, number], opts: { pixelSizeNm?: number; kind?: 'volume' | 'stack' } = {}): void {
  const [P, h, w] = shape;
  if (data.length !== P * h * w) throw new Error(`TIFF data has ${data.length} values, shape ${shape.join('x')} needs ${P * h * w}`);
  const px = opts.pixelSizeNm;
  if (px !== undefined && !(px > 0 && Number.isFinite(px))) throw new Error(`TIFF pixelSizeNm must be > 0, got ${px}`);
  // Shared block after the header: the ImageJ description and the resolution rational.
  const desc = px ? `ImageJ=1.11a\nimages=${P}\nslices=${P}\nunit=nm\nspacing=${opts.kind === 'volume' ? px : 1}\nloop=false\n\0` : '';
  const descBytes = desc.length + (desc.length % 2);
  const shared = 8 + descBytes + (px ? 8 : 0);
  const tagsFor = (p: number) => 10 + (px ? 3 + (p === 0 ? 1 : 0) : 0);
  let total = shared;
  for (let p = 0; p < P; p++) total += 2 + tagsFor(p) * 12 + 4 + w * h * 4;
  const buf = new ArrayBuffer(total);
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  u8[0] = 0x49; u8[1] = 0x49; v.setUint16(2, 42, true); v.setUint32(4, shared, true);
  const descOff = 8, resOff = 8 + descBytes;
  for (let i = 0; i < desc.length; i++) u8[descOff + i] = desc.charCodeAt(i);
  if (px) {
    // pixels per nm as a rational with denominator 1e6 (exact for sizes like 0.25 nm, 1e-6 relative otherwise)
    v.setUint32(resOff, Math.max(1, Math.round(1e6 / px)), true); v.setUint32(resOff + 4, 1e6, true);
  }
  const page = w * h * 4;
  let o = shared;
  for (let p = 0; p < P; p++) {
    const nTags = tagsFor(p);
    const ifd = o, dataOff = ifd + 2 + nTags * 12 + 4;
    v.setUint16(ifd, nTags, true);
    // [tag, type, count, value or offset]; ascending tag order as TIFF 6.0 requires
    const tags: [number, number, number, number][] = [
      [256, 4, 1, w], [257, 4, 1, h], [258, 3, 1, 32], [259, 3, 1, 1], [262, 3, 1, 1],
      ...(px && p === 0 ? [[270, 2, desc.length, descOff] as [number, number, number, number]] : []),
      [273, 4, 1, dataOff], [277, 3, 1, 1], [278, 4, 1, h], [279, 4, 1, page],
      ...(px ? ([[282, 5, 1, resOff], [283, 5, 1, resOff], [296, 3, 1, 1]] as [number, number, number, number][]) : []),
      [339, 3, 1, 3],
    ];
    tags.forEach(([tag, type, count, val], k) => {
      const e = ifd + 2 + 12 * k;
      v.setUint16(e, tag, true); v.setUint16(e + 2, type, true); v.setUint32(e + 4, count, true);
      if (type === 3) v.setUint16(e + 8, val, true); else v.setUint32(e + 8, val, true);
    });
    const next = p + 1 < P ? dataOff + page : 0;
    v.setUint32(ifd + 2 + 12 * nTags, next, true);
    const src = data.subarray(p * w * h, (p + 1) * w * h);
    for (let i = 0; i < w * h; i++) v.setFloat32(dataOff + 4 * i, src[i], true);
    o = dataOff + page;
  }
  writeFileAtomic(path, u8);
}
