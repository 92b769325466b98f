/**
 * Plots (vega-lite -> SVG + PNG through core/plot.ts) and a self-contained report.html,
 * written for a microscopist: one plain headline sentence (which method needs the least dose for the
 * same quality, by how much, how sure), the dose-reduction table, quality-vs-dose plots with the
 * headline metric first and units on every axis, central slices with scale bars, colour bars and an
 * agreement score against the phantom, and orthogonal central slices as a 3-D impression. All
 * images are inline (PNG data URIs), so the file stands alone. Nothing in it depends on the time or
 * the folder it was written in: the same summary and slices give the same bytes (merged shards).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { renderSvg, svgToPng, type VegaLiteSpec } from '../../core/plot.ts';
import type { StageTimes } from '../stage-times.ts';
import { writeFileAtomic } from '../../core/atomic.ts';
import { formatDrf, headlineSentence, metricOrder, primaryElements, METRICS, DOSE_UNIT, type Summary } from './summary.ts';
import { sliceName } from '../harness/results.ts';
import { pearson } from '../metrics/correlation.ts';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fmt = (v: number, p = 3) => (Number.isFinite(v) ? Number(v.toPrecision(p)).toString() : '-');

/** Axis title of a metric with its unit; shell errors are in nm when the pixel size is known, else voxels. */
export function metricTitle(metric: string, s: Pick<Summary, 'pixelSizeNm'>): string {
  const M = METRICS[metric];
  if (!M) return metric;
  const unit = metric === 'shell_error' && s.pixelSizeNm === undefined ? 'voxels' : M.unit;
  return `${M.label} (${unit})`;
}

/** Facet title of an element key: 'Au', or 'Au core / Pd shell' for a core/shell pair. */
export function panelTitle(element: string): string {
  const [core, shell] = element.split('/');
  return shell ? `${core} core / ${shell} shell` : element;
}

/**
 * One quality-vs-dose figure: a panel per element in the summary's element order, a line per
 * method in the summary's method order (the same colours in every figure), mean +- sd over the
 * phantoms with the bars clipped to the metric's physical range (Dice and SSIM to [0, 1] or
 * [-1, 1], errors at 0).
 */
export function curveSpec(summary: Summary, metric: string): VegaLiteSpec | null {
  const M = METRICS[metric];
  const scale = metric === 'shell_error' ? summary.pixelSizeNm ?? 1 : 1;
  const clip = (v: number) => Math.min(M?.max ?? Infinity, Math.max(M?.min ?? -Infinity, v));
  const values: { dose: number; method: string; panel: string; value: number; lo: number; hi: number }[] = [];
  const elements = summary.elements.filter((e) => summary.methods.some((m) => summary.curves[m]?.[e]?.[metric]));
  for (const m of summary.methods) for (const e of elements) {
    const c = summary.curves[m]?.[e]?.[metric];
    if (!c) continue;
    c.doses.forEach((d, j) => {
      if (!Number.isFinite(c.mean[j])) return;
      const v = c.mean[j] * scale, sd = c.sd[j] * scale;
      values.push({ dose: d, method: m, panel: panelTitle(e), value: v, lo: clip(v - sd), hi: clip(v + sd) });
    });
  }
  if (values.length === 0) return null;
  const yTitle = metricTitle(metric, summary);
  const x = { field: 'dose', type: 'quantitative', scale: { type: 'log' }, title: `dose (${DOSE_UNIT.text})`, axis: { format: '~g' } };
  const color = { field: 'method', type: 'nominal', scale: { domain: summary.methods }, title: 'method' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: elements.map(panelTitle), header: { labelFontSize: 13, labelFontWeight: 'bold' } } },
    spec: {
      width: 260, height: 200,
      layer: [
        { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: yTitle }, color } },
        { mark: { type: 'errorbar' }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' }, color } },
      ],
    },
    title: { text: `${M?.label ?? metric} vs dose`, subtitle: `${M ? M.what + '; ' : ''}mean \u00b1 sd over ${summary.phantoms.length} phantoms, reconstruction ${summary.recon}` },
  } as unknown as VegaLiteSpec;
}

/** Grey PNG of a map: 0 (and below) black, `hi` (and above) white. */
function pngDataUri(map: Float32Array, h: number, w: number, hi: number): string {
  const s = hi > 0 ? 255 / hi : 0;
  const g = new Uint8Array(h * w);
  for (let i = 0; i < h * w; i++) g[i] = Math.max(0, Math.min(255, Math.round(map[i] * s)));
  return 'data:image/png;base64,' + Buffer.from(encode({ width: w, height: h, data: g, channels: 1, depth: 8 })).toString('base64');
}

/** 99.5th percentile of the values (the white level: a few hot voxels do not wash the panel out). */
function whiteLevel(a: Float32Array): number {
  const v = Float32Array.from(a).sort();
  const hi = v[Math.min(v.length - 1, Math.floor(0.995 * (v.length - 1)))];
  return hi > 0 ? hi : v[v.length - 1];
}

/** Pearson correlation of two panels; NaN when either is constant (eval/metrics/correlation.ts). */
export const correlation: (a: Float32Array, b: Float32Array) => number = pearson;

/** Below this correlation with the phantom a panel is flagged: noise or artefacts, not the particle. */
export const ARTEFACT_R = 0.5;

/** A scale-bar length (1, 2 or 5 x 10^k) near a quarter of the field of view. */
export function scaleBarLength(fov: number): number {
  const target = fov / 4;
  const p = 10 ** Math.floor(Math.log10(target));
  return [5, 2, 1].map((k) => k * p).find((v) => v <= target) ?? p;
}

interface PanelGeometry { n: number; width: number; pixelSizeNm?: number }

/** One slice panel: the image with a scale bar burnt over it, its colour bar with the white level, and r against the phantom. */
function panel(map: Float32Array, g: PanelGeometry, ref?: Float32Array | null, caption = ''): string {
  const hi = whiteLevel(map);
  const fov = g.n * (g.pixelSizeNm ?? 1);
  const len = scaleBarLength(fov);
  const barPx = Math.max(1, Math.round((len / fov) * g.width));
  const unit = g.pixelSizeNm !== undefined ? 'nm' : g.n === 1 ? 'voxel' : 'voxels';
  const r = ref ? correlation(map, ref) : NaN;
  const flag = Number.isFinite(r) && r < ARTEFACT_R;
  const rText = ref ? `<div class="r${flag ? ' warn' : ''}">r = ${fmt(r, 2)}${flag ? ': artefact-dominated' : ''}</div>` : '';
  return `<div class="panel"><div class="imgwrap" style="width:${g.width}px"><img src="${pngDataUri(map, g.n, g.n, hi)}" width="${g.width}" height="${g.width}" alt="${esc(caption)}"><div class="scalebar" style="width:${barPx}px"></div><span class="sbl">${fmt(len, 2)} ${unit}</span></div>`
    + `<div class="cbar" style="width:${g.width}px"></div><div class="cbl" style="width:${g.width}px"><span>0</span><span>${fmt(hi, 3)}</span></div>${rText}</div>`;
}

/** The stored planes of a slice file: [xy, xz, yz] central planes (older files hold only xy). */
function readPlanes(path: string, N: number): Float32Array[] | null {
  if (!existsSync(path)) return null;
  const b = readFileSync(path);
  const all = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const k = Math.floor(all.length / (N * N));
  return Array.from({ length: k }, (_, i) => all.subarray(i * N * N, (i + 1) * N * N));
}

export async function writeReport(out: string, summary: Summary, o: { sliceDoses: number[]; phantom: number; size: number }, times?: StageTimes): Promise<void> {
  times?.start('plots');
  mkdirSync(join(out, 'plots'), { recursive: true });
  const metrics = new Set<string>();
  for (const m of summary.methods) for (const e of summary.elements) for (const k of Object.keys(summary.curves[m]?.[e] ?? {})) metrics.add(k);
  const plots: { metric: string; png: string; title: string }[] = [];
  for (const metric of metricOrder(metrics, summary.drfMetric)) {
    const spec = curveSpec(summary, metric);
    if (!spec) continue;
    const svg = await renderSvg(spec);
    const png = svgToPng(svg);
    writeFileAtomic(join(out, 'plots', `${metric}.svg`), svg);
    writeFileAtomic(join(out, 'plots', `${metric}.png`), png);
    plots.push({ metric, title: metricTitle(metric, summary), png: 'data:image/png;base64,' + Buffer.from(png).toString('base64') });
  }
  times?.stop('plots');
  times?.start('report');
  // DRF table in the summary's method and element order (the plots' order)
  // a method's warnings (haadf-quant's Au/Pt ill-conditioning) beside its rows: a mark in the tables, the text under them
  const warned = summary.warnings ?? {};
  const warnMark = (m: string) => (warned[m]?.length ? ` <a href="#warnings" class="warn" title="${esc(warned[m][0].message)}">(warning)</a>` : '');
  const warnHtml = Object.keys(warned).length ? `<h3 id="warnings">Warnings</h3>\n<ul>${Object.entries(warned).flatMap(([m, ws]) => ws.map((w) => `<li class="warn"><b>${esc(m)}</b>: ${esc(w.message)} <span class="small">(${w.blocks} block${w.blocks === 1 ? '' : 's'}, at ${w.doses.map((d) => fmt(d)).join(', ')} ${DOSE_UNIT.text})</span></li>`)).join('')}</ul>` : '';
  const drfRows: string[] = [];
  let onBound = false, censored = false;
  for (const m of summary.methods) for (const e of primaryElements(summary)) {
    const pts = summary.drf[m]?.[e];
    if (!pts) continue;
    const h = summary.headline[m][e];
    if (h && !h.bound && (h.low === h.factor || h.high === h.factor)) onBound = true;
    if (pts.some((p) => p.high === Infinity || p.low === 0)) censored = true;
    const all = pts.map((p) => `${esc(formatDrf(p))} at ${fmt(p.dose)}`).join('<br>');
    drfRows.push(`<tr><td>${esc(m)}${warnMark(m)}</td><td>${esc(e)}</td><td><b>${esc(formatDrf(h))}</b></td><td class="small">${all || '-'}</td></tr>`);
  }
  // the same against the reference method (Gaussian + SIRT): what a new method adds over the classical baseline
  const ref = summary.vsReference;
  const refRows: string[] = [];
  if (ref) for (const m of summary.methods) for (const e of primaryElements(summary)) {
    const pts = ref.drf[m]?.[e];
    if (!pts) continue;
    const all = pts.map((p) => `${esc(formatDrf(p).replace(/\braw\b/g, ref.method))} at ${fmt(p.dose)}`).join('<br>');
    refRows.push(`<tr><td>${esc(m)}${warnMark(m)}</td><td>${esc(e)}</td><td><b>${esc(formatDrf(ref.headline[m][e]).replace(/\braw\b/g, ref.method))}</b></td><td class="small">${all || '-'}</td></tr>`);
  }
  const recons = summary.reconstructions;
  const own = recons ? summary.methods.filter((m) => recons[m] && recons[m] !== summary.recon) : [];
  const n = summary.phantoms.length;
  const notes: string[] = [];
  if (censored) notes.push(`An interval end of 0 or inf means that in more than 2.5 % of the bootstrap resamples one of the curves does not reach the quality at all (raw needs more than its highest evaluated dose, or the method more than the sweep's top): those resamples are kept at that end of the ordering, so the interval is honest but open on that side.`);
  if (onBound || n < 5) notes.push(`With ${n} phantom${n === 1 ? '' : 's'} the bootstrap has few distinct resamples (a share ${fmt(factorialShare(n), 2)} of them reproduce the full sample exactly), so an interval end can coincide with the estimate; more test phantoms (--phantoms) give a finer interval.`);

  // Slices: the phantom once per element, then each method at the slice doses; an xy plane each.
  const N = o.size;
  const width = Math.max(128, Math.min(192, 3 * N));
  const g: PanelGeometry = { n: N, width, pixelSizeNm: summary.pixelSizeNm };
  const els = primaryElements(summary);
  const planes = (d: number, m: string, e: string) => readPlanes(join(out, 'slices', sliceName(o.phantom, d, m, e)), N);
  const truth = new Map(els.map((e) => [e, planes(0, 'phantom', e)]));
  const D = o.sliceDoses.length;
  const doseText = (d: number) => `${fmt(d)} ${DOSE_UNIT.text}`;
  const sliceRows: string[] = [];
  sliceRows.push(`<tr><th></th>${els.map((e) => `<th colspan="${D}">${esc(e)}</th>`).join('')}</tr>`);
  sliceRows.push(`<tr><th></th>${els.map(() => o.sliceDoses.map((d) => `<th>${doseText(d)}</th>`).join('')).join('')}</tr>`);
  sliceRows.push(`<tr><th>phantom</th>${els.map((e) => { const t = truth.get(e); return `<td colspan="${D}" class="c">${t ? panel(t[0], g, null, `phantom ${e}`) : '-'}</td>`; }).join('')}</tr>`);
  let flagged = 0;
  for (const m of summary.methods) {
    const cells = els.flatMap((e) => o.sliceDoses.map((d) => {
      const a = planes(d, m, e);
      if (!a) return '<td>-</td>';
      const ref = truth.get(e)?.[0];
      if (ref && correlation(a[0], ref) < ARTEFACT_R) flagged++;
      return `<td>${panel(a[0], g, ref, `${m} ${e} at ${fmt(d)}`)}</td>`;
    })).join('');
    sliceRows.push(`<tr><th>${esc(m)}</th>${cells}</tr>`);
  }
  // 3-D impression: the three orthogonal central planes at the higher slice dose
  const d3 = o.sliceDoses[o.sliceDoses.length - 1];
  const planeNames = ['xy (z = centre)', 'xz (y = centre)', 'yz (x = centre)'];
  const orthoRows: string[] = [`<tr><th></th>${els.map((e) => `<th colspan="3">${esc(e)}</th>`).join('')}</tr>`, `<tr><th></th>${els.map(() => planeNames.map((p) => `<th>${p}</th>`).join('')).join('')}</tr>`];
  let haveOrtho = false;
  for (const m of ['phantom', ...summary.methods]) {
    const cells = els.map((e) => {
      const a = m === 'phantom' ? truth.get(e) : planes(d3, m, e);
      const t = truth.get(e);
      if (!a || a.length < 3) return `<td colspan="3">-</td>`;
      haveOrtho = true;
      return a.slice(0, 3).map((p, k) => `<td>${panel(p, g, m === 'phantom' ? null : t?.[k], `${m} ${e} ${planeNames[k]}`)}</td>`).join('');
    }).join('');
    orthoRows.push(`<tr><th>${esc(m)}</th>${cells}</tr>`);
  }
  const px = summary.pixelSizeNm;
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>nanodose dose-efficiency report</title>
<style>body{font-family:sans-serif;max-width:1280px;margin:2em auto;line-height:1.4}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}.small{font-size:80%}.note{font-size:90%;color:#333}
p.headline{font-size:125%;background:#eef5ff;border-left:5px solid #2a6ebb;padding:.6em 1em}
.panel{display:inline-block;font-size:75%}.imgwrap{position:relative}.imgwrap img{display:block;image-rendering:pixelated}
.scalebar{position:absolute;left:6px;bottom:6px;height:4px;background:#fff;outline:1px solid #000}.sbl{position:absolute;left:6px;bottom:12px;color:#fff;text-shadow:0 0 2px #000,0 0 2px #000}
.cbar{height:8px;margin-top:3px;background:linear-gradient(to right,#000,#fff);outline:1px solid #999}.cbl{display:flex;justify-content:space-between}
.r{color:#333}.warn{color:#b00;font-weight:bold}td.c{text-align:center}</style></head><body>
<h1>nanodose dose-efficiency report</h1>
<p class="headline">${headlineSentence(summary, true)}</p>
<p>Split <b>${esc(summary.split)}</b>, ${n} phantoms, ${summary.doses.length} doses from ${fmt(summary.doses[0])} to ${fmt(summary.doses[summary.doses.length - 1])} ${DOSE_UNIT.text} (${summary.nAngles} tilts), reconstruction <b>${esc(summary.recon)}</b>${own.length ? ` (joint HAADF + EDX methods bring their own: ${own.map((m) => `${esc(m)}: ${esc(recons![m])}`).join(', ')}; their weight is tuned per dose on validation phantoms, tuning.json)` : ''}, methods ${summary.methods.map(esc).join(', ')}${px !== undefined ? `, voxel ${fmt(px)} nm` : ''}.</p>
<h2>Dose-reduction factor against raw (${esc(metricTitle(summary.drfMetric, summary))})</h2>
<p class="note">DRF = D<sub>raw</sub>(q) / D<sub>method</sub>(q): how many times less dose the method needs than raw (no denoising) for the same quality q, read off the mean quality-vs-dose curves by log-linear interpolation at the quality the method reaches at each sweep dose. Raw is evaluated up to ${fmt(summary.rawDoses[summary.rawDoses.length - 1])} ${DOSE_UNIT.text}, above the sweep, to read off the dose it needs. The headline is the median over the sweep (a lower bound, marked &gt;=, where the method beats raw even at raw's highest dose); [95 % interval] from a bootstrap over the phantoms (${summary.bootstrap.resamples} resamples).</p>
${notes.map((t) => `<p class="note">${t}</p>`).join('\n')}
<table><tr><th>method</th><th>element</th><th>DRF (median) [95 % interval]</th><th>DRF [interval] at the method's quality at dose (${DOSE_UNIT.text})</th></tr>${drfRows.join('') || '<tr><td colspan="4">only raw was evaluated</td></tr>'}</table>
${warnHtml}
${ref && refRows.length ? `<h2 data-reference="${esc(ref.method)}">Dose-reduction factor against ${esc(ref.method)} + ${esc(summary.recon)}</h2>
<p class="note">DRF = D<sub>${esc(ref.method)}</sub>(q) / D<sub>method</sub>(q), read as above with ${esc(ref.method)} (evaluated up to ${fmt(ref.doses[ref.doses.length - 1])} ${DOSE_UNIT.text}) in place of raw: how many times less dose the method needs than the classical baseline for the same quality.</p>
<table><tr><th>method</th><th>element</th><th>DRF vs ${esc(ref.method)} (median) [95 % interval]</th><th>DRF [interval] at the method's quality at dose (${DOSE_UNIT.text})</th></tr>${refRows.join('')}</table>` : ''}
<h2>Quality vs dose</h2>
<p class="note">The metric the DRF is read on comes first. Lines: mean over the phantoms; bars: \u00b1 one standard deviation, clipped to the metric's range.</p>
${plots.map((p) => `<h3 data-metric="${esc(p.metric)}">${esc(p.title)}</h3><img class="plot" data-metric="${esc(p.metric)}" src="${p.png}" style="max-width:100%">`).join('\n')}
<h2>Central slices (phantom ${o.phantom})</h2>
<p class="note">Plane: the central xy slice (z = ${Math.floor(N / 2)} of ${N}), perpendicular to the tilt axis (z), where missing-wedge and streak artefacts show. Normalisation: each panel runs from 0 (black) to its own 99.5th percentile (white), given under its colour bar; the phantom is the element's volume fraction, reconstructions are in reconstructed counts per voxel, so compare shapes, not grey levels, across rows. Scale bar: ${px !== undefined ? 'nm' : 'voxels (the dataset states no pixel size)'}. r: correlation of the panel with the phantom's; below ${ARTEFACT_R} it is marked artefact-dominated (noise or streaks rather than the particle)${flagged ? `: ${flagged} panel${flagged === 1 ? '' : 's'} here` : ''}.</p>
<table>${sliceRows.join('')}</table>
${haveOrtho ? `<h2>3-D impression: orthogonal central slices at ${doseText(d3)}</h2>
<p class="note">The three central planes through the volume (xy, xz, yz), normalised as above; xy is perpendicular to the tilt axis (z), xz and yz contain it.</p>
<table>${orthoRows.join('')}</table>` : ''}
</body></html>`;
  writeFileAtomic(join(out, 'report.html'), html);
  times?.stop('report');
}

/** Share of bootstrap resamples of n phantoms that are a permutation of the sample: n! / n^n. */
function factorialShare(n: number): number {
  let s = 1;
  for (let k = 1; k <= n; k++) s *= k / n;
  return s;
}
