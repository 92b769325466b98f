/**
 * MRC 2014 files (IMOD, Tomviz, ImageJ, ChimeraX, mrcfile) and IMOD `.tlt` tilt-angle files.
 *
 * Header (1024 bytes, little-endian, science.md section 8; Cheng et al., J. Struct. Biol. 192
 * (2015) 146, "MRC2014: Extensions to the MRC format header for electron cryo-microscopy"):
 *   words 1-3 nx ny nz (columns, rows, sections: x fastest), 4 mode (2 = float32),
 *   5-7 nxstart..nzstart = 0, 8-10 mx my mz (sampling: mz = nz for a volume, 1 for a stack),
 *   11-13 cella (cell size in angstrom, so voxel size = cella / m), 14-16 cellb = 90 degrees,
 *   17-19 mapc mapr maps = 1 2 3, 20-22 dmin dmax dmean, 23 ispg (0 image stack, 1 volume),
 *   24 nsymbt (extended header bytes, 0), byte 104 exttyp, byte 108 nversion = 20141,
 *   bytes 196-207 origin, 208 "MAP ", 212 machst 0x44 0x44 0 0, 216 rms (standard deviation
 *   about dmean), 220 nlabl, 224.. ten 80-character labels.
 * Data: nz sections of ny rows of nx values, so an array in [z, y, x] order is written as is.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../../core/atomic.ts';
import { ConfigError, InternalError } from '../../../core/validate.ts';

export const MRC_HEADER_BYTES = 1024;

export interface MrcWriteOptions {
  /** Voxel (pixel) size in angstrom; cella = n * voxelSizeAngstrom. */
  voxelSizeAngstrom: number;
  /** 'volume' (ispg 1, mz = nz) or 'stack' (an image stack such as a tilt series: ispg 0, mz = 1). */
  kind: 'volume' | 'stack';
  /** Text labels (at most 10, each cut to 80 characters). */
  labels?: string[];
}

export interface MrcHeader {
  nx: number; ny: number; nz: number;
  mode: number;
  mx: number; my: number; mz: number;
  cella: [number, number, number];
  cellb: [number, number, number];
  mapc: number; mapr: number; maps: number;
  dmin: number; dmax: number; dmean: number; rms: number;
  ispg: number;
  nsymbt: number;
  exttyp: string;
  nversion: number;
  origin: [number, number, number];
  map: string;
  machst: [number, number, number, number];
  labels: string[];
}

/** dmin, dmax, dmean and rms (population standard deviation about the mean), accumulated in float64. */
export function arrayStats(data: ArrayLike<number>): { dmin: number; dmax: number; dmean: number; rms: number } {
  let mn = Infinity, mx = -Infinity, s = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < mn) mn = v;
    if (v > mx) mx = v;
    s += v;
  }
  const n = Math.max(1, data.length);
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    const d = data[i] - mean;
    ss += d * d;
  }
  return { dmin: data.length ? mn : 0, dmax: data.length ? mx : 0, dmean: mean, rms: Math.sqrt(ss / n) };
}

/** The 1024-byte MRC 2014 header for a float32 array of `shape` = [nz, ny, nx]. */
export function mrcHeader(data: Float32Array, shape: [number, number, number], opts: MrcWriteOptions): Uint8Array {
  const [nz, ny, nx] = shape;
  if (![nz, ny, nx].every((n) => Number.isInteger(n) && n > 0)) throw new InternalError(`MRC shape must be three positive integers, got ${shape.join('x')}`);
  if (data.length !== nz * ny * nx) throw new InternalError(`MRC data has ${data.length} values, shape ${nz}x${ny}x${nx} needs ${nz * ny * nx}`);
  if (!(opts.voxelSizeAngstrom > 0)) throw new InternalError(`MRC voxelSizeAngstrom must be > 0, got ${opts.voxelSizeAngstrom}`);
  const buf = new ArrayBuffer(MRC_HEADER_BYTES);
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  const i32 = (word: number, x: number) => v.setInt32((word - 1) * 4, x, true);
  const f32 = (word: number, x: number) => v.setFloat32((word - 1) * 4, x, true);
  const mz = opts.kind === 'volume' ? nz : 1;
  const st = arrayStats(data);
  i32(1, nx); i32(2, ny); i32(3, nz);
  i32(4, 2);
  i32(5, 0); i32(6, 0); i32(7, 0);
  i32(8, nx); i32(9, ny); i32(10, mz);
  f32(11, nx * opts.voxelSizeAngstrom); f32(12, ny * opts.voxelSizeAngstrom); f32(13, mz * opts.voxelSizeAngstrom);
  f32(14, 90); f32(15, 90); f32(16, 90);
  i32(17, 1); i32(18, 2); i32(19, 3);
  f32(20, st.dmin); f32(21, st.dmax); f32(22, st.dmean);
  i32(23, opts.kind === 'volume' ? 1 : 0);
  i32(24, 0);
  v.setInt32(108, 20141, true);
  // origin (words 50-52) left 0; map id and machine stamp
  u8.set([0x4d, 0x41, 0x50, 0x20], 208); // "MAP "
  u8.set([0x44, 0x44, 0x00, 0x00], 212);
  v.setFloat32(216, st.rms, true);
  const labels = (opts.labels ?? []).slice(0, 10);
  v.setInt32(220, labels.length, true);
  labels.forEach((l, k) => {
    const s = l.replace(/[^\x20-\x7e]/g, '?').slice(0, 80).padEnd(80, ' ');
    for (let c = 0; c < 80; c++) u8[224 + 80 * k + c] = s.charCodeAt(c);
  });
  return u8;
}

/**
 * Writes a float32 MRC 2014 file atomically. `shape` = [nz, ny, nx]; for a tilt series
 * [angle, row, col] use kind 'stack' (and writeTlt for the angles).
 */
export function writeMrc(path: string, data: Float32Array, shape: [number, number, number], opts: MrcWriteOptions): void {
  const header = mrcHeader(data, shape, opts);
  const out = new Uint8Array(MRC_HEADER_BYTES + data.byteLength);
  out.set(header, 0);
  // Data in little-endian float32 (the machine stamp says so; Node on x86/ARM is little-endian).
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), MRC_HEADER_BYTES);
  writeFileAtomic(path, out);
}

/** Parses an MRC header (either endianness, judged from the machine stamp). */
export function parseMrcHeader(bytes: Uint8Array): MrcHeader & { littleEndian: boolean } {
  if (bytes.length < MRC_HEADER_BYTES) throw new ConfigError('not an MRC file', `${bytes.length} bytes, the header alone is 1024`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, MRC_HEADER_BYTES);
  // machst 0x11 0x11 = big-endian; anything else (0x44 0x44, 0x44 0x41, zeros in old files) little.
  let le = bytes[212] !== 0x11;
  if (bytes[212] === 0 && bytes[213] === 0) {
    // Old files without a stamp: pick the byte order whose mode is plausible.
    const m = v.getInt32(12, true);
    le = m >= 0 && m <= 16;
  }
  const i32 = (w: number) => v.getInt32((w - 1) * 4, le);
  const f32 = (w: number) => v.getFloat32((w - 1) * 4, le);
  const str = (o: number, n: number) => String.fromCharCode(...bytes.subarray(o, o + n));
  const nlabl = Math.min(10, Math.max(0, v.getInt32(220, le)));
  const labels: string[] = [];
  for (let k = 0; k < nlabl; k++) labels.push(str(224 + 80 * k, 80).trimEnd());
  return {
    nx: i32(1), ny: i32(2), nz: i32(3), mode: i32(4),
    mx: i32(8), my: i32(9), mz: i32(10),
    cella: [f32(11), f32(12), f32(13)], cellb: [f32(14), f32(15), f32(16)],
    mapc: i32(17), mapr: i32(18), maps: i32(19),
    dmin: f32(20), dmax: f32(21), dmean: f32(22), rms: v.getFloat32(216, le),
    ispg: i32(23), nsymbt: i32(24),
    exttyp: str(104, 4), nversion: v.getInt32(108, le),
    origin: [f32(50), f32(51), f32(52)],
    map: str(208, 4),
    machst: [bytes[212], bytes[213], bytes[214], bytes[215]],
    labels,
    littleEndian: le,
  };
}

/**
 * Reads an MRC file (modes 0 int8, 1 int16, 2 float32, 6 uint16) into float32 [nz, ny, nx],
 * skipping any extended header. Returns the voxel size in angstrom (cella / m along x).
 * `sections: k` reads only the header and the first k sections (z planes: projections of a tilt
 * series), so describing a large file (`inspect`) costs one plane of memory; `data` then holds
 * k x ny x nx values while `shape` stays the file's.
 */
export function readMrc(path: string, o: { sections?: number } = {}): { data: Float32Array; shape: [number, number, number]; header: MrcHeader; voxelSizeAngstrom: number } {
  const fileBytes = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(MRC_HEADER_BYTES, fileBytes));
    readSync(fd, head, 0, head.length, 0);
    const h = parseMrcHeader(head);
    for (const [k, v] of [['nx', h.nx], ['ny', h.ny], ['nz', h.nz]] as const) {
      // Dimensions the file could not hold (negative, zero, or past 2^31 voxels) mean a damaged header or not an MRC file.
      if (!(Number.isInteger(v) && v >= 1 && v <= 2 ** 31)) throw new ConfigError(path, `MRC header ${k} = ${v}; each dimension must be an integer in [1, 2^31] (damaged header, or not an MRC file)`);
    }
    if (h.nsymbt < 0 || h.nsymbt > fileBytes) throw new ConfigError(path, `MRC header nsymbt (extended header bytes) = ${h.nsymbt}; must be in [0, ${fileBytes}] for this ${fileBytes}-byte file`);
    const n = h.nx * h.ny * h.nz;
    const off = MRC_HEADER_BYTES + Math.max(0, h.nsymbt);
    const size: Record<number, number> = { 0: 1, 1: 2, 2: 4, 6: 2 };
    const bps = size[h.mode];
    if (!bps) throw new ConfigError(path, `MRC mode ${h.mode} is not supported (modes 0, 1, 2, 6 are)`);
    if (fileBytes < off + n * bps) throw new ConfigError(path, `truncated MRC: ${fileBytes} bytes, header says ${off + n * bps}`);
    const m = o.sections === undefined ? n : Math.min(h.nz, Math.max(0, Math.floor(o.sections))) * h.nx * h.ny;
    const body = Buffer.alloc(m * bps);
    for (let done = 0; done < body.length; ) {
      const got = readSync(fd, body, done, Math.min(body.length - done, 1 << 30), off + done);
      if (got <= 0) throw new ConfigError(path, `truncated MRC: could not read byte ${off + done}`);
      done += got;
    }
    const v = new DataView(body.buffer, body.byteOffset, body.length);
    const out = new Float32Array(m);
    const le = h.littleEndian;
    if (h.mode === 2) for (let i = 0; i < m; i++) out[i] = v.getFloat32(4 * i, le);
    else if (h.mode === 1) for (let i = 0; i < m; i++) out[i] = v.getInt16(2 * i, le);
    else if (h.mode === 6) for (let i = 0; i < m; i++) out[i] = v.getUint16(2 * i, le);
    else for (let i = 0; i < m; i++) out[i] = v.getInt8(i);
    const vs = h.mx > 0 && h.cella[0] > 0 ? h.cella[0] / h.mx : 1;
    return { data: out, shape: [h.nz, h.ny, h.nx], header: h, voxelSizeAngstrom: vs };
  } finally {
    closeSync(fd);
  }
}

/** Writes tilt angles (degrees), one per line, as IMOD's .tlt file. */
export function writeTlt(path: string, angles: ArrayLike<number>): void {
  const lines: string[] = [];
  for (let i = 0; i < angles.length; i++) lines.push(Number(angles[i].toFixed(4)).toString());
  writeFileAtomic(path, lines.join('\n') + '\n');
}

/** Reads a .tlt file: one angle (degrees) per non-empty line. */
export function readTlt(path: string): Float64Array {
  const vals = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l, k) => {
      const x = Number(l.split(/\s+/)[0]);
      if (!Number.isFinite(x)) throw new ConfigError(path, `line ${k + 1} is not an angle: ${JSON.stringify(l)}`);
      return x;
    });
  return Float64Array.from(vals);
}

