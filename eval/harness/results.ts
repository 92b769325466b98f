/**
 * results.csv: one row per phantom x dose x method x element x metric, appended in blocks (one
 * block per phantom x dose x method). A block is whole or absent after any interruption: before
 * its bytes are appended, `results.csv.pending` records (temporary name + rename) the file's size
 * and the block's length; the block is written, flushed to disk (fsync) and the record removed. A
 * kill, a full disk or a power cut inside the append leaves the record, and reopening cuts the
 * file back to the recorded size, dropping the whole incomplete block (its whole lines too), which
 * the resumed run recomputes identically. A trailing partial line (files from runs before the
 * record) is cut off on reopening as well; blocks already present are not recomputed (resume).
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic.ts';
import { ConfigError } from '../../core/validate.ts';

export const CSV_HEADER = 'phantom,dose,method,element,metric,value';

export interface ResultRow { phantom: number; dose: number; method: string; element: string; metric: string; value: number }

/** Dose formatted identically on write and read (keys of the resume set). */
export function doseKey(d: number): string { return Number(d.toPrecision(6)).toString(); }
export function blockKey(phantom: number, dose: number, method: string): string { return `${phantom}|${doseKey(dose)}|${method}`; }

function csvField(s: string): string { return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; }

function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '', q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) { if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch; }
    else if (ch === '"') q = true; else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** The record of a block append under way (see the module comment). */
export function pendingPath(path: string): string { return `${path}.pending`; }

/**
 * Reads results.csv (creating it with the header when absent); drops a block whose append was
 * interrupted (results.csv.pending) and an interrupted last line.
 */
export function openResults(path: string): ResultRow[] {
  const pending = pendingPath(path);
  if (existsSync(pending)) {
    let rec: { size?: unknown };
    try {
      rec = JSON.parse(readFileSync(pending, 'utf8')) as { size?: unknown };
    } catch {
      rec = {};
    }
    if (!(typeof rec.size === 'number' && Number.isInteger(rec.size) && rec.size >= 0)) throw new ConfigError(pending, `not a nanodose append record (expected {"size": bytes, "bytes": n}); remove it and the last block of ${path} to resume`);
    if (existsSync(path) && statSync(path).size > rec.size) truncateSync(path, rec.size);
    rmSync(pending);
  }
  if (!existsSync(path)) { appendFileSync(path, CSV_HEADER + '\n'); return []; }
  let text = readFileSync(path, 'utf8');
  if (text.length && !text.endsWith('\n')) {
    const cut = text.lastIndexOf('\n') + 1;
    truncateSync(path, Buffer.byteLength(text.slice(0, cut)));
    text = text.slice(0, cut);
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) { appendFileSync(path, CSV_HEADER + '\n'); return []; }
  if (lines[0] !== CSV_HEADER) throw new ConfigError(path, `not a nanodose results file (header '${lines[0]}', expected '${CSV_HEADER}')`);
  const rows: ResultRow[] = [];
  for (const l of lines.slice(1)) {
    const f = splitCsv(l);
    if (f.length !== 6) throw new ConfigError(path, `malformed row '${l}'`);
    rows.push({ phantom: Number(f[0]), dose: Number(f[1]), method: f[2], element: f[3], metric: f[4], value: f[5] === '' ? NaN : Number(f[5]) });
  }
  return rows;
}

/** Rows as CSV lines, each ending in a newline (what appendBlock writes and a merge rewrites). */
export function formatRows(rows: ResultRow[]): string {
  return rows.map((r) => [String(r.phantom), doseKey(r.dose), csvField(r.method), csvField(r.element), csvField(r.metric), Number.isFinite(r.value) ? String(r.value) : ''].join(',') + '\n').join('');
}

/** Appends one block so that it is whole or absent after any interruption (see the module comment). */
export function appendBlock(path: string, rows: ResultRow[]): void {
  const bytes = Buffer.from(formatRows(rows), 'utf8');
  const size = statSync(path).size;
  writeFileAtomic(pendingPath(path), JSON.stringify({ size, bytes: bytes.length }));
  const fd = openSync(path, 'r+');
  try {
    for (let o = 0; o < bytes.length; ) o += writeSync(fd, bytes, o, bytes.length - o, size + o);
    fsyncSync(fd);
  } catch (e) {
    // a full disk: cut the partial block off at once (the record would on the next open)
    try { truncateSync(path, size); rmSync(pendingPath(path)); } catch { /* the record stays: the next open repairs */ }
    throw e;
  } finally {
    closeSync(fd);
  }
  rmSync(pendingPath(path));
}

/** File name of a stored central slice (slices/ in the report folder). */
export function sliceName(p: number, d: number, method: string, element: string): string {
  return `${p}_${doseKey(d)}_${method.replace(/[^A-Za-z0-9._-]/g, '_')}_${element}.f32`;
}

/**
 * warnings.json beside results.csv: a method's warnings per block (blockKey -> messages), e.g.
 * haadf-quant's Au/Pt ill-conditioning. Written (temp name + rename) before the block's rows are
 * appended, so every block in results.csv has its warnings on disk; read back on resume and merge.
 */
export type BlockWarnings = Record<string, string[]>;

export function warningsPath(out: string): string { return join(out, 'warnings.json'); }

export function readWarnings(out: string): BlockWarnings {
  const p = warningsPath(out);
  if (!existsSync(p)) return {};
  const w = JSON.parse(readFileSync(p, 'utf8')) as unknown;
  if (typeof w !== 'object' || w === null || Array.isArray(w) || !Object.values(w).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw new ConfigError(p, `not a nanodose warnings file (expected {block: [messages]})`);
  return w as BlockWarnings;
}

export function writeWarnings(out: string, w: BlockWarnings): void {
  const sorted = Object.fromEntries(Object.keys(w).sort().map((k) => [k, w[k]]));
  writeFileAtomic(warningsPath(out), JSON.stringify(sorted, null, 1));
}
