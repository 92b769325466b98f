/**
 * TIFF stacks (multi-page baseline TIFF 6.0: Fiji/ImageJ, tifffile, microscope software): reading
 * by byte ranges, and writing float32 stacks with ImageJ calibration.
 *
 * Reading (Adobe, "TIFF Revision 6.0", 1992, sections 2 and 7): an 8-byte header (byte order `II`
 * or `MM`, 42, offset of the first IFD), then a chain of image file directories (IFD: uint16 entry
 * count, 12-byte entries tag/type/count/value-or-offset, uint32 offset of the next IFD). Only the
 * header, the IFDs and the strips of the pages asked for are read from the file (with `pages` and
 * `values`, the bytes of those rows only), so `inspect` of a large stack reads one projection, not the
 * file. Strips are decompressed by utif2 (LZW, Deflate, PackBits; horizontal predictor) from a
 * compact buffer holding only those strips. Greyscale pages (one sample per pixel) of 8/16/32-bit
 * integers or 32/64-bit floats, all pages the same size; classic TIFF (not BigTIFF), stripped.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeFileAtomic } from '../../../core/atomic.ts';
import { ConfigError, InternalError } from '../../../core/validate.ts';

export interface TiffStack {
  /** float32, [page, row, col] C-order (only the pages and rows read). */
  data: Float32Array;
  /** [pages read, rows read, cols]. */
  shape: [number, number, number];
  /** Pages in the file and rows of a page (the shape of the whole stack). */
  pages: number;
  rows: number;
  /** Stored type as numpy names it (uint16, float32, ...). */
  dtype: string;
  /** Pixel size in nm when the file is calibrated (ImageJ: unit + XResolution). */
  pixelSizeNm?: number;
}

/** Bytes of one value of each TIFF field type (1 BYTE .. 12 DOUBLE). */
const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };
/** Compressions the strips may use: utif2 decodes them (1 none, 5 LZW, 8 / 32946 Deflate, 32773 PackBits). */
const COMPRESSIONS: Record<number, string> = { 1: 'none', 5: 'LZW', 8: 'Deflate', 32946: 'Deflate', 32773: 'PackBits' };
/** Tags read from every IFD (size and type checks); the rest only for the pages decoded. */
const PAGE_TAGS = new Set([256, 257, 258, 273, 277, 279, 339]);

type Tags = Map<number, number[] | string>;

class TiffFile {
  readonly size: number;
  readonly le: boolean;
  constructor(readonly path: string, private fd: number) {
    this.size = fstatSync(fd).size;
    const h = this.bytes(0, 8, 'the header');
    const order = String.fromCharCode(h[0], h[1]);
    if (order !== 'II' && order !== 'MM') throw new ConfigError(path, `not a TIFF file (byte order mark ${JSON.stringify(order)})`);
    this.le = order === 'II';
    const v = new DataView(h.buffer, h.byteOffset, 8);
    const magic = v.getUint16(2, this.le);
    if (magic === 43) throw new ConfigError(path, `BigTIFF is not read; save the stack as classic TIFF (under 4 GB) or MRC`);
    if (magic !== 42) throw new ConfigError(path, `not a TIFF file (version ${magic}, expected 42)`);
  }

  /** `n` bytes at `at`; a range past the end of the file is an error naming `what`. */
  bytes(at: number, n: number, what: string): Uint8Array {
    if (at + n > this.size) throw new ConfigError(this.path, `${what} at byte ${at} (${n} bytes) runs past the end of the file (${this.size} bytes): the file is truncated or damaged`);
    const b = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, b, got, n - got, at + got);
      if (r === 0) break;
      got += r;
    }
    if (got < n) throw new ConfigError(this.path, `${what} at byte ${at}: read ${got} of ${n} bytes`);
    return b;
  }

  /** The offsets of the IFD chain (a loop or an IFD past the end of the file is an error). */
  ifdOffsets(): number[] {
    const v0 = new DataView(this.bytes(4, 4, 'the header').buffer);
    const out: number[] = [];
    const seen = new Set<number>();
    for (let at = v0.getUint32(0, this.le); at !== 0; ) {
      if (seen.has(at)) throw new ConfigError(this.path, `IFD ${out.length} at byte ${at} loops back to an earlier IFD: the file is damaged`);
      seen.add(at);
      out.push(at);
      const n = new DataView(this.bytes(at, 2, `IFD ${out.length - 1}`).buffer).getUint16(0, this.le);
      at = new DataView(this.bytes(at + 2 + 12 * n, 4, `IFD ${out.length - 1}`).buffer).getUint32(0, this.le);
    }
    return out;
  }

  /** The tags of IFD `k` at `at` (only those in `want` when given), values read where they lie. */
  tags(at: number, k: number, want?: Set<number>): Tags {
    const n = new DataView(this.bytes(at, 2, `IFD ${k}`).buffer).getUint16(0, this.le);
    const e = this.bytes(at + 2, 12 * n, `IFD ${k}`);
    const v = new DataView(e.buffer);
    const tags: Tags = new Map();
    for (let i = 0; i < n; i++) {
      const o = 12 * i;
      const tag = v.getUint16(o, this.le), type = v.getUint16(o + 2, this.le), count = v.getUint32(o + 4, this.le);
      if (want && !want.has(tag)) continue;
      const size = TYPE_BYTES[type];
      if (!size) continue; // unknown field types are skipped, as TIFF 6.0 asks readers to
      const len = size * count;
      const raw = len <= 4 ? e.subarray(o + 8, o + 8 + len) : this.bytes(v.getUint32(o + 8, this.le), len, `tag ${tag} of IFD ${k}`);
      const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      if (type === 2) {
        tags.set(tag, new TextDecoder('latin1').decode(raw).replace(/\0+$/, ''));
        continue;
      }
      const vals: number[] = [];
      for (let j = 0; j < count; j++) {
        const q = j * size;
        switch (type) {
          case 1: case 7: vals.push(rv.getUint8(q)); break;
          case 6: vals.push(rv.getInt8(q)); break;
          case 3: vals.push(rv.getUint16(q, this.le)); break;
          case 8: vals.push(rv.getInt16(q, this.le)); break;
          case 4: case 13: vals.push(rv.getUint32(q, this.le)); break;
          case 9: vals.push(rv.getInt32(q, this.le)); break;
          case 5: vals.push(rv.getUint32(q, this.le) / rv.getUint32(q + 4, this.le)); break;
          case 10: vals.push(rv.getInt32(q, this.le) / rv.getInt32(q + 4, this.le)); break;
          case 11: vals.push(rv.getFloat32(q, this.le)); break;
          case 12: vals.push(rv.getFloat64(q, this.le)); break;
        }
      }
      tags.set(tag, vals);
    }
    return tags;
  }
}

const num = (t: Tags, tag: number, dflt?: number): number | undefined => {
  const v = t.get(tag);
  return Array.isArray(v) ? v[0] : dflt;
};

function dtypeOf(bits: number, fmt: number): string | undefined {
  if (fmt === 3) return bits === 32 ? 'float32' : bits === 64 ? 'float64' : undefined;
  if (fmt !== 1 && fmt !== 2) return undefined;
  return [8, 16, 32].includes(bits) ? `${fmt === 2 ? 'int' : 'uint'}${bits}` : undefined;
}

/**
 * Reads a TIFF stack. `pages` (default all) reads only the first pages, `values` only the first
 * rows of each that hold at most that many values (at least one row); the IFD chain is always walked whole, to count the pages and
 * check that all have one size and their strips lie inside the file. Errors name the file and what was found, in one line.
 */
export async function readTiff(path: string, o: { pages?: number; values?: number } = {}): Promise<TiffStack> {
  const UTIF = (await import('utif2')).default as Utif;
  const fd = openSync(path, 'r');
  try {
    const f = new TiffFile(path, fd);
    const offsets = f.ifdOffsets();
    const pages: { at: number; k: number }[] = [];
    let w = 0, h = 0, bits = 0, fmt = 0;
    for (const [k, at] of offsets.entries()) {
      const t = f.tags(at, k, PAGE_TAGS);
      if (!t.has(256)) continue; // not an image (no width)
      const pw = num(t, 256)!, ph = num(t, 257, 0)!, spp = num(t, 277, 1)!;
      const pb = (t.get(258) as number[] | undefined) ?? [1];
      const pf = num(t, 339, 1)!;
      if (spp !== 1) throw new ConfigError(path, `page ${pages.length} has ${spp} samples per pixel; only greyscale stacks are read`);
      if (pages.length === 0) {
        [w, h, bits, fmt] = [pw, ph, pb[0], pf];
        if (!dtypeOf(bits, fmt)) throw new ConfigError(path, `page 0 holds ${bits}-bit ${fmt === 3 ? 'floats' : fmt === 2 ? 'signed integers' : fmt === 1 ? 'unsigned integers' : `sample format ${fmt}`}; readable: 8/16/32-bit integers, 32/64-bit floats`);
        if (!(w > 0 && h > 0)) throw new ConfigError(path, `page 0 is ${w}x${h}`);
      } else if (pw !== w || ph !== h) throw new ConfigError(path, `page ${pages.length} is ${pw}x${ph}, page 0 is ${w}x${h}`);
      else if (pb[0] !== bits || pf !== fmt) throw new ConfigError(path, `page ${pages.length} holds ${dtypeOf(pb[0], pf) ?? `${pb[0]}-bit`} values, page 0 ${dtypeOf(bits, fmt)}`);
      // every page's strips inside the file: a truncated stack is refused without reading its data
      const offs = (t.get(273) as number[] | undefined) ?? [], cnts = (t.get(279) as number[] | undefined) ?? [];
      let end = 0;
      offs.forEach((x, i) => { end = Math.max(end, x + (cnts[i] ?? 0)); });
      if (end > f.size) throw new ConfigError(path, `page ${pages.length}'s strips end at byte ${end}, the file ends at ${f.size}: the file is truncated`);
      pages.push({ at, k });
    }
    if (pages.length === 0) throw new ConfigError(path, `no images in this TIFF`);
    const P = Math.min(pages.length, Math.max(0, Math.floor(o.pages ?? pages.length)));
    const R = o.values === undefined ? h : Math.min(h, Math.max(1, Math.floor(o.values / w)));
    const data = new Float32Array(P * R * w);
    let pixelSizeNm: number | undefined;
    for (let p = 0; p < P; p++) {
      const t = f.tags(pages[p].at, pages[p].k);
      if (p === 0) pixelSizeNm = imagejPixelNm(t);
      decodePage(UTIF, f, t, p, w, R, bits, fmt, data.subarray(p * R * w, (p + 1) * R * w));
    }
    return { data, shape: [P, R, w], pages: pages.length, rows: h, dtype: dtypeOf(bits, fmt)!, ...(pixelSizeNm ? { pixelSizeNm } : {}) };
  } finally {
    closeSync(fd);
  }
}

/** Decodes the first `R` rows of page `p` into `out` (R * w float32). */
function decodePage(UTIF: Utif, f: TiffFile, t: Tags, p: number, w: number, R: number, bits: number, fmt: number, out: Float32Array): void {
  const path = f.path;
  const cmpr = num(t, 259, 1)!;
  if (!COMPRESSIONS[cmpr]) throw new ConfigError(path, `page ${p} uses compression ${cmpr}; readable: ${Object.entries(COMPRESSIONS).map(([k, v]) => `${k} (${v})`).join(', ')}`);
  if (t.has(322)) throw new ConfigError(path, `page ${p} is tiled; only stripped TIFF is read (save it with strips, as Fiji and tifffile do by default)`);
  const offs = t.get(273) as number[] | undefined, cnts = t.get(279) as number[] | undefined;
  if (!offs || offs.length === 0) throw new ConfigError(path, `page ${p} has no StripOffsets`);
  const h = num(t, 257)!;
  const rps = Math.min(num(t, 278, h)!, h);
  const rowBytes = (w * bits) / 8;
  const nStrips = Math.ceil(R / rps);
  if (offs.length < nStrips) throw new ConfigError(path, `page ${p} has ${offs.length} strips, ${Math.ceil(h / rps)} needed for ${h} rows of ${rps}`);
  // The strips needed, copied after a copy of the header into a compact buffer (offsets rewritten).
  const parts: Uint8Array[] = [f.bytes(0, 8, 'the header')];
  const newOffs: number[] = [], newCnts: number[] = [];
  let at = 8;
  for (let s = 0; s < nStrips; s++) {
    // uncompressed: only the bytes of the rows wanted; compressed: the whole strip
    const rowsHere = Math.min(rps, R - s * rps);
    const n = cmpr === 1 ? rowsHere * rowBytes : cnts?.[s];
    if (n === undefined) throw new ConfigError(path, `page ${p} has no StripByteCounts`);
    parts.push(f.bytes(offs[s], n, `strip ${s} of page ${p}`));
    newOffs.push(at); newCnts.push(n);
    at += n;
  }
  const buf = new Uint8Array(at);
  let o = 0;
  for (const b of parts) { buf.set(b, o); o += b.length; }
  let bytes: Uint8Array;
  if (cmpr === 1) bytes = buf.subarray(8);
  else {
    const img: Record<string, unknown> = { t256: [w], t257: [nStrips === Math.ceil(h / rps) ? h : nStrips * rps], t258: [bits], t259: [cmpr], t262: t.get(262) ?? [1], t273: newOffs, t277: [1], t278: [rps], t279: newCnts };
    if (t.has(317)) img.t317 = t.get(317);
    if (t.has(339)) img.t339 = t.get(339);
    UTIF.decodeImage(buf.buffer, img as never);
    bytes = (img as { data?: Uint8Array }).data ?? new Uint8Array(0);
  }
  // utif2 returns 16-bit samples little-endian whatever the file's order; other widths as stored
  const le = f.le || (cmpr !== 1 && bits === 16);
  const n = R * w, bps = bits / 8;
  if (bytes.byteLength < n * bps) throw new ConfigError(path, `page ${p} decodes to ${bytes.byteLength} bytes, ${w}x${R}x${bits}-bit needs ${n * bps}: the strips are damaged`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const q = i * bps;
    if (fmt === 3) out[i] = bits === 64 ? v.getFloat64(q, le) : v.getFloat32(q, le);
    else if (fmt === 2) out[i] = bits === 8 ? v.getInt8(q) : bits === 16 ? v.getInt16(q, le) : v.getInt32(q, le);
    else out[i] = bits === 8 ? v.getUint8(q) : bits === 16 ? v.getUint16(q, le) : v.getUint32(q, le);
  }
}

type Utif = typeof import('utif2');

const UNIT_NM: Record<string, number> = { nm: 1, nanometer: 1, a: 0.1, 'å': 0.1, angstrom: 0.1, '\\u00c5': 0.1, um: 1e3, 'µm': 1e3, micron: 1e3, microns: 1e3 };

/** ImageJ calibration: the description's `unit=` and XResolution (pixels per unit). */
function imagejPixelNm(t: Tags): number | undefined {
  const desc = t.get(270);
  if (typeof desc !== 'string' || !desc.startsWith('ImageJ=')) return undefined;
  const unit = /(?:^|\n)unit=([^\n]*)/.exec(desc)?.[1]?.trim().toLowerCase();
  const res = num(t, 282);
  return unit && UNIT_NM[unit] && res && res > 0 ? UNIT_NM[unit] / res : undefined;
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
  if (data.length !== P * h * w) throw new InternalError(`TIFF data has ${data.length} values, shape ${shape.join('x')} needs ${P * h * w}`);
  const px = opts.pixelSizeNm;
  if (px !== undefined && !(px > 0 && Number.isFinite(px))) throw new InternalError(`TIFF pixelSizeNm must be > 0, got ${px}`);
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
