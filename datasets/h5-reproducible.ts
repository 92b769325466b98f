/**
 * Byte-reproducible HDF5 files: HDF5 stamps every object header (version 2) with its access,
 * modification, change and birth times, so two writes of the same arrays differ in those 16
 * bytes per object and in the header checksum over them. HDF5 has a switch for this
 * (H5Pset_obj_track_times), but h5wasm 0.10.3 neither exports it nor takes creation property
 * lists, so it is done here by hand, after the file is closed: every version-2 object header
 * ("OHDR") whose stored checksum verifies gets its four times set to 0 and its checksum
 * recomputed. Nothing else in a file written twice from the same calls differs (checked:
 * two shard writes compare equal byte for byte after this; h5dump and h5py read the result).
 *
 * Format: HDF5 File Format Specification 3.0, section IV.A.1.b "Version 2 Data Object Header
 * Prefix": signature "OHDR", version 2, flags (bits 0-1: width of the chunk-0 size field, 1/2/4/8
 * bytes; bit 4: 2+2 bytes of attribute phase-change values; bit 5: four 32-bit times), times,
 * phase-change values, chunk-0 size, chunk-0 messages, then a 32-bit checksum over everything
 * before it. Checksum: Bob Jenkins' lookup3 `hashlittle` with initial value 0 (HDF5's
 * H5_checksum_lookup3 / H5_checksum_metadata; B. Jenkins, "lookup3.c", 2006, public domain).
 *
 * Why by scanning: walking the object graph (links, dense link storage in fractal heaps and
 * v2 B-trees) would be a second HDF5 reader; a header is recognised by its signature, version
 * and a verifying checksum over its declared length, so a stray "OHDR" in compressed data is
 * left alone unless it also carries a valid 32-bit checksum (odds 2^-32 per stray signature).
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

const rot = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Jenkins lookup3 hashlittle over bytes[off, off+len), as HDF5 computes metadata checksums. */
export function lookup3(bytes: Uint8Array, off = 0, len = bytes.length - off, initval = 0): number {
  let a = (0xdeadbeef + len + initval) >>> 0;
  let b = a;
  let c = a;
  let k = off;
  let n = len;
  const w = (i: number) => bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
  while (n > 12) {
    a = (a + w(k)) >>> 0;
    b = (b + w(k + 4)) >>> 0;
    c = (c + w(k + 8)) >>> 0;
    // mix(a, b, c)
    a = (a - c) >>> 0; a = (a ^ rot(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rot(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rot(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rot(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rot(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rot(b, 4)) >>> 0; b = (b + a) >>> 0;
    n -= 12;
    k += 12;
  }
  if (n === 0) return c;
  // the tail, zero-padded (the fall-through switch of lookup3.c)
  const t = new Uint8Array(12);
  t.set(bytes.subarray(k, k + n));
  a = (a + w2(t, 0)) >>> 0;
  b = (b + w2(t, 4)) >>> 0;
  c = (c + w2(t, 8)) >>> 0;
  // final(a, b, c)
  c = (c ^ b) >>> 0; c = (c - rot(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 24)) >>> 0;
  return c;
}

function w2(t: Uint8Array, i: number): number {
  return (t[i] | (t[i + 1] << 8) | (t[i + 2] << 16) | (t[i + 3] << 24)) >>> 0;
}

/** Where one version-2 object header lies and what its prefix says. */
interface HeaderSpan {
  /** Bytes from the signature up to (not including) the checksum. */
  length: number;
  /** Offset of the four times inside the header, or -1 when the header stores none. */
  timesAt: number;
}

/** Parses the prefix at buf[p] ("OHDR" already matched); null when it cannot be a header. */
function headerSpan(buf: Uint8Array, p: number, avail: number): HeaderSpan | null {
  if (avail < 7 || buf[p + 4] !== 2) return null;
  const flags = buf[p + 5];
  if (flags & 0xc0) return null; // bits 6-7 are reserved (zero)
  let q = 6;
  const timesAt = flags & 0x20 ? q : -1;
  if (flags & 0x20) q += 16;
  if (flags & 0x10) q += 4;
  const width = 1 << (flags & 3);
  if (avail < q + width) return null;
  let size = 0;
  for (let i = width - 1; i >= 0; i--) size = size * 256 + buf[p + q + i];
  q += width;
  return { length: q + size, timesAt };
}

export interface TimesCleared {
  /** Object headers found (signature, version and checksum all verified). */
  headers: number;
  /** Of those, the ones whose times were not already zero and were rewritten. */
  rewritten: number;
}

/**
 * Sets the times of every version-2 object header in the HDF5 file at `path` to 0 and
 * recomputes their checksums, in place. The file must be closed by HDF5 first. Reads the file
 * once in 4 MiB blocks (headers are re-read whole where they cross a block boundary); writes only
 * the headers it changes.
 */
export function clearObjectTimes(path: string): TimesCleared {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const BLOCK = 4 << 20;
    const buf = new Uint8Array(BLOCK);
    let headers = 0;
    let rewritten = 0;
    // Blocks overlap by 3 bytes so a signature across a boundary is seen once.
    for (let start = 0; start < size; start += BLOCK - 3) {
      const n = readSync(fd, buf, 0, Math.min(BLOCK, size - start), start);
      for (let i = buf.indexOf(0x4f, 0); i >= 0 && i + 4 <= n; i = buf.indexOf(0x4f, i + 1)) {
        if (buf[i + 1] !== 0x48 || buf[i + 2] !== 0x44 || buf[i + 3] !== 0x52) continue; // "OHDR"
        const head = new Uint8Array(64);
        const got = readSync(fd, head, 0, Math.min(64, size - (start + i)), start + i);
        const span = headerSpan(head, 0, got);
        if (!span || start + i + span.length + 4 > size || span.length > 1 << 30) continue;
        const h = new Uint8Array(span.length + 4);
        readSync(fd, h, 0, h.length, start + i);
        const dv = new DataView(h.buffer);
        if (lookup3(h, 0, span.length) !== dv.getUint32(span.length, true)) continue;
        headers++;
        if (span.timesAt < 0) continue;
        if (h.subarray(span.timesAt, span.timesAt + 16).every((x) => x === 0)) continue;
        h.fill(0, span.timesAt, span.timesAt + 16);
        dv.setUint32(span.length, lookup3(h, 0, span.length), true);
        writeSync(fd, h, 0, h.length, start + i);
        rewritten++;
        // keep the in-memory block consistent with what was written
        const inBlock = Math.min(h.length, n - i);
        buf.set(h.subarray(0, inBlock), i);
      }
      if (start + n >= size) break;
    }
    return { headers, rewritten };
  } finally {
    closeSync(fd);
  }
}
