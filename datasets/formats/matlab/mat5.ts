/**
 * MATLAB Level 5 MAT-files (`save -v5/-v6/-v7`, scipy.io.savemat): the numeric arrays of a file,
 * read whole or in part.
 *
 * Written by hand because no npm library fits: the only maintained candidate, `mat-for-js`
 * (one release, 2025), is GPL-3.0 and cannot be a dependency of this Apache-2.0 project; `matfile`
 * does not exist on the registry. The format is small (MathWorks, "MAT-File Format", R2024a, ch. 1):
 *   128-byte header: 116 bytes text, 8 bytes subsystem offset, int16 version 0x0100, 'IM' or 'MI'
 *   (the byte order); then data elements, each an 8-byte tag (uint32 type, uint32 byte count) or a
 *   4-byte "small element" tag (count in the upper 16 bits) with up to 4 bytes of data, padded to
 *   8 bytes. miCOMPRESSED (15) holds one zlib-compressed element; miMATRIX (14) holds array flags
 *   (class in the low byte, complex bit 0x800), dimensions (int32), the name (int8) and the real
 *   part, whose storage type may be narrower than the class (MATLAB stores integer-valued doubles
 *   as int8/uint16...).
 * Numeric classes (double, single, int8..uint64, logical) are returned as float32 in MATLAB's
 * column-major order with their MATLAB size; complex arrays keep the real part and say so; char,
 * cell, struct, sparse and object arrays are listed with their class but not read.
 *
 * Partial reads (Mat5File): opening walks the top-level elements reading only their tags and the
 * first bytes of each array (for a compressed element, the start of its zlib stream, inflated with
 * node:zlib and stopped there), so the variables' names, classes and sizes cost kilobytes whatever
 * the file's size; small arrays (at most SMALL_VALUES values: angles, pixel sizes) are read at once.
 * `values()` then streams one array's values in order (file ranges, or the inflated stream) and
 * stops when the caller has what it needs.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createInflate } from 'node:zlib';
import { ConfigError } from '../../../core/validate.ts';

export interface MatVariable {
  name: string;
  /** MATLAB class: 'double', 'single', 'int16', ... or 'struct', 'cell', 'char', ... */
  class: string;
  /** MATLAB size (column-major: the first index runs fastest in `data`). */
  dims: number[];
  /** True for the numeric classes, whose values can be read. */
  numeric: boolean;
  /** float32 values, column-major: read by readMat5, by Mat5File for small arrays. */
  data?: Float32Array;
  complex?: boolean;
}

const CLASSES: Record<number, string> = { 1: 'cell', 2: 'struct', 3: 'object', 4: 'char', 5: 'sparse', 6: 'double', 7: 'single', 8: 'int8', 9: 'uint8', 10: 'int16', 11: 'uint16', 12: 'int32', 13: 'uint32', 14: 'int64', 15: 'uint64', 16: 'function', 17: 'opaque' };
const NUMERIC = new Set([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
/** Bytes per value of each numeric storage type (miINT8 1 .. miUINT64 13). */
const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };
/** Arrays of at most this many values are read when the file is opened (angles, pixel sizes). */
export const SMALL_VALUES = 1 << 16;
const CHUNK = 1 << 20;

/** True when the bytes start like a Level 5 MAT-file (text header, version 0x0100). */
export function isMat5(head: Uint8Array): boolean {
  if (head.length < 128) return false;
  const text = String.fromCharCode(...head.subarray(0, 10));
  const le = head[126] === 0x49 && head[127] === 0x4d; // 'IM'
  const be = head[126] === 0x4d && head[127] === 0x49;
  const version = le ? head[124] | (head[125] << 8) : (head[124] << 8) | head[125];
  return text.startsWith('MATLAB') && (le || be) && version === 0x0100;
}

/** Bytes of a MAT-file by range: a file (read where asked) or bytes in memory. */
interface Source {
  size: number;
  read(at: number, n: number): Uint8Array;
  close(): void;
}

function fileSource(path: string): Source {
  const fd = openSync(path, 'r');
  return {
    size: fstatSync(fd).size,
    read(at, n) {
      const b = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const r = readSync(fd, b, got, n - got, at + got);
        if (r === 0) break;
        got += r;
      }
      return b.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}

const memSource = (b: Uint8Array): Source => ({ size: b.length, read: (at, n) => b.subarray(at, Math.min(b.length, at + n)), close: () => {} });

/** Where an array's bytes lie: its miMATRIX body in the file or in a compressed element's stream. */
interface Loc {
  /** The top-level element (for messages). */
  at: number;
  compressed: boolean;
  /** File range of the element body (the zlib stream, or the miMATRIX body). */
  bodyAt: number;
  bodyBytes: number;
  /** Real part: storage type, offset inside the miMATRIX body, byte length. */
  storage: number;
  valuesAt: number;
  valueBytes: number;
}

class NeedMore extends Error {}

/** A MAT v5 file opened for partial reads; `vars` lists every top-level variable (see the module comment). */
export class Mat5File {
  private locs = new Map<MatVariable, Loc>();
  private constructor(private src: Source, readonly source: string, readonly le: boolean, readonly vars: MatVariable[]) {}

  /** Opens a file on disk (reads by range). */
  static open(path: string): Promise<Mat5File> {
    return Mat5File.scan(fileSource(path), path);
  }

  /** Bytes already in memory; `source` names them in errors. */
  static fromBytes(bytes: Uint8Array, source = 'MAT-file'): Promise<Mat5File> {
    return Mat5File.scan(memSource(bytes), source);
  }

  private static async scan(src: Source, source: string): Promise<Mat5File> {
    try {
      const head = src.read(0, 128);
      if (!isMat5(head)) throw new ConfigError(source, `not a MATLAB Level 5 MAT-file (no 'MATLAB 5.0' header with version 0x0100)`);
      const le = head[126] === 0x49;
      const f = new Mat5File(src, source, le, []);
      let o = 128;
      while (o + 8 <= src.size) {
        const t = src.read(o, 8);
        const tv = new DataView(t.buffer, t.byteOffset, 8);
        const type = tv.getUint32(0, le), n = tv.getUint32(4, le);
        if (o + 8 + n > src.size) throw new ConfigError(source, `data element at byte ${o} claims ${n} bytes, the file ends at ${src.size}`);
        if (type === 15 || type === 14) {
          const loc: Omit<Loc, 'storage' | 'valuesAt' | 'valueBytes'> = { at: o, compressed: type === 15, bodyAt: o + 8, bodyBytes: n };
          const h = await f.header(loc);
          if (h) {
            f.vars.push(h.v);
            f.locs.set(h.v, { ...loc, ...h.loc });
            const count = h.v.dims.reduce((p, d) => p * d, 1);
            if (h.v.numeric && count <= SMALL_VALUES) h.v.data = await f.read(h.v);
          }
        }
        o += 8 + n + (type === 15 ? 0 : (8 - (n % 8)) % 8); // compressed elements are not padded
      }
      return f;
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** The array header of one element: name, class, size and where the real part lies (undefined: not an array). */
  private async header(loc: Omit<Loc, 'storage' | 'valuesAt' | 'valueBytes'>): Promise<{ v: MatVariable; loc: Pick<Loc, 'storage' | 'valuesAt' | 'valueBytes'> } | undefined> {
    for (let want = 4096; ; want *= 4) {
      const { bytes, total } = await this.prefix(loc, want);
      if (bytes === undefined) return undefined;
      try {
        return parseHeader(bytes, total, this.le, this.source);
      } catch (e) {
        if (!(e instanceof NeedMore) || bytes.length >= total) throw e instanceof NeedMore ? new ConfigError(this.source, `array element at byte ${loc.at} is truncated`) : e;
      }
    }
  }

  /** The first `want` bytes of an element's miMATRIX body and its length (undefined: the element holds no array). */
  private async prefix(loc: Omit<Loc, 'storage' | 'valuesAt' | 'valueBytes'>, want: number): Promise<{ bytes?: Uint8Array; total: number }> {
    if (!loc.compressed) return { bytes: this.src.read(loc.bodyAt, Math.min(want, loc.bodyBytes)), total: loc.bodyBytes };
    const parts: Uint8Array[] = [];
    let got = 0;
    for await (const c of this.inflated(loc)) {
      parts.push(c);
      got += c.length;
      if (got >= want + 8) break;
    }
    const b = concat(parts, got);
    if (b.length < 8) throw new ConfigError(this.source, `compressed element at byte ${loc.at} inflates to ${b.length} bytes, no element tag`);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (v.getUint32(0, this.le) !== 14) return { total: 0 };
    return { bytes: b.subarray(8, 8 + Math.min(want, v.getUint32(4, this.le))), total: v.getUint32(4, this.le) };
  }

  /** The inflated bytes of a compressed element, in chunks; a damaged stream is one error line. */
  private async *inflated(loc: Pick<Loc, 'at' | 'bodyAt' | 'bodyBytes'>): AsyncGenerator<Uint8Array> {
    const src = this.src;
    const feed = Readable.from((function* () {
      for (let o = 0; o < loc.bodyBytes; o += CHUNK) yield src.read(loc.bodyAt + o, Math.min(CHUNK, loc.bodyBytes - o));
    })());
    const inf = createInflate();
    feed.pipe(inf);
    try {
      for await (const c of inf) yield c as Uint8Array;
    } catch (e) {
      throw new ConfigError(this.source, `compressed element at byte ${loc.at} does not inflate (${(e as Error).message})`);
    } finally {
      feed.unpipe(inf);
      feed.destroy();
      inf.destroy();
    }
  }

  /** The miMATRIX body bytes [from, from + n) of a variable, in chunks. */
  private async *body(loc: Loc, from: number, n: number): AsyncGenerator<Uint8Array> {
    if (!loc.compressed) {
      for (let o = 0; o < n; o += CHUNK) yield this.src.read(loc.bodyAt + from + o, Math.min(CHUNK, n - o));
      return;
    }
    // the inflated stream is the 8-byte miMATRIX tag, then the body
    let skip = 8 + from, left = n;
    for await (const c of this.inflated(loc)) {
      if (skip >= c.length) { skip -= c.length; continue; }
      const part = c.subarray(skip, skip + left);
      skip = 0;
      left -= part.length;
      yield part;
      if (left === 0) return;
    }
  }

  /**
   * Streams a numeric variable's values (column-major, as float32) to `sink(start, values)` in
   * order; `sink` returns false to stop early (the rest is neither read nor inflated).
   */
  async values(v: MatVariable, sink: (start: number, values: Float32Array) => boolean): Promise<void> {
    const loc = this.locs.get(v);
    if (!loc || !v.numeric) throw new ConfigError(this.source, `${v.name} (${v.class}) holds no numeric values`);
    const bytes = TYPE_BYTES[loc.storage];
    const where = `${this.source}: ${v.name}`;
    if (!bytes) throw new ConfigError(where, `unsupported storage type ${loc.storage}`);
    const count = v.dims.reduce((p, d) => p * d, 1);
    if (loc.valueBytes < count * bytes) throw new ConfigError(where, `holds ${loc.valueBytes} bytes, ${count} values of type ${loc.storage} need ${count * bytes}`);
    const need = count * bytes;
    let carry = new Uint8Array(0), start = 0, got = 0;
    const out = new Float32Array(CHUNK / bytes + 8);
    for await (const c of this.body(loc, loc.valuesAt, need)) {
      got += c.length;
      const b = carry.length ? concat([carry, c], carry.length + c.length) : c;
      const whole = b.length - (b.length % bytes);
      const k = decode(loc.storage, b.subarray(0, whole), this.le, out);
      carry = b.slice(whole);
      if (k && !sink(start, out.subarray(0, k))) return;
      start += k;
    }
    if (got < need) throw new ConfigError(where, `the data ends after ${got} of ${need} bytes (the file is truncated or damaged)`);
  }

  /** Every value of a numeric variable. */
  async read(v: MatVariable): Promise<Float32Array> {
    const out = new Float32Array(v.dims.reduce((p, d) => p * d, 1));
    await this.values(v, (s, x) => (out.set(x, s), true));
    return out;
  }

  close(): void {
    this.src.close();
  }
}

/** Reads every top-level variable of a Level 5 MAT-file in memory; `source` names the file in errors. */
export async function readMat5(bytes: Uint8Array, source = 'MAT-file'): Promise<MatVariable[]> {
  const f = await Mat5File.fromBytes(bytes, source);
  for (const v of f.vars) if (v.numeric && !v.data) v.data = await f.read(v);
  f.close();
  return f.vars;
}

function concat(parts: Uint8Array[], n: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const b = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { b.set(p.subarray(0, n - o), o); o += p.length; if (o >= n) break; }
  return b;
}

/** One sub-element: its type, where its data lies and where the next begins (NeedMore past the prefix). */
function element(b: Uint8Array, o: number, total: number, le: boolean, source: string): { type: number; at: number; n: number; next: number } {
  if (o + 8 > total) throw new ConfigError(source, `array element truncated at byte ${o}`);
  if (o + 8 > b.length) throw new NeedMore();
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const first = v.getUint32(o, le);
  if (first >>> 16 !== 0) return { type: first & 0xffff, at: o + 4, n: first >>> 16, next: o + 8 };
  const n = v.getUint32(o + 4, le);
  if (o + 8 + n > total) throw new ConfigError(source, `array sub-element at byte ${o} claims ${n} bytes, only ${total - o - 8} remain`);
  return { type: first, at: o + 8, n, next: o + 8 + n + ((8 - (n % 8)) % 8) };
}

/** The header of a miMATRIX body (`b` its first bytes, `total` its length); NeedMore when `b` is too short. */
function parseHeader(b: Uint8Array, total: number, le: boolean, source: string): { v: MatVariable; loc: Pick<Loc, 'storage' | 'valuesAt' | 'valueBytes'> } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const data = (e: { at: number; n: number }) => {
    if (e.at + e.n > b.length) throw new NeedMore();
    return b.subarray(e.at, e.at + e.n);
  };
  const flags = element(b, 0, total, le, source);
  data(flags);
  const f0 = v.getUint32(flags.at, le);
  const cls = f0 & 0xff, complex = (f0 & 0x800) !== 0;
  const dimsEl = element(b, flags.next, total, le, source);
  data(dimsEl);
  const dims = Array.from({ length: dimsEl.n / 4 }, (_, i) => v.getInt32(dimsEl.at + 4 * i, le));
  const nameEl = element(b, dimsEl.next, total, le, source);
  const name = new TextDecoder().decode(data(nameEl));
  const numeric = NUMERIC.has(cls);
  const mv: MatVariable = { name, class: CLASSES[cls] ?? `class ${cls}`, dims, numeric, ...(numeric && complex ? { complex } : {}) };
  if (!numeric) return { v: mv, loc: { storage: 0, valuesAt: 0, valueBytes: 0 } };
  const re = element(b, nameEl.next, total, le, source);
  return { v: mv, loc: { storage: re.type, valuesAt: re.at, valueBytes: re.n } };
}

/** Decodes whole values of storage `type` from `d` into `out`; returns how many. */
function decode(type: number, d: Uint8Array, le: boolean, out: Float32Array): number {
  const bytes = TYPE_BYTES[type];
  const count = Math.floor(d.length / bytes);
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let i = 0; i < count; i++) {
    const o = i * bytes;
    switch (type) {
      case 1: out[i] = v.getInt8(o); break;
      case 2: out[i] = v.getUint8(o); break;
      case 3: out[i] = v.getInt16(o, le); break;
      case 4: out[i] = v.getUint16(o, le); break;
      case 5: out[i] = v.getInt32(o, le); break;
      case 6: out[i] = v.getUint32(o, le); break;
      case 7: out[i] = v.getFloat32(o, le); break;
      case 9: out[i] = v.getFloat64(o, le); break;
      case 12: out[i] = Number(v.getBigInt64(o, le)); break;
      case 13: out[i] = Number(v.getBigUint64(o, le)); break;
    }
  }
  return count;
}
