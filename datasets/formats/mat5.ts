/**
 * MATLAB Level 5 MAT-files (`save -v5/-v6/-v7`, scipy.io.savemat): the numeric arrays of a file.
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
 */
import { inflateSync } from 'node:zlib';

export interface MatVariable {
  name: string;
  /** MATLAB class: 'double', 'single', 'int16', ... or 'struct', 'cell', 'char', ... */
  class: string;
  /** MATLAB size (column-major: the first index runs fastest in `data`). */
  dims: number[];
  /** float32 values, column-major; absent for classes that are not read. */
  data?: Float32Array;
  complex?: boolean;
}

const CLASSES: Record<number, string> = { 1: 'cell', 2: 'struct', 3: 'object', 4: 'char', 5: 'sparse', 6: 'double', 7: 'single', 8: 'int8', 9: 'uint8', 10: 'int16', 11: 'uint16', 12: 'int32', 13: 'uint32', 14: 'int64', 15: 'uint64', 16: 'function', 17: 'opaque' };
const NUMERIC = new Set([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
/** Bytes per value of each numeric storage type (miINT8 1 .. miUINT64 13). */
const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };

/** True when the bytes start like a Level 5 MAT-file (text header, version 0x0100). */
export function isMat5(head: Uint8Array): boolean {
  if (head.length < 128) return false;
  const text = String.fromCharCode(...head.subarray(0, 10));
  const le = head[126] === 0x49 && head[127] === 0x4d; // 'IM'
  const be = head[126] === 0x4d && head[127] === 0x49;
  const version = le ? head[124] | (head[125] << 8) : (head[124] << 8) | head[125];
  return text.startsWith('MATLAB') && (le || be) && version === 0x0100;
}

/** Reads every top-level variable of a Level 5 MAT-file; `source` names the file in errors. */
export function readMat5(bytes: Uint8Array, source = 'MAT-file'): MatVariable[] {
  if (!isMat5(bytes)) throw new Error(`${source}: not a MATLAB Level 5 MAT-file (no 'MATLAB 5.0' header with version 0x0100)`);
  const le = bytes[126] === 0x49;
  const out: MatVariable[] = [];
  let o = 128;
  while (o + 8 <= bytes.length) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const type = view.getUint32(o, le), n = view.getUint32(o + 4, le);
    if (o + 8 + n > bytes.length) throw new Error(`${source}: data element at byte ${o} claims ${n} bytes, the file ends at ${bytes.length}`);
    const body = bytes.subarray(o + 8, o + 8 + n);
    if (type === 15) {
      let raw: Uint8Array;
      try {
        raw = inflateSync(body);
      } catch (e) {
        throw new Error(`${source}: compressed element at byte ${o} does not inflate (${(e as Error).message})`);
      }
      const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      if (raw.length >= 8 && rv.getUint32(0, le) === 14) out.push(readMatrix(raw.subarray(8, 8 + rv.getUint32(4, le)), le, source));
      o += 8 + n; // compressed elements are not padded
    } else {
      if (type === 14) out.push(readMatrix(body, le, source));
      o += 8 + n + ((8 - (n % 8)) % 8);
    }
  }
  return out;
}

/** One sub-element: its type and bytes (small-element tags included), and where the next begins. */
function element(b: Uint8Array, o: number, le: boolean, source: string): { type: number; data: Uint8Array; next: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (o + 8 > b.length) throw new Error(`${source}: array element truncated at byte ${o}`);
  const first = v.getUint32(o, le);
  if (first >>> 16 !== 0) {
    const n = first >>> 16;
    return { type: first & 0xffff, data: b.subarray(o + 4, o + 4 + n), next: o + 8 };
  }
  const n = v.getUint32(o + 4, le);
  if (o + 8 + n > b.length) throw new Error(`${source}: array sub-element at byte ${o} claims ${n} bytes, only ${b.length - o - 8} remain`);
  return { type: first, data: b.subarray(o + 8, o + 8 + n), next: o + 8 + n + ((8 - (n % 8)) % 8) };
}

function readMatrix(b: Uint8Array, le: boolean, source: string): MatVariable {
  const flags = element(b, 0, le, source);
  const fv = new DataView(flags.data.buffer, flags.data.byteOffset, flags.data.byteLength);
  const f0 = fv.getUint32(0, le);
  const cls = f0 & 0xff, complex = (f0 & 0x800) !== 0;
  const dimsEl = element(b, flags.next, le, source);
  const dv = new DataView(dimsEl.data.buffer, dimsEl.data.byteOffset, dimsEl.data.byteLength);
  const dims = Array.from({ length: dimsEl.data.length / 4 }, (_, i) => dv.getInt32(4 * i, le));
  const nameEl = element(b, dimsEl.next, le, source);
  const name = new TextDecoder().decode(nameEl.data);
  const className = CLASSES[cls] ?? `class ${cls}`;
  if (!NUMERIC.has(cls)) return { name, class: className, dims };
  const re = element(b, nameEl.next, le, source);
  const count = dims.reduce((p, d) => p * d, 1);
  return { name, class: className, dims, data: numeric(re.type, re.data, count, le, `${source}: ${name}`), ...(complex ? { complex } : {}) };
}

function numeric(type: number, d: Uint8Array, count: number, le: boolean, where: string): Float32Array {
  const bytes = TYPE_BYTES[type];
  if (!bytes) throw new Error(`${where}: unsupported storage type ${type}`);
  if (d.length < count * bytes) throw new Error(`${where}: holds ${d.length} bytes, ${count} values of type ${type} need ${count * bytes}`);
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out = new Float32Array(count);
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
  return out;
}
