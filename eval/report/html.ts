/**
 * Plots (vega-lite -> SVG + PNG through generators/common/plot.ts) and a self-contained report.html:
 * settings, the dose-reduction table, quality-vs-dose plots and central slices of the phantom and of
 * the reconstructions per method at two doses, all inline as PNG data URIs.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { renderSvg, svgToPng, type VegaLiteSpec } from '../../generators/common/plot.ts';
import { writeFileAtomic } from '../../generators/common/atomic.ts';
import { formatDrf, type Summary } from './summary.ts';
import { sliceName } from '../harness/results.ts';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fmt = (v: number, p = 3) => (Number.isFinite(v) ? Number(v.toPrecision(p)).toString() : '-');

export function curveSpec(summary: Summary, metric: string): VegaLiteSpec | null {
  const values: { dose: number; method: string; element: string; value: number; lo: number; hi: number }[] = [];
  for (const m of summary.methods) for (const e of summary.elements) {
    const c = summary.curves[m]?.[e]?.[metric];
    if (!c) continue;
    c.doses.forEach((d, j) => { if (Number.isFinite(c.mean[j])) values.push({ dose: d, method: m, element: e, value: c.mean[j], lo: c.mean[j] - c.sd[j], hi: c.mean[j] + c.sd[j] }); });
  }
  if (values.length === 0) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values },
    facet: { column: { field: 'element', type: 'nominal', title: null } },
    spec: {
      width: 260, height: 200,
      layer: [
        { mark: { type: 'line', point: true }, encoding: {
          x: { field: 'dose', type: 'quantitative', scale: { type: 'log' }, title: `dose (${summary.doseUnit})` },
          y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: metric },
          color: { field: 'method', type: 'nominal' } } },
        { mark: { type: 'errorbar' }, encoding: {
          x: { field: 'dose', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'lo', type: 'quantitative', title: metric }, y2: { field: 'hi' },
          color: { field: 'method', type: 'nominal' } } },
      ],
    },
    title: `${metric} vs dose (mean +- sd over ${summary.phantoms.length} phantoms, ${summary.recon})`,
  } as unknown as VegaLiteSpec;
}

function pngDataUri(map: Float32Array, h: number, w: number, range: [number, number]): string {
  let lo = range[0], hi = range[1];
  const s = hi > lo ? 255 / (hi - lo) : 0;
  const g = new Uint8Array(h * w);
  for (let i = 0; i < h * w; i++) g[i] = Math.max(0, Math.min(255, Math.round((map[i] - lo) * s)));
  return 'data:image/png;base64,' + Buffer.from(encode({ width: w, height: h, data: g, channels: 1, depth: 8 })).toString('base64');
}

export async function writeReport(out: string, summary: Summary, o: { sliceDoses: number[]; phantom: number; size: number }): Promise<void> {
  mkdirSync(join(out, 'plots'), { recursive: true });
  const metrics = new Set<string>();
  for (const m of summary.methods) for (const e of summary.elements) for (const k of Object.keys(summary.curves[m]?.[e] ?? {})) metrics.add(k);
  const plots: { metric: string; png: string }[] = [];
  for (const metric of [...metrics].sort()) {
    const spec = curveSpec(summary, metric);
    if (!spec) continue;
    const svg = await renderSvg(spec);
    const png = svgToPng(svg);
    writeFileAtomic(join(out, 'plots', `${metric}.svg`), svg);
    writeFileAtomic(join(out, 'plots', `${metric}.png`), png);
    plots.push({ metric, png: 'data:image/png;base64,' + Buffer.from(png).toString('base64') });
  }
  const drfRows: string[] = [];
  for (const m of Object.keys(summary.drf)) for (const e of Object.keys(summary.drf[m])) {
    const h = summary.headline[m][e];
    const all = summary.drf[m][e].map((p) => `${esc(formatDrf(p))} at ${fmt(p.dose)}`).join('<br>');
    drfRows.push(`<tr><td>${esc(m)}</td><td>${esc(e)}</td><td><b>${esc(formatDrf(h))}</b></td><td class="small">${all || '-'}</td></tr>`);
  }
  // Slices: phantom and each method at the two doses, one colour range per element (the phantom's for the truth, per image otherwise).
  const N = o.size;
  const sliceRows: string[] = [];
  const read = (d: number, m: string, e: string): Float32Array | null => {
    const p = join(out, 'slices', sliceName(o.phantom, d, m, e));
    if (!existsSync(p)) return null;
    const b = readFileSync(p);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const range = (a: Float32Array): [number, number] => { let lo = Infinity, hi = -Infinity; for (const v of a) { if (v < lo) lo = v; if (v > hi) hi = v; } return [Math.min(lo, 0), hi]; };
  const head = summary.elements.filter((e) => !e.includes('/')).flatMap((e) => o.sliceDoses.map((d) => `<th>${esc(e)} @ ${fmt(d)}</th>`)).join('');
  const truthCells = summary.elements.filter((e) => !e.includes('/')).flatMap((e) => o.sliceDoses.map(() => { const a = read(0, 'phantom', e); return a ? `<td><img src="${pngDataUri(a, N, N, range(a))}" width="${Math.max(96, 2 * N)}"></td>` : '<td>-</td>'; })).join('');
  sliceRows.push(`<tr><th>phantom</th>${truthCells}</tr>`);
  for (const m of summary.methods) {
    const cells = summary.elements.filter((e) => !e.includes('/')).flatMap((e) => o.sliceDoses.map((d) => { const a = read(d, m, e); return a ? `<td><img src="${pngDataUri(a, N, N, range(a))}" width="${Math.max(96, 2 * N)}"></td>` : '<td>-</td>'; })).join('');
    sliceRows.push(`<tr><th>${esc(m)}</th>${cells}</tr>`);
  }
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>nanodose dose-efficiency report</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}.small{font-size:80%}img{image-rendering:pixelated}</style></head><body>
<h1>nanodose dose-efficiency report</h1>
<p>Split <b>${esc(summary.split)}</b>, ${summary.phantoms.length} phantoms, ${summary.doses.length} doses from ${fmt(summary.doses[0])} to ${fmt(summary.doses[summary.doses.length - 1])} ${esc(summary.doseUnit)} (${summary.nAngles} tilts), reconstruction <b>${esc(summary.recon)}</b>, methods ${summary.methods.map(esc).join(', ')}.</p>
<h2>Dose-reduction factor against raw (${esc(summary.drfMetric)})</h2>
<p>D_raw(q) / D_method(q) by log-linear interpolation of the mean quality-vs-dose curves, at the quality each method reaches at each sweep dose (raw is evaluated up to ${fmt(summary.rawDoses[summary.rawDoses.length - 1])} ${esc(summary.doseUnit)}, above the sweep, to read off the dose it needs); headline = median over the sweep (a lower bound, marked &gt;=, where the method beats raw at raw's highest dose); bootstrap 95 % interval over phantoms (${summary.bootstrap.resamples} resamples).</p>
<table><tr><th>method</th><th>element</th><th>DRF (median) [95 % CI]</th><th>DRF [CI] at the method's quality at dose</th></tr>${drfRows.join('') || '<tr><td colspan="4">only raw was evaluated</td></tr>'}</table>
<h2>Quality vs dose</h2>
${plots.map((p) => `<h3>${esc(p.metric)}</h3><img src="${p.png}" style="max-width:100%">`).join('\n')}
<h2>Central slices (phantom ${o.phantom})</h2>
<table><tr><th></th>${head}</tr>${sliceRows.join('')}</table>
</body></html>`;
  writeFileAtomic(join(out, 'report.html'), html);
}
