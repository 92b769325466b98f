/**
 * What the full readers (hdf5.ts) and `inspect`'s partial reader (../probe.ts) both need from an
 * HDF5 file's metadata, written once: h5wasm object tests, attribute and string access, length
 * units, Velox images' per-frame JSON metadata, and HyperSpy's per-experiment layout (shape and axes: tilt angles from the navigation
 * axis, pixel size from the signal axis).
 */
import { FormatError } from '../types.ts';

type Dataset = import('h5wasm/node').Dataset;
type Group = import('h5wasm/node').Group;

export const isDataset = (x: unknown): x is Dataset => !!x && typeof x === 'object' && 'shape' in (x as object) && 'dtype' in (x as object);
export const isGroup = (x: unknown): x is Group => !!x && typeof x === 'object' && 'keys' in (x as object) && !isDataset(x);
export const attr = (o: { attrs?: Record<string, { value: unknown }> } | null | undefined, k: string): unknown => o?.attrs?.[k]?.value;
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v).replace(/\0+$/, '') : undefined);
/** Nanometres per unit of the length units files use. */
export const LENGTH_NM: Record<string, number> = { m: 1e9, mm: 1e6, um: 1e3, 'µm': 1e3, nm: 1, a: 0.1, 'å': 0.1, angstrom: 0.1, pm: 1e-3 };

/**
 * One HyperSpy experiment /Experiments/TITLE: its data shape as [tilt, y, x] (a single image is
 * one tilt), the tilt angles in degrees when the navigation axis (axis-0 of a 3-D signal) has
 * degree or radian units, and the pixel size in nm from the last (signal) axis when it has a
 * length unit. A data rank other than 2 or 3 is one FormatError line naming the file.
 */
export function hspyExperiment(g: Group, d: Dataset, path: string, format: string, title: string): { shape: [number, number, number]; rank: number; angles?: Float64Array; pixelSizeNm?: number } {
  const sh = d.shape ?? [];
  if (sh.length !== 2 && sh.length !== 3) throw new FormatError(path, format, `/Experiments/${title}/data has shape [${sh.join(', ')}]; expected [tilt, y, x] or [y, x]`);
  const shape: [number, number, number] = sh.length === 2 ? [1, sh[0], sh[1]] : [sh[0], sh[1], sh[2]];
  const axes = sh.map((_, k) => g.get(`axis-${k}`) as Group | null);
  let angles: Float64Array | undefined, pixelSizeNm: number | undefined;
  if (sh.length === 3 && axes[0]) {
    const units = String(str(attr(axes[0], 'units')) ?? '').toLowerCase(), scale = Number(attr(axes[0], 'scale')), offset = Number(attr(axes[0], 'offset'));
    const toDeg = units.startsWith('deg') || units === '°' ? 1 : units.startsWith('rad') ? 180 / Math.PI : undefined;
    if (toDeg && Number.isFinite(scale) && Number.isFinite(offset)) angles = Float64Array.from({ length: sh[0] }, (_, i) => (offset + i * scale) * toDeg);
  }
  const sig = axes.at(-1);
  const unit = String(str(attr(sig, 'units')) ?? '').toLowerCase(), scale = Number(attr(sig, 'scale'));
  if (LENGTH_NM[unit] && scale > 0) pixelSizeNm = scale * LENGTH_NM[unit];
  return { shape, rank: sh.length, ...(angles ? { angles } : {}), ...(pixelSizeNm !== undefined ? { pixelSizeNm } : {}) };
}

/** Column `j` of a uint8 array of shape (length, n) as text, cut at its first NUL (Velox stores JSON this way). */
export function columnText(m: Uint8Array, shape: readonly number[], j: number): string {
  const L = shape[0], n = shape[1] ?? 1;
  const bytes = new Uint8Array(L);
  for (let i = 0; i < L; i++) bytes[i] = m[i * n + j];
  return new TextDecoder().decode(bytes).replace(/\0[\s\S]*$/, '');
}

/**
 * A Velox image's /Data/Image/<uuid>/Metadata values (uint8, (length, frames): one JSON text per
 * frame) read as the detector name (BinaryResult.Detector), the pixel size in nm
 * (BinaryResult.PixelSize.width in PixelUnitX, metres when absent) and the tilt per frame in degrees
 * (Stage.AlphaTilt, radians in the file) when all `nFrames` give one. A frame that is not JSON is
 * one FormatError line naming the file.
 */
export function veloxImageMeta(m: Uint8Array, shape: readonly number[], nFrames: number, path: string, format: string, uuid: string): { detector?: string; pixelSizeNm?: number; angles?: Float64Array } {
  const frames: Record<string, any>[] = [];
  for (let j = 0; j < (shape[1] ?? 1); j++) {
    try {
      frames.push(JSON.parse(columnText(m, shape, j)));
    } catch {
      throw new FormatError(path, format, `/Data/Image/${uuid}/Metadata frame ${j} is not JSON`);
    }
  }
  const br = frames[0]?.BinaryResult ?? {};
  const w = Number(br.PixelSize?.width), unit = String(br.PixelUnitX ?? 'm').toLowerCase();
  const tilts = frames.map((fr) => Number(fr?.Stage?.AlphaTilt));
  return {
    ...(br.Detector !== undefined ? { detector: String(br.Detector) } : {}),
    ...(w > 0 && LENGTH_NM[unit] ? { pixelSizeNm: w * LENGTH_NM[unit] } : {}),
    ...(tilts.length === nFrames && tilts.every(Number.isFinite) ? { angles: Float64Array.from(tilts, (t) => (t * 180) / Math.PI) } : {}),
  };
}
