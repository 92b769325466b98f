/**
 * results.csv: one row per phantom x dose x method x element x metric, appended in blocks (one
 * block per phantom x dose x method, written with one append so a block is whole or absent). A
 * trailing partial line from an interrupted run is cut off on reopening; blocks already present
 * are not recomputed (resume).
 */
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
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

/** Reads results.csv (creating it with the header when absent); repairs an interrupted last line. */
export function openResults(path: string): ResultRow[] {
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

export function appendBlock(path: string, rows: ResultRow[]): void {
  appendFileSync(path, formatRows(rows));
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
