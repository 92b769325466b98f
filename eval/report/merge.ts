/**
 * The evaluation at cluster scale: `eval --shard i/k` evaluates the (phantom, dose) pairs whose
 * index in the grid (phantoms in split order, then doses: the sweep, then raw's doses above it) is
 * i modulo k, into its own folder; `nanodose report PART...` merges the parts into one results.csv,
 * summary.json and report.html, byte-identical to a single-process run of the same settings.
 *
 * Why identical: every block's noise is drawn from stream(seed, phantom, 'eval-noise', dose), the
 * baseline tuning uses only validation phantoms (every shard computes the same tuning.json), and the
 * rows are written and summarised in one canonical block order (canonicalBlocks), whatever order or
 * process computed them.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../core/atomic.ts';
import { summarise, type Summary } from './summary.ts';
import { writeReport } from './html.ts';
import type { StageTimes } from '../stage-times.ts';
import { CSV_HEADER, blockKey, doseKey, openResults, formatRows, readWarnings, writeWarnings, type ResultRow, type BlockWarnings } from '../harness/results.ts';
import { ConfigError } from '../../core/validate.ts';

/** eval.json: everything the summary and the report need besides the rows, slices and tuning. */
export interface RunRecord {
  version: 1;
  shard: { index: number; count: number };
  split: string;
  methods: string[];
  doses: number[];
  rawDoses: number[];
  /** The method the DRF is also read against (Gaussian + SIRT), evaluated at these doses (the sweep and above it, within rawDoses). */
  reference?: { method: string; doses: number[] };
  /** How each method reconstructs (--recon or its own spec). */
  reconstructions?: Record<string, string>;
  elements: string[];
  phantoms: number[];
  drfMetric: string;
  bootstrap: number;
  seed: string;
  nAngles: number;
  recon: string;
  pixelSizeNm?: number;
  report: { sliceDoses: number[]; phantom: number; size: number };
}

/** 'i/k' with 0 <= i < k (0-based, as job-array task ids usually are). */
export function parseShard(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count)) throw new ConfigError('shard', `expected i/k with 0 <= i < k (e.g. 0/4 for the first of four parts), got '${spec}'`);
  return { index, count };
}

/** The (phantom, dose) pairs of the grid in order; pair j belongs to shard j mod k. */
export function gridPairs(r: Pick<RunRecord, 'phantoms' | 'doses' | 'rawDoses'>): [number, number][] {
  const rawOnly = r.rawDoses.filter((d) => !r.doses.includes(d));
  return r.phantoms.flatMap((p) => [...r.doses, ...rawOnly].map((d) => [p, d] as [number, number]));
}

/** Block keys in the order a single process computes and writes them: phantom, dose, method. */
export function canonicalBlocks(r: Pick<RunRecord, 'phantoms' | 'doses' | 'rawDoses' | 'methods' | 'reference'>, shard?: { index: number; count: number }): string[] {
  const sweep = new Set(r.doses.map(doseKey));
  const refAt = new Set((r.reference?.doses ?? []).map(doseKey));
  return gridPairs(r).flatMap(([p, d], j) => {
    if (shard && j % shard.count !== shard.index) return [];
    // above the sweep: raw, and the reference where it is evaluated there
    return (sweep.has(doseKey(d)) ? r.methods : r.methods.filter((m) => m === 'raw' || (m === r.reference?.method && refAt.has(doseKey(d))))).map((m) => blockKey(p, d, m));
  });
}

/** The rows of the given blocks, block by block in that order (rows within a block as written). */
export function orderRows(rows: ResultRow[], blocks: string[]): ResultRow[] {
  const by = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const k = blockKey(r.phantom, r.dose, r.method);
    let b = by.get(k);
    if (!b) by.set(k, (b = []));
    b.push(r);
  }
  return blocks.flatMap((k) => by.get(k) ?? []);
}

/** summary.json and (unless report is false) plots/ and report.html from the rows of a whole grid. */
export async function finishEvaluation(out: string, rec: RunRecord, rows: ResultRow[], tuning: unknown, report = true, times?: StageTimes): Promise<Summary> {
  times?.start('summary');
  const blocks = canonicalBlocks(rec);
  const ordered = orderRows(rows, blocks);
  const inRun = new Set(blocks);
  const warned = Object.entries(readWarnings(out)).filter(([k]) => inRun.has(k));
  const summary = summarise(ordered, {
    ...(warned.length ? { warnings: Object.fromEntries(warned) } : {}),
    doses: rec.doses, rawDoses: rec.rawDoses, ...(rec.reference ? { reference: rec.reference } : {}), ...(rec.reconstructions ? { reconstructions: rec.reconstructions } : {}), methods: rec.methods, elements: rec.elements, phantoms: rec.phantoms, drfMetric: rec.drfMetric,
    bootstrap: rec.bootstrap, seed: rec.seed, nAngles: rec.nAngles, recon: rec.recon, tuning, split: rec.split, pixelSizeNm: rec.pixelSizeNm,
  });
  writeFileAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 1));
  times?.stop('summary');
  if (report) await writeReport(out, summary, rec.report, times);
  return summary;
}

const sameRun = (a: RunRecord, b: RunRecord) => JSON.stringify({ ...a, shard: a.shard.count }) === JSON.stringify({ ...b, shard: b.shard.count });

export function readRecord(dir: string): RunRecord {
  const p = join(dir, 'eval.json');
  if (!existsSync(p)) throw new ConfigError(dir, `no eval.json; not a folder written by nanodose eval (or written by a version before --shard)`);
  const r = JSON.parse(readFileSync(p, 'utf8')) as RunRecord;
  if (r.version !== 1 || !r.shard || !Array.isArray(r.phantoms)) throw new ConfigError(p, `not a nanodose eval record (version ${String(r.version)})`);
  return r;
}

/**
 * Merges the folders of `eval --shard i/k` (every i of one k, same settings) into `out`: results.csv
 * in canonical order, tuning.json, slices/, eval.json (as a single run writes it), summary.json,
 * plots/ and report.html. Checks every part before writing anything.
 */
export async function mergeShards(parts: string[], out: string, o: { report?: boolean; quiet?: boolean } = {}): Promise<{ summary: Summary; rows: number }> {
  if (parts.length === 0) throw new ConfigError('report', 'name the result folders to merge (the --out folders of eval --shard i/k)');
  const outAbs = resolve(out);
  for (const p of parts) if (resolve(p) === outAbs && parts.length > 1) throw new ConfigError('out', `${out} is one of the parts; write the merged report to a new folder`);
  const recs = parts.map(readRecord);
  const k = recs[0].shard.count;
  for (let i = 1; i < recs.length; i++) {
    if (!sameRun(recs[0], recs[i])) throw new ConfigError(parts[i], `evaluated with other settings than ${parts[0]} (eval.json differs beyond the shard index); merge parts of one run only`);
  }
  const seen = new Map<number, string>();
  for (let i = 0; i < recs.length; i++) {
    const j = recs[i].shard.index;
    if (seen.has(j)) throw new ConfigError(parts[i], `shard ${j}/${k} is also in ${seen.get(j)}`);
    seen.set(j, parts[i]);
  }
  const missing = Array.from({ length: k }, (_, j) => j).filter((j) => !seen.has(j));
  if (missing.length) throw new ConfigError('report', `shard${missing.length > 1 ? 's' : ''} ${missing.map((j) => `${j}/${k}`).join(', ')} missing (got ${parts.length} of ${k} parts)`);
  const rows: ResultRow[] = [];
  const warnings: BlockWarnings = {};
  let tuningText: string | null = null;
  for (let i = 0; i < parts.length; i++) {
    const want = canonicalBlocks(recs[i], recs[i].shard);
    const csv = join(parts[i], 'results.csv');
    if (!existsSync(csv)) throw new ConfigError(parts[i], `no results.csv`);
    const got = openResults(csv);
    const have = new Set(got.map((r) => blockKey(r.phantom, r.dose, r.method)));
    const lack = want.filter((b) => !have.has(b));
    if (lack.length) throw new ConfigError(parts[i], `shard ${recs[i].shard.index}/${k} is incomplete (${want.length - lack.length} of ${want.length} blocks); run its eval --shard again, it resumes`);
    rows.push(...orderRows(got, want));
    const wantSet = new Set(want);
    for (const [b, w] of Object.entries(readWarnings(parts[i]))) if (wantSet.has(b)) warnings[b] = w;
    const tp = join(parts[i], 'tuning.json');
    const t = existsSync(tp) ? readFileSync(tp, 'utf8') : '{}';
    if (tuningText !== null && t !== tuningText) throw new ConfigError(parts[i], `tuning.json differs from ${parts[0]}'s; the parts were not run with the same settings`);
    tuningText = t;
  }
  mkdirSync(join(out, 'slices'), { recursive: true });
  const rec: RunRecord = { ...recs[0], shard: { index: 0, count: 1 } };
  const ordered = orderRows(rows, canonicalBlocks(rec));
  writeFileAtomic(join(out, 'results.csv'), CSV_HEADER + '\n' + formatRows(ordered));
  writeFileAtomic(join(out, 'tuning.json'), tuningText ?? '{}');
  writeWarnings(out, warnings);
  for (const p of parts) {
    const sd = join(p, 'slices');
    if (!existsSync(sd)) continue;
    for (const f of readdirSync(sd)) if (f.endsWith('.f32') && resolve(sd) !== resolve(out, 'slices')) copyFileSync(join(sd, f), join(out, 'slices', f));
  }
  writeRecord(out, rec);
  const summary = await finishEvaluation(out, rec, ordered, JSON.parse(tuningText ?? '{}'), o.report ?? true);
  if (!o.quiet) console.log(`report: merged ${parts.length} part${parts.length > 1 ? 's' : ''} (${ordered.length} rows) into ${join(out, 'results.csv')}, summary.json${o.report ?? true ? ', plots/ and report.html' : ''}`);
  return { summary, rows: ordered.length };
}

export function writeRecord(out: string, rec: RunRecord): void {
  writeFileAtomic(join(out, 'eval.json'), JSON.stringify(rec, null, 1));
}
