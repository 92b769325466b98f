/**
 * Protocol mode (science.md section 7, "protocol comparison at equal total dose"): at a fixed total
 * dose over the tilt series, compare acquisition schemes built from the dataset's tilt series:
 *   - number of tilts: every k-th tilt of the dataset (k = 1, 2, 4), the dose per projection
 *     rising as D_total / n_tilts;
 *   - tilt range: only tilts with |theta| <= a limit (full, 60, 45 degrees where narrower);
 *   - detector solid angle: EDX counts scaled by Omega / Omega_dataset (0.5, 2, 4) at the same
 *     electron dose (science.md section 4: counts are proportional to the solid angle).
 * Each scheme is a full evaluation (eval/harness/run.ts, resumable) in protocols/<scheme>/; the
 * comparison ranks the tilt schemes (at solid angle x1) by the mean of the chosen metric over test
 * phantoms and elements, and reports the solid-angle schemes beside them.
 * HAADF-only versus EDX at equal dose: when a HAADF-only method (haadf-quant, eval/harness/methods.ts
 * edx: false) is listed beside EDX methods, every scheme compares it per element with the best EDX
 * method at the same electron dose (one beam makes both signals, so the dose is the same; the solid
 * angle scales only the EDX counts), and `haadfVsEdx` says which wins by how much.
 * Frames are not a separate axis here: with Poisson counting and no read noise the sum of F frames
 * at D/F has exactly the distribution of one frame at D, so for the summed counts the frame count
 * does not change quality (it matters only to frame-based denoisers, trained on even/odd halves).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Seed } from '../../core/random.ts';
import { writeFileAtomic } from '../../core/atomic.ts';
import { renderSvg, svgToPng, type VegaLiteSpec } from '../../core/plot.ts';
import { parseDoseSweep } from '../dose.ts';
import { runEvaluation, type EvalSource } from './run.ts';
import { parseMethods } from './denoise.ts';
import { VOLUME_METHODS } from './methods.ts';
import { ConfigError } from '../../core/validate.ts';

export interface ProtocolScheme { name: string; angleIdx: number[]; solidAngle: number }

export function protocolSchemes(angles: ArrayLike<number>): ProtocolScheme[] {
  const all = Array.from({ length: angles.length }, (_, i) => i);
  const maxAbs = Math.max(...Array.from(angles, Math.abs));
  const ranges = [maxAbs, ...[60, 45].filter((r) => r < maxAbs - 1e-9)];
  const out: ProtocolScheme[] = [];
  for (const r of ranges) for (const k of [1, 2, 4]) {
    const idx = all.filter((i) => Math.abs(angles[i]) <= r + 1e-9).filter((_, j) => j % k === 0);
    if (idx.length < 3) continue;
    out.push({ name: `range${Math.round(r)}_tilts${idx.length}`, angleIdx: idx, solidAngle: 1 });
  }
  for (const s of [0.5, 2, 4]) out.push({ name: `range${Math.round(maxAbs)}_tilts${all.length}_omega${s}`, angleIdx: all, solidAngle: s });
  return out;
}

/** A view of a source with a subset of tilts and element counts scaled by a solid-angle factor. */
export function schemeSource(src: EvalSource, s: ProtocolScheme): EvalSource {
  const N = src.shape.size, nCols = src.shape.nCols, nA = src.angles.length, proj = N * nCols;
  const elementChannels = new Set(src.elements.map((e) => src.channels.indexOf(e.symbol)));
  return {
    channels: src.channels, elements: src.elements, shape: src.shape, seed: src.seed, config: src.config,
    angles: Float64Array.from(s.angleIdx, (i) => src.angles[i]),
    indices: (split) => src.indices(split),
    async readSample(i, what) {
      const x = await src.readSample(i, what);
      if (!x.clean) return x;
      const C = src.channels.length, nB = s.angleIdx.length;
      const clean = new Float32Array(C * nB * proj);
      for (let c = 0; c < C; c++) {
        const f = elementChannels.has(c) ? s.solidAngle : 1;
        s.angleIdx.forEach((a, j) => {
          const from = (c * nA + a) * proj, to = (c * nB + j) * proj;
          for (let k = 0; k < proj; k++) clean[to + k] = x.clean![from + k] * f;
        });
      }
      return { ...x, clean };
    },
  };
}

export interface ProtocolOptions {
  data: string | EvalSource;
  split?: 'train' | 'val' | 'test';
  methods: string | string[];
  recon?: string;
  out: string;
  seed?: Seed;
  maxPhantoms?: number;
  workers?: number;
  /** Total dose over the tilt series (e/A^2); default: middle of `doses` x number of tilts. */
  totalDose?: number;
  doses?: string | number[];
  metric?: string;
  quiet?: boolean;
}

export interface ProtocolResult { scheme: string; tilts: number; range: number; solidAngle: number; dosePerProjection: number; method: string; score: number; /** the metric's mean per element */ elements: Record<string, number>; /** the method's warnings in this scheme (haadf-quant's ill-conditioning) */ warnings?: string[] }

/** One scheme, one element: the HAADF-only method against the best EDX method at the same dose. */
export interface HaadfVsEdx { scheme: string; solidAngle: number; dosePerProjection: number; element: string; haadfMethod: string; haadf: number; edxMethod: string; edx: number; winner: 'haadf' | 'edx' }

export async function runProtocols(o: ProtocolOptions): Promise<{ results: ProtocolResult[]; best: Record<string, ProtocolResult>; haadfVsEdx: HaadfVsEdx[] }> {
  // which listed methods read only the HAADF (checked before any work)
  const parsed = parseMethods(o.methods);
  const haadfOnly = new Set(parsed.filter((m) => m.volume && !VOLUME_METHODS[m.volume.method].edx).map((m) => m.name));
  let src: EvalSource, own = false;
  if (typeof o.data === 'string') { const ds = await import('../../datasets/index.ts'); src = (await ds.openDataset(o.data)) as unknown as EvalSource; own = true; } else src = o.data;
  const metric = o.metric ?? 'psnr';
  let total = o.totalDose;
  if (total === undefined) {
    const d = o.doses === undefined ? [1e3] : typeof o.doses === 'string' ? parseDoseSweep(o.doses) : o.doses;
    total = d[Math.floor(d.length / 2)] * src.angles.length;
  }
  if (!(total > 0)) throw new ConfigError('total-dose', `must be > 0, got ${total}`);
  mkdirSync(o.out, { recursive: true });
  const results: ProtocolResult[] = [];
  try {
    for (const s of protocolSchemes(src.angles)) {
      const dpp = total / s.angleIdx.length;
      if (!o.quiet) console.log(`protocol ${s.name}: ${s.angleIdx.length} tilts, ${dpp.toPrecision(4)} e/A^2 per projection, solid angle x${s.solidAngle}`);
      const r = await runEvaluation({ data: schemeSource(src, s), split: o.split, methods: o.methods, doses: [dpp], recon: o.recon, out: join(o.out, 'protocols', s.name), seed: o.seed, maxPhantoms: o.maxPhantoms, workers: o.workers, quiet: true, report: false, bootstrap: 10, reference: null });
      const angles = s.angleIdx.map((i) => src.angles[i]);
      for (const m of r.summary.methods) {
        const per: Record<string, number> = {};
        for (const e of src.elements) { const v = r.summary.curves[m]?.[e.symbol]?.[metric]?.mean[0]; if (v !== undefined && Number.isFinite(v)) per[e.symbol] = v; }
        const vals = Object.values(per);
        results.push({ scheme: s.name, tilts: s.angleIdx.length, range: Math.max(...angles.map(Math.abs)), solidAngle: s.solidAngle, dosePerProjection: dpp, method: m, score: vals.reduce((a, b) => a + b, 0) / (vals.length || NaN), elements: per, ...(r.summary.warnings?.[m] ? { warnings: r.summary.warnings[m].map((w) => w.message) } : {}) });
      }
    }
  } finally {
    if (own) await src.close?.();
  }
  const lower = metric === 'nrmse' || metric === 'shell_error';
  const best: Record<string, ProtocolResult> = {};
  // The best tilt scheme is chosen at the dataset's detector (solid angle x1); a larger detector
  // always gives more counts at the same dose, so its schemes are reported as a gain, not ranked.
  for (const r of results) {
    if (r.solidAngle !== 1) continue;
    const b = best[r.method];
    if (!b || (lower ? r.score < b.score : r.score > b.score)) best[r.method] = r;
  }
  // HAADF-only against the best EDX method, per scheme and element, at the scheme's dose
  const haadfVsEdx: HaadfVsEdx[] = [];
  const better = (a: number, b: number) => (lower ? a < b : a > b);
  for (const h of results.filter((r) => haadfOnly.has(r.method))) {
    for (const [el, hv] of Object.entries(h.elements)) {
      let bestEdx: ProtocolResult | undefined;
      for (const r of results) {
        if (r.scheme !== h.scheme || haadfOnly.has(r.method) || r.elements[el] === undefined) continue;
        if (!bestEdx || better(r.elements[el], bestEdx.elements[el])) bestEdx = r;
      }
      if (bestEdx) haadfVsEdx.push({ scheme: h.scheme, solidAngle: h.solidAngle, dosePerProjection: h.dosePerProjection, element: el, haadfMethod: h.method, haadf: hv, edxMethod: bestEdx.method, edx: bestEdx.elements[el], winner: better(hv, bestEdx.elements[el]) ? 'haadf' : 'edx' });
    }
  }
  writeFileAtomic(join(o.out, 'protocols.json'), JSON.stringify({ totalDose: total, metric, results, best, ...(haadfVsEdx.length ? { haadfVsEdx } : {}) }, null, 1));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: results },
    mark: 'bar',
    encoding: { y: { field: 'scheme', type: 'nominal', sort: '-x' }, x: { field: 'score', type: 'quantitative', scale: { zero: false }, title: `mean ${metric}` }, color: { field: 'method', type: 'nominal' }, yOffset: { field: 'method' } },
    title: `protocols at total dose ${total.toPrecision(4)} e/A^2`,
    width: 400,
  } as unknown as VegaLiteSpec;
  const svg = await renderSvg(spec);
  writeFileAtomic(join(o.out, 'protocols.svg'), svg);
  writeFileAtomic(join(o.out, 'protocols.png'), svgToPng(svg));
  if (!o.quiet) for (const r of results) if (r.solidAngle !== 1) console.log(`solid angle x${r.solidAngle} (all tilts), ${r.method}: mean ${metric} ${r.score.toFixed(3)}`);
  if (!o.quiet) for (const [m, b] of Object.entries(best)) console.log(`best protocol for ${m}: ${b.scheme} (${b.tilts} tilts, +-${b.range} deg, solid angle x${b.solidAngle}, ${b.dosePerProjection.toPrecision(4)} e/A^2 per projection): mean ${metric} ${b.score.toFixed(3)}`);
  if (!o.quiet) for (const c of haadfVsEdx) console.log(`HAADF-only vs EDX, ${c.scheme} (${c.dosePerProjection.toPrecision(4)} e/A^2 per projection), ${c.element}: ${c.haadfMethod} ${c.haadf.toFixed(3)} vs best EDX ${c.edxMethod} ${c.edx.toFixed(3)} (${metric}): ${c.winner === 'haadf' ? 'HAADF only' : 'EDX'} wins`);
  return { results, best, haadfVsEdx };
}
