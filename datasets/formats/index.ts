/**
 * The one reader layer for users' tilt series: which files are which format (one extension list),
 * one reader per format, and one error type naming the file, the format tried and what was found.
 *
 *   const s = await readTiltStack('series.emd');                 // channels HAADF, Au, ... with angles, pixel size
 *   const s = await readTiltStack('tilt.mat', { channels: ['HAADF', 'Au'] });
 *   const s = await readChannelFiles('HAADF=a.mrc,Au=b.mrc');      // one file per channel, a .tlt beside the first
 *
 * Formats (decided by content where the extension is ambiguous): MRC 2014 (.mrc .mrcs .st .ali .rec
 * .map), multi-page TIFF (.tif .tiff), MATLAB v5 and v7.3 (.mat), Velox .emd, HyperSpy .hspy,
 * other HDF5 with named channels or `dataset` (.h5 .hdf5 .hdf .emd). nanodose datasets (a directory
 * or a shard written by `generate`) are read by datasets/reader.ts: `isNanodoseDataset` tells them apart.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { FormatError, type FormatName, type TiltStack } from './types.ts';

export { FormatError, channelName, type FormatName, type TiltStack } from './types.ts';
export { readMat5, isMat5, type MatVariable } from './matlab/mat5.ts';

export const MRC_EXT = ['.mrc', '.mrcs', '.st', '.ali', '.rec', '.map'] as const;
export const TIFF_EXT = ['.tif', '.tiff'] as const;
export const MAT_EXT = ['.mat'] as const;
export const HDF5_EXT = ['.h5', '.hdf5', '.hdf', '.emd', '.hspy'] as const;
/** Every extension a user's tilt series may have. */
export const INPUT_EXT = [...MRC_EXT, ...TIFF_EXT, ...MAT_EXT, ...HDF5_EXT] as const;
const has = (list: readonly string[], ext: string) => list.includes(ext);
export const isMrcPath = (p: string): boolean => has(MRC_EXT, extname(p).toLowerCase());
export const isTiffPath = (p: string): boolean => has(TIFF_EXT, extname(p).toLowerCase());
export const isHdf5Path = (p: string): boolean => has(HDF5_EXT, extname(p).toLowerCase());

const HDF5_SIG = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function head(path: string, n: number, at = 0): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const b = new Uint8Array(n);
    const got = readSync(fd, b, 0, n, at);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** HDF5's signature sits at byte 0, 512, 1024, 2048, ... (after a user block, as in MATLAB v7.3). */
function isHdf5File(path: string): boolean {
  const size = statSync(path).size;
  for (let at = 0; at + 8 <= size && at <= 1 << 20; at = at === 0 ? 512 : at * 2) {
    const b = head(path, 8, at);
    if (HDF5_SIG.every((x, i) => b[i] === x)) return true;
  }
  return false;
}

/** The format of a file, from its content (extension only to tell MRC, which has no signature). */
export async function detectFormat(path: string): Promise<FormatName | 'nanodose-dataset'> {
  if (!existsSync(path)) throw new FormatError(path, 'input', 'no such file or directory');
  if (statSync(path).isDirectory()) return 'nanodose-dataset';
  const ext = extname(path).toLowerCase();
  const h = head(path, 128);
  if (h.length >= 4 && ((h[0] === 0x49 && h[1] === 0x49 && h[2] === 42) || (h[0] === 0x4d && h[1] === 0x4d && h[3] === 42))) return 'tiff';
  const { isMat5 } = await import('./matlab/mat5.ts');
  if (isMat5(h)) return 'mat-v5';
  if (isHdf5File(path)) {
    const { hdf5Layout } = await import('./hdf5/hdf5.ts');
    const layout = await hdf5Layout(path);
    return layout === 'hdf5' && ext === '.mat' ? 'mat-v7.3' : layout;
  }
  if (has(MRC_EXT, ext)) return 'mrc';
  const what = h.length === 0 ? 'an empty file' : `no MRC extension, TIFF, MATLAB or HDF5 signature`;
  throw new FormatError(path, 'input', `unknown format (${what}); readable: ${INPUT_EXT.join(' ')} or a nanodose dataset directory`);
}

/** True for a nanodose dataset (a directory or a shard .h5 written by `generate`). */
export async function isNanodoseDataset(path: string): Promise<boolean> {
  return (await detectFormat(path)) === 'nanodose-dataset';
}

/**
 * Reads a user's tilt series (any format above, not a nanodose dataset) as named channels.
 * `channels` keeps those channels (in that order; a missing one is an error naming it); `dataset`
 * names the array of an HDF5 file.
 */
export async function readTiltStack(path: string, o: { channels?: string[]; dataset?: string } = {}): Promise<TiltStack> {
  const fmt = await detectFormat(path);
  if (o.dataset !== undefined && !['hdf5', 'mat-v7.3', 'emd-velox', 'hspy'].includes(fmt)) throw new FormatError(path, fmt, `--dataset names an array inside an HDF5 file; this file is ${fmt}`);
  let s: TiltStack;
  if (o.dataset !== undefined && fmt !== 'hdf5') {
    // A named array: read as plain HDF5 whatever the layout around it.
    const { readHdf5Channels } = await import('./hdf5/hdf5.ts');
    return pick({ ...(await readHdf5Channels(path, { dataset: o.dataset })), format: fmt as FormatName }, o.channels);
  }
  switch (fmt) {
    case 'nanodose-dataset':
      throw new FormatError(path, fmt, 'is a nanodose dataset; read it with openDataset (datasets/reader.ts)');
    case 'mrc': {
      const { readMrc } = await import('./mrc/mrc.ts');
      let m: ReturnType<typeof readMrc>;
      try {
        m = readMrc(path);
      } catch (e) {
        throw new FormatError(path, 'mrc', (e as Error).message.replace(`${path}: `, ''));
      }
      s = { file: path, format: 'mrc', channels: [{ name: 'stack', data: m.data }], shape: [...m.shape], ...(m.voxelSizeAngstrom > 0 && m.header.cella[0] > 0 ? { pixelSizeNm: m.voxelSizeAngstrom / 10 } : {}) };
      break;
    }
    case 'tiff': {
      const { readImageStack } = await import('./imagestack.ts');
      let t: Awaited<ReturnType<typeof readImageStack>>;
      try {
        t = await readImageStack(path, {});
      } catch (e) {
        throw new FormatError(path, 'tiff', (e as Error).message.replace(`${path}: `, ''));
      }
      const sh = t.shape.length === 2 ? [1, ...t.shape] : t.shape;
      s = { file: path, format: 'tiff', channels: [{ name: 'stack', data: t.data }], shape: sh as [number, number, number], ...(t.pixelSizeNm ? { pixelSizeNm: t.pixelSizeNm } : {}) };
      break;
    }
    case 'mat-v5': {
      const { readMat5File } = await import('./matlab/matlab.ts');
      s = await readMat5File(path, o.channels);
      break;
    }
    case 'mat-v7.3': {
      const { readMat73 } = await import('./hdf5/hdf5.ts');
      const { matToStack } = await import('./matlab/matlab.ts');
      s = matToStack(path, 'mat-v7.3', await readMat73(path), o.channels);
      break;
    }
    case 'emd-velox': {
      const { readVelox } = await import('./hdf5/hdf5.ts');
      s = await readVelox(path, o.channels);
      break;
    }
    case 'hspy': {
      const { readHspy } = await import('./hdf5/hdf5.ts');
      s = await readHspy(path, o.channels);
      break;
    }
    default: {
      const { readHdf5Channels } = await import('./hdf5/hdf5.ts');
      s = await readHdf5Channels(path, o);
    }
  }
  return pick(s, o.channels);
}

/** Keeps (and orders) the wanted channels; a single unnamed stack takes the one name asked for. */
function pick(s: TiltStack, want?: string[]): TiltStack {
  if (!want) return s;
  if (s.channels.length === 1 && s.channels[0].name === 'stack' && want.length === 1) return { ...s, channels: [{ name: want[0], data: s.channels[0].data }] };
  const missing = want.filter((w) => !s.channels.some((c) => c.name === w));
  if (missing.length) throw new FormatError(s.file, s.format, `channel ${missing.join(', ')} missing (the file has ${s.channels.map((c) => c.name).join(', ')})`);
  return { ...s, channels: want.map((w) => s.channels.find((c) => c.name === w)!) };
}

/** `HAADF=a.mrc,Au=b.mrc` as [name, file] pairs; throws naming the bad entry. */
export function parseChannelFiles(spec: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of spec.split(',').filter((p) => p.trim())) {
    const m = /^\s*([^=\s]+)\s*=\s*(.+?)\s*$/.exec(part);
    if (!m) throw new FormatError(spec, 'channel-files', `entry ${JSON.stringify(part)} is not NAME=FILE`);
    if (out.some(([n]) => n === m[1])) throw new FormatError(spec, 'channel-files', `channel ${m[1]} given twice`);
    out.push([m[1], m[2]]);
  }
  if (out.length === 0) throw new FormatError(spec, 'channel-files', 'no NAME=FILE entries');
  return out;
}

/** True when a --channels value lists files (NAME=FILE,...) rather than channel names. */
export const isChannelFileSpec = (spec: string): boolean => spec.includes('=');

/**
 * One file per channel: each file holds one stack (its only channel, or the channel of its name);
 * all the same shape. Angles and pixel size from the first file that records them.
 */
export async function readChannelFiles(spec: string | [string, string][], o: { dataset?: string } = {}): Promise<TiltStack> {
  const pairs = typeof spec === 'string' ? parseChannelFiles(spec) : spec;
  const stacks: TiltStack[] = [];
  for (const [name, file] of pairs) {
    const s = await readTiltStack(file, { dataset: o.dataset });
    const ch = s.channels.length === 1 ? s.channels[0] : s.channels.find((c) => c.name === name);
    if (!ch) throw new FormatError(file, s.format, `holds channels ${s.channels.map((c) => c.name).join(', ')}; none is ${name} (give a file with one stack, or the channel's own name)`);
    if (stacks.length && s.shape.join() !== stacks[0].shape.join()) throw new FormatError(file, s.format, `${name} is ${s.shape.join('x')}, ${pairs[0][0]} (${pairs[0][1]}) is ${stacks[0].shape.join('x')}; channels must match`);
    stacks.push({ ...s, channels: [{ name, data: ch.data }] });
  }
  const withAngles = stacks.find((s) => s.angles);
  const withPx = stacks.find((s) => s.pixelSizeNm);
  return {
    file: pairs.map(([, f]) => f).join(','),
    format: 'channel-files',
    channels: stacks.map((s) => s.channels[0]),
    shape: stacks[0].shape,
    ...(withAngles ? { angles: withAngles.angles, anglesFrom: withAngles.anglesFrom } : {}),
    ...(withPx ? { pixelSizeNm: withPx.pixelSizeNm } : {}),
  };
}
