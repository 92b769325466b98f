/**
 * `nanodose eval --data FILE`: compares denoisers on a user's own tilt series, which has no ground
 * truth, by held-out counts (eval/heldout/index.ts). Any file of the reader layer (datasets/formats)
 * or one file per channel (HAADF=a.mrc,Au=b.mrc).
 *
 * Per element channel and per view (a tilt, or the one image of a single projection):
 *   - per-frame data (K >= 2 frames per view: --frames K, or K consecutive equal tilt angles): the
 *     first `inputFrames` frames (default floor(K / 2)) are the input, the rest are held out;
 *   - one frame per view: the integer counts are split by binomial thinning, input with probability
 *     p (--thinning, default 0.5), the rest held out; seeded per (seed, channel, view).
 * Every method sees only the input; its estimate of the input's expected counts is scored by the
 * mean Poisson deviance of the held-out counts (and MSE/PSNR against them at the input's level).
 * Parameters left out are chosen on the input alone: the Gaussian's sigma by frame cross-validation
 * inside the input frames when there are >= 2 per view (as the real-data benchmark does), else, like
 * every other classical parameter, by binomial-thinning cross-validation of the input
 * (eval/baselines tuneBaselineByThinning). Models (model:PATH, a `train --out` folder or its best/):
 * a single-channel model is applied to every scored channel; a multi-channel (HAADF-guided) one to
 * its channels by name, the HAADF split like the counts (its input frames, or x p when thinned).
 * Per (channel, method): the mean over views with a 95 % percentile-bootstrap interval over views,
 * and the paired difference from raw with its interval (negative: better than raw).
 * Counts must be integers (after --count-scale S, counts = value x S); every input is checked before
 * any work, each problem one line (exit 2).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../core/validate.ts';
import { framesFromAngles, estimateCountScale, intTol } from '../../datasets/user-counts.ts';
import { stream } from '../../core/random.ts';
import { writeFileAtomic, checkWritable } from '../../core/atomic.ts';
import { BASELINES, denoiseBaseline, parseBaselineSpec, tuneBaselineByThinning, type Baseline } from '../baselines/index.ts';
import { frameSplit, thinningSplit, scoreHeldOut, sigmaByFrameCv, meanWithInterval, CV_SIGMAS, type HeldOutSplit, type HeldOutScore } from './index.ts';

export interface HeldOutEvalOptions {
  /** The file, or one file per channel NAME=FILE,... */
  data: string;
  dataset?: string;
  /** Channels to score (default every channel but the HAADF). */
  channels?: string[];
  /** Comma list: raw, gaussian[:sigma], median[:size], box[:size], tv[:weight], anscombe[:sigma], model:PATH, LABEL=METHOD. */
  methods: string;
  /** Frames per view (default from repeated tilt angles, else 1). */
  frames?: number;
  /** Per-frame data: input frames per view (default floor(K / 2)). */
  inputFrames?: number;
  /** One frame per view: the binomial-thinning probability of the input (default 0.5). */
  thinning?: number;
  /** counts = value x countScale. */
  countScale?: number;
  /** Thinning and bootstrap seed (default 0). */
  seed?: number;
  /** Tilt angles file (default the file's angles, else a .tlt beside it): only to find frames per view. */
  tlt?: string;
  /** Report folder: scores.csv and scores.json. */
  out: string;
  backend?: string;
  quiet?: boolean;
  log?: (line: string) => void;
}

type Method = { label: string; kind: 'raw' } | { label: string; kind: 'baseline'; method: Baseline; param?: number } | { label: string; kind: 'model'; path: string };

export interface HeldOutRow {
  channel: string;
  method: string;
  /** The method's parameter (NaN for raw and models). */
  param: number;
  /** How it was chosen: given, frame cross-validation, thinning cross-validation ('' for raw and models). */
  paramFrom: string;
  views: number;
  deviance: number;
  devianceLo: number;
  devianceHi: number;
  vsRaw: number;
  vsRawLo: number;
  vsRawHi: number;
  mse: number;
  psnr: number;
}

export interface HeldOutReport {
  file: string;
  format: string;
  split: { kind: 'frames'; framesPerView: number; inputFrames: number; framesFrom: string } | { kind: 'thinning'; p: number; seed: number };
  views: number;
  shape: [number, number, number];
  channels: string[];
  rows: HeldOutRow[];
  /** Per channel and method: the deviance of every view. */
  perView: Record<string, Record<string, number[]>>;
}

/** Parses --methods for a user file (raw is always scored first: every difference is against it). */
export function parseHeldOutMethods(spec: string): Method[] {
  const out: Method[] = [{ label: 'raw', kind: 'raw' }];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = /^([A-Za-z][\w.-]*)=(.+)$/.exec(part);
    const label = eq ? eq[1] : part, body = eq ? eq[2] : part;
    let m: Method;
    if (body === 'raw') m = { label, kind: 'raw' };
    else if (body.startsWith('model:')) {
      const path = body.slice(6);
      const dir = existsSync(join(path, 'best', 'model.json')) ? join(path, 'best') : path;
      if (!existsSync(join(dir, 'model.json'))) throw new ConfigError('methods', `'${part}': ${path} is not a model folder (no model.json in it or in ${join(path, 'best')})`);
      m = { label, kind: 'model', path: dir };
    } else if ((BASELINES as readonly string[]).includes(body.split(':')[0])) {
      let b: ReturnType<typeof parseBaselineSpec>;
      try {
        b = parseBaselineSpec(body, 'methods');
      } catch (e) {
        throw new ConfigError('methods', (e as Error).message.replace(/^methods: /, ''));
      }
      m = { label, kind: 'baseline', ...b };
    } else {
      throw new ConfigError('methods', `'${part}' cannot be scored on a user's file; allowed: raw, ${BASELINES.map((b) => `${b}[:param]`).join(', ')}, model:PATH, LABEL=METHOD (joint reconstructions need a simulated dataset)`);
    }
    if (m.kind === 'raw' && label === 'raw') continue;
    if (out.some((o) => o.label === m.label)) throw new ConfigError('methods', `'${m.label}' is listed twice (name one LABEL=METHOD)`);
    out.push(m);
  }
  return out;
}

const frameRange = (a: number, b: number) => (b - a === 1 ? `frame ${a}` : `frames ${a}..${b - 1}`);
const fmtNum = (x: number) => String(Number(x.toPrecision(4)));

/** Thinning cross-validation candidates on a user's file: wider than the simulated-data lists, since real counts are often far lower. */
const USER_CANDIDATES: Partial<Record<Baseline, number[]>> = { gaussian: CV_SIGMAS, anscombe: CV_SIGMAS, tv: [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6], median: [3, 5, 7, 9] };

/** Runs the held-out evaluation of a user's file (module comment); writes OUT/scores.csv and OUT/scores.json. */
export async function evaluateUserFile(o: HeldOutEvalOptions): Promise<HeldOutReport> {
  const log = o.quiet ? () => {} : (o.log ?? ((l: string) => console.log(l)));
  // --- options
  const methods = parseHeldOutMethods(o.methods);
  const p = o.thinning ?? 0.5, seed = o.seed ?? 0;
  if (!(p > 0 && p < 1)) throw new ConfigError('thinning', `must be a probability in (0, 1) (the input's share of the counts), got ${o.thinning}`);
  if (o.frames !== undefined && !(Number.isInteger(o.frames) && o.frames >= 1)) throw new ConfigError('frames', `must be an integer >= 1 (frames per view), got ${o.frames}`);
  if (o.inputFrames !== undefined && !(Number.isInteger(o.inputFrames) && o.inputFrames >= 1)) throw new ConfigError('input-frames', `must be an integer >= 1, got ${o.inputFrames}`);
  if (o.countScale !== undefined && !(o.countScale > 0 && Number.isFinite(o.countScale))) throw new ConfigError('count-scale', `must be a number > 0 (counts = value x scale), got ${o.countScale}`);
  if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${o.seed}`);
  if (existsSync(o.out) && !statSync(o.out).isDirectory()) throw new ConfigError('out', `${o.out} is a file; give a report folder`);
  checkWritable(o.out);

  // --- the file
  const fm = await import('../../datasets/formats/index.ts');
  const perFile = fm.isChannelFileSpec(o.data);
  if (!perFile && !existsSync(o.data)) throw new ConfigError('data', `${o.data}: no such file or directory`);
  const st = perFile ? await fm.readChannelFiles(o.data, { dataset: o.dataset }) : await fm.readTiltStack(o.data, { dataset: o.dataset });
  if (st.channels.length === 1 && st.channels[0].name === 'stack') st.channels[0].name = o.channels?.length === 1 ? o.channels[0] : 'image';
  const names = st.channels.map((c) => c.name);
  const scored = o.channels ?? names.filter((n) => n !== 'HAADF');
  if (scored.length === 0) throw new ConfigError('channels', `${o.data} has only ${names.join(', ')}: name the channel to score (--channels HAADF to score the HAADF itself)`);
  const missing = scored.filter((c) => !names.includes(c));
  if (missing.length) throw new ConfigError('channels', `${o.data}: channel ${missing.join(', ')} missing (the file has ${names.join(', ')})`);
  const [images, h, w] = st.shape, P = h * w;

  // frames per view
  let angles = st.angles ? Array.from(st.angles) : undefined;
  let anglesFrom = st.anglesFrom ?? '';
  const tltPath = o.tlt ?? (perFile ? fm.parseChannelFiles(o.data)[0][1] : o.data).replace(/\.[^./]+$/, '') + '.tlt';
  if (o.tlt !== undefined && !existsSync(o.tlt)) throw new ConfigError('tlt', `${o.tlt}: no such file`);
  if ((o.tlt !== undefined || !angles) && existsSync(tltPath)) {
    const { readTlt } = await import('../../datasets/formats/mrc/mrc.ts');
    const t = Array.from(readTlt(tltPath));
    if (o.tlt !== undefined && t.length !== images) throw new ConfigError('tlt', `${o.tlt} lists ${t.length} angles; ${o.data} has ${images} images`);
    if (t.length === images) { angles = t; anglesFrom = tltPath; }
  }
  let K = 1, framesFrom = 'one image per view';
  if (o.frames !== undefined) {
    K = o.frames;
    framesFrom = '--frames';
    if (images % K !== 0) throw new ConfigError('frames', `${o.data} has ${images} images, not a multiple of ${K} frames per view`);
  } else if (angles && angles.length === images && framesFromAngles(angles) > 1) {
    K = framesFromAngles(angles);
    framesFrom = `${K} consecutive images at each tilt angle (${anglesFrom})`;
  }
  const V = images / K;
  if (o.inputFrames !== undefined && K < 2) throw new ConfigError('input-frames', `applies to per-frame data; ${o.data} has one frame per view (give --frames K when each view is K consecutive frames)`);
  const nIn = o.inputFrames ?? Math.floor(K / 2);
  if (K >= 2 && nIn >= K) throw new ConfigError('input-frames', `must leave frames to hold out: ${nIn} of ${K} frames per view`);
  if (o.thinning !== undefined && K >= 2) throw new ConfigError('thinning', `applies to one frame per view; ${o.data} has ${K} frames per view (split by frames: --input-frames)`);

  // values: finite, >= 0, integer counts (after the count scale)
  const { checkFinite, unravel } = await import('../../core/finite.ts');
  const hasModels = methods.some((m) => m.kind === 'model');
  const counts = new Map<string, Float32Array>();
  for (const c of st.channels) {
    if (!scored.includes(c.name) && !(hasModels && c.name === 'HAADF')) continue;
    const src = `${o.data}${o.dataset ? ` ${o.dataset}` : ''} (${c.name})`;
    checkFinite(c.data, { source: src, shape: st.shape, axes: ['image', 'row', 'col'] });
    if (!scored.includes(c.name)) { counts.set(c.name, c.data); continue; }
    const S = o.countScale ?? 1, y = new Float32Array(c.data.length);
    for (let i = 0; i < y.length; i++) {
      const v = c.data[i] * S, n = Math.round(v);
      if (v >= 0 && Math.abs(v - n) <= intTol(v)) { y[i] = n; continue; }
      const at = unravel(i, st.shape);
      if (!(v >= 0)) throw new ConfigError('data', `${src} has a negative value ${c.data[i]} at [image ${at[0]}, row ${at[1]}, col ${at[2]}]; held-out scoring takes counts >= 0`);
      const est = o.countScale === undefined ? estimateCountScale(c.data) : undefined;
      throw new ConfigError(o.countScale === undefined ? 'data' : 'count-scale', `${src} has ${c.data[i]}${S !== 1 ? ` (x ${S} = ${v})` : ''} at [image ${at[0]}, row ${at[1]}, col ${at[2]}], not an integer count; held-out scoring needs counts: ${est ? `give --count-scale ${est.toPrecision(6)} (estimated from the data)` : 'give --count-scale S when the data were scaled after counting (counts = value x S)'}`);
    }
    counts.set(c.name, y);
  }

  // models: loaded and their channels checked before any work
  type Loaded = { label: string; model: import('@tensorflow/tfjs').LayersModel; metadata: import('../../models/io.ts').ModelMetadata; inC: number; mChans: string[]; outNames: string[] };
  const loaded: Loaded[] = [];
  if (hasModels) {
    const models = await import('../../models/index.ts');
    await models.initBackend({ backend: (o.backend ?? 'auto') as 'auto', quiet: o.quiet });
    for (const m of methods) {
      if (m.kind !== 'model') continue;
      let r: Awaited<ReturnType<typeof models.loadModel>>;
      try {
        r = await models.loadModel(m.path);
      } catch (e) {
        throw new ConfigError('methods', `${m.label}: ${(e as Error).message}`);
      }
      const spec = models.validateModelSpec(r.metadata.spec, `${m.path} metadata.spec`);
      const mChans = r.metadata.channels ?? [], inC = spec.inChannels ?? 1, outC = spec.outChannels ?? 1;
      const outNames = models.outputChannelNames(r.metadata, inC, outC);
      if (inC > 1) {
        const miss = mChans.filter((c) => !names.includes(c));
        if (mChans.length !== inC || miss.length) throw new ConfigError('methods', `${m.label}: the model takes channels ${mChans.join(', ') || '(unnamed)'}; ${o.data} has ${names.join(', ')}`);
        if (!outNames.some((n) => scored.includes(n))) throw new ConfigError('methods', `${m.label}: the model outputs ${outNames.join(', ')}, none of the scored channels ${scored.join(', ')}`);
        for (const c of mChans) if (!counts.has(c)) counts.set(c, st.channels.find((x) => x.name === c)!.data);
      }
      loaded.push({ label: m.label, model: r.model, metadata: r.metadata, inC, mChans, outNames });
    }
  }

  // --- splits, per channel and view
  const split = K >= 2 ? { kind: 'frames' as const, framesPerView: K, inputFrames: nIn, framesFrom } : { kind: 'thinning' as const, p, seed };
  log(`${o.data}: ${st.format}, ${V} view(s) of ${h} x ${w}${K > 1 ? `, ${K} frames each (${framesFrom})` : ''}; channels scored ${scored.join(', ')}; ` +
    (K >= 2 ? `input ${frameRange(0, nIn)} of each view, held out ${frameRange(nIn, K)}` : `input by binomial thinning p = ${p} (seed ${seed}), the rest held out`));
  const splits = new Map<string, HeldOutSplit[]>();
  const inputIdx = Array.from({ length: nIn }, (_, k) => k);
  for (const [name, y] of counts) {
    const isCounts = scored.includes(name);
    splits.set(name, Array.from({ length: V }, (_, v) => {
      if (K >= 2) {
        const frames = Array.from({ length: K }, (_, f) => y.subarray((v * K + f) * P, (v * K + f + 1) * P));
        return frameSplit(frames, inputIdx, h, w);
      }
      const view = y.subarray(v * P, (v + 1) * P);
      if (isCounts) return thinningSplit(view, h, w, p, stream(seed, 'heldout-thinning', name, v));
      // a guide channel (HAADF) that is not counts: its expected share at the input's level
      const input = view.map((x) => x * p);
      return { h, w, input, heldout: view.map((x) => x * (1 - p)), ref: Float32Array.from(view), wIn: p, wOut: 1 - p, kind: 'thinning' as const };
    }));
  }

  // --- every method's estimate per (channel, view), scored
  const scores: Record<string, Record<string, HeldOutScore[]>> = {};
  const params: Record<string, Record<string, [number, string]>> = {};
  const put = (ch: string, label: string, s: HeldOutScore[], param: number = NaN, from = '') => { (scores[ch] ??= {})[label] = s; (params[ch] ??= {})[label] = [param, from]; };
  for (const ch of scored) {
    const sp = splits.get(ch)!;
    for (const m of methods) {
      if (m.kind === 'raw') put(ch, m.label, sp.map((s) => scoreHeldOut(s, s.input)));
      else if (m.kind === 'baseline') {
        let param = m.param, how = 'given';
        if (param === undefined) {
          if (m.method === 'gaussian' && nIn >= 2) {
            param = sigmaByFrameCv(sp.map((s) => s.inputFrames!), h, w);
            how = `frame cross-validation${param === CV_SIGMAS.at(-1) || param === CV_SIGMAS[0] ? ', at the edge of the candidates' : ''}`;
          }
          else {
            const t = tuneBaselineByThinning(m.method, sp.map((s) => s.input), h, w, { seed, candidates: USER_CANDIDATES[m.method], source: `${o.data} (${ch})` });
            param = t.param;
            how = `thinning cross-validation${param === t.candidates.at(-1) || param === t.candidates[0] ? ', at the edge of the candidates' : ''}`;
          }
        }
        put(ch, m.label, sp.map((s) => scoreHeldOut(s, denoiseBaseline(m.method, s.input, h, w, param))), param, how);
      }
    }
  }
  const { denoiseTiled } = hasModels ? await import('../../models/tiling.ts') : { denoiseTiled: undefined };
  try {
    for (const L of loaded) {
      if (L.inC === 1) {
        for (const ch of scored) {
          const sp = splits.get(ch)!, s: HeldOutScore[] = [];
          for (const x of sp) s.push(scoreHeldOut(x, await denoiseTiled!(L.model, x.input, [1, h, w], { metadata: L.metadata })));
          put(ch, L.label, s);
        }
      } else {
        const per: Record<string, HeldOutScore[]> = {};
        for (let v = 0; v < V; v++) {
          const x = new Float32Array(L.inC * P);
          L.mChans.forEach((c, q) => x.set(splits.get(c)![v].input, q * P));
          const yv = await denoiseTiled!(L.model, x, [L.inC, h, w], { metadata: L.metadata });
          L.outNames.forEach((n, q) => { if (scored.includes(n)) (per[n] ??= []).push(scoreHeldOut(splits.get(n)![v], yv.slice(q * P, (q + 1) * P))); });
        }
        for (const [n, s] of Object.entries(per)) put(n, L.label, s);
      }
    }
  } finally {
    for (const L of loaded) L.model.dispose();
  }

  // --- the table
  const rows: HeldOutRow[] = [];
  const perView: HeldOutReport['perView'] = {};
  for (const ch of scored) {
    const raw = scores[ch].raw.map((s) => s.deviance);
    for (const [label, s] of Object.entries(scores[ch])) {
      const dev = s.map((x) => x.deviance);
      const ci = meanWithInterval(dev, stream(seed, 'heldout-bootstrap', ch, label));
      const d = meanWithInterval(dev.map((x, v) => x - raw[v]), stream(seed, 'heldout-bootstrap', ch, label));
      const mean = (k: 'mse' | 'psnr') => s.reduce((a, x) => a + x[k], 0) / s.length;
      rows.push({ channel: ch, method: label, param: params[ch][label][0], paramFrom: params[ch][label][1], views: s.length, deviance: ci.mean, devianceLo: ci.lo, devianceHi: ci.hi, vsRaw: d.mean, vsRawLo: d.lo, vsRawHi: d.hi, mse: mean('mse'), psnr: mean('psnr') });
      (perView[ch] ??= {})[label] = dev;
    }
  }
  const report: HeldOutReport = { file: o.data, format: st.format, split, views: V, shape: st.shape, channels: scored, rows, perView };
  mkdirSync(o.out, { recursive: true });
  writeFileAtomic(join(o.out, 'scores.csv'), scoresCsv(rows));
  writeFileAtomic(join(o.out, 'scores.json'), JSON.stringify(report, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1) + '\n');
  for (const l of formatHeldOutTable(report)) log(l);
  log(`scores: ${join(o.out, 'scores.csv')}, ${join(o.out, 'scores.json')}`);
  return report;
}

const CSV_COLUMNS = ['channel', 'method', 'param', 'param_from', 'views', 'deviance', 'deviance_lo', 'deviance_hi', 'deviance_vs_raw', 'deviance_vs_raw_lo', 'deviance_vs_raw_hi', 'mse', 'psnr'] as const;

/** The rows as CSV (numbers to 6 significant digits, an interval that does not exist left empty). */
export function scoresCsv(rows: HeldOutRow[]): string {
  const n = (x: number) => (Number.isFinite(x) ? x.toPrecision(6) : '');
  const q = (s: string) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [CSV_COLUMNS.join(','), ...rows.map((r) => [q(r.channel), q(r.method), n(r.param), q(r.paramFrom), String(r.views), n(r.deviance), n(r.devianceLo), n(r.devianceHi), n(r.vsRaw), n(r.vsRawLo), n(r.vsRawHi), n(r.mse), n(r.psnr)].join(','))].join('\n') + '\n';
}

/** The table as terminal lines: per channel, methods by held-out deviance (best first). */
export function formatHeldOutTable(r: HeldOutReport): string[] {
  const iv = (lo: number, hi: number, f: (x: number) => string) => (Number.isFinite(lo) ? `[${f(lo)}, ${f(hi)}]` : '-');
  const f5 = (x: number) => x.toFixed(5), sg = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(5)}`;
  const MW = Math.max(6, ...r.rows.map((x) => x.method.length));
  const how = r.split.kind === 'frames' ? `input ${frameRange(0, r.split.inputFrames)} of ${r.split.framesPerView} per view, the rest held out` : `binomial thinning, input p = ${r.split.p}, seed ${r.split.seed}`;
  const out = [`held-out scores (${how}): mean Poisson deviance of the held-out counts, lower is better; mean over ${r.views} view${r.views === 1 ? ' (one view: no interval)' : `s, 95 % bootstrap interval over views`}; vs raw: the paired difference`];
  for (const ch of r.channels) {
    out.push(`${ch}:`, `  ${'method'.padEnd(MW)} ${'deviance'.padStart(9)} ${'interval'.padEnd(22)} ${'vs raw'.padStart(9)} ${'interval'.padEnd(22)} ${'PSNR dB'.padStart(7)}  parameter`);
    for (const x of r.rows.filter((y) => y.channel === ch).sort((a, b) => a.deviance - b.deviance)) {
      out.push(`  ${x.method.padEnd(MW)} ${f5(x.deviance).padStart(9)} ${iv(x.devianceLo, x.devianceHi, f5).padEnd(22)} ${sg(x.vsRaw).padStart(9)} ${iv(x.vsRawLo, x.vsRawHi, sg).padEnd(22)} ${x.psnr.toFixed(2).padStart(7)}  ${Number.isFinite(x.param) ? `${fmtNum(x.param)} (${x.paramFrom})` : ''}`);
    }
  }
  return out;
}
