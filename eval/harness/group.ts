/**
 * One (phantom, dose) group of the evaluation: the noisy tilt series drawn once, then every method
 * of the group denoised, reconstructed and scored (eval/harness/run.ts's module comment). A group
 * needs nothing from the others: its noise comes from stream(seed, phantom, 'eval-noise', dose), its
 * denoisers are rebuilt from the method and the dose's tuned parameters, and the projector and SIRT
 * give the same bytes for any thread count. So the groups can run in any order, in this thread or
 * in block workers (eval/harness/block-worker.ts), and give identical rows; the main thread writes
 * them (results.csv, slices/, warnings.json) in canonical order.
 *
 * The evaluator computes; it writes nothing. Its results carry the rows of each block, the central
 * slices the report shows and a method's warnings.
 */
import { stream, type Seed } from '../../core/random.ts';
import type { TiltGeometry } from '../../generators/projection/geometry.ts';
import type { ProjectionOperator } from '../recon/operator.ts';
import { reconstruct, makeOperator, type ChannelReconSpec } from '../recon/reconstruct.ts';
import { psnr, ssim, valueRange, scaledScores, ssim3d, otsuDice, shellThicknessError } from '../metrics/index.ts';
import { doseRangeWarning, makeDenoiser, type MethodSpec, type MapDenoiser } from './denoise.ts';
import { VOLUME_METHODS, type Acquisition } from './methods.ts';
import { incidentElectronsPerPixel, type AcquisitionConfig } from '../../generators/signal/index.ts';
import { blockKey, doseKey, sliceName, type ResultRow } from './results.ts';
import { StageTimes } from '../stage-times.ts';

/** Everything a group needs besides its sample: plain data, so it can be posted to a worker. */
export interface GroupContext {
  elements: { symbol: string; Z: number }[];
  channels: string[];
  /** Tilt-series channel of each element, in `elements` order. */
  channelIdx: number[];
  /** HAADF channel, or -1. */
  haadfIdx: number;
  angles: Float64Array;
  N: number;
  nCols: number;
  seed: Seed;
  methods: MethodSpec[];
  recon: ChannelReconSpec;
  /** Tuned parameters per dose key (tuning.json), fixed before the groups run. */
  tuning: Record<string, Record<string, number>>;
  physics: { pixelSizeAngstrom: number; mu: number[]; acquisition: AcquisitionConfig } | null;
  sliceDoses: number[];
  slicePhantom: number;
  /** Projector / SIRT threads of this evaluator (undefined: core/threads.ts default). */
  workers?: number;
  backend?: string;
  quiet: boolean;
}

/** What a group reads of its phantom (EvalSource.readSample with clean and phantom). */
export interface GroupSample { params: Record<string, unknown>; dosePerProjection: number; clean: Float32Array; phantom: Float32Array }

export interface BlockResult {
  key: string;
  rows: ResultRow[];
  /** Central planes [3, N, N] of each element volume at the report's slice doses (file name, data). */
  slices: { name: string; data: Float32Array }[];
  warnings?: string[];
}

/** Poisson counts of every element channel at dose d, as float maps, [element][angle, row, col]. */
export function drawNoisy(clean: Float32Array, channelIdx: number[], plane: number, scale: number, seed: Seed, phantom: number, dose: number): Float32Array[] {
  const rng = stream(seed, phantom, 'eval-noise', doseKey(dose));
  return channelIdx.map((c) => {
    const out = new Float32Array(plane);
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[i] = rng.poisson(Math.max(0, clean[base + i] * scale));
    return out;
  });
}

/**
 * Poisson HAADF counts at dose d: the clean expected counts N0(d0) f (f the scattered fraction,
 * generators/signal/haadf.ts) scaled to N0(d) f with N0 = d a^2 linear in the dose. One beam makes
 * the HAADF and the EDX, so both are drawn at the same dose; the HAADF from its own stream, so the
 * element draws are the same whether or not a method reads it.
 */
export function drawHaadf(clean: Float32Array, haadfIdx: number, plane: number, scale: number, seed: Seed, phantom: number, dose: number): Float32Array {
  const rng = stream(seed, phantom, 'eval-noise-haadf', doseKey(dose));
  const out = new Float32Array(plane);
  const base = haadfIdx * plane;
  for (let k = 0; k < plane; k++) out[k] = rng.poisson(Math.max(0, clean[base + k] * scale));
  return out;
}

/** Denoises every projection of one element's tilt series [angle, row, col]. */
export async function denoiseSeries(dn: MapDenoiser, noisy: Float32Array, nA: number, h: number, w: number, element: string, channelsAt: (a: number) => Record<string, Float32Array>): Promise<Float32Array> {
  const series = new Float32Array(nA * h * w);
  for (let a = 0; a < nA; a++) {
    const off = a * h * w;
    series.set(await dn(Float32Array.from(noisy.subarray(off, off + h * w)), h, w, element, channelsAt(a)), off);
  }
  return series;
}

/** Every channel of projection a by name (the HAADF when drawn, every element), one object per angle (guided models cache on it). */
export function projectionChannels(ctx: Pick<GroupContext, 'channels' | 'haadfIdx' | 'elements' | 'N' | 'nCols'>, noisy: Float32Array[], haadf: Float32Array | undefined): (a: number) => Record<string, Float32Array> {
  const allAt = new Map<number, Record<string, Float32Array>>();
  const n = ctx.N * ctx.nCols;
  return (a) => {
    let r = allAt.get(a);
    if (!r) {
      const off = a * n;
      r = {};
      if (haadf) r[ctx.channels[ctx.haadfIdx]] = haadf.slice(off, off + n);
      ctx.elements.forEach((el, e) => { r![el.symbol] = noisy[e].slice(off, off + n); });
      allAt.set(a, r);
    }
    return r;
  };
}

/**
 * The three central planes of a [z, y, x] volume, xy (z = c), xz (y = c) and yz (x = c), as float32
 * [3, N, N] (slices/<phantom>_<dose>_<method>_<element>.f32) for the report.
 */
export function centralPlanes(vol: ArrayLike<number>, N: number): Float32Array {
  const c = Math.floor(N / 2), NN = N * N;
  const sl = new Float32Array(3 * NN);
  for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) {
    sl[a * N + b] = vol[c * NN + a * N + b];          // xy: rows y, columns x
    sl[NN + a * N + b] = vol[a * NN + c * N + b];     // xz: rows z, columns x
    sl[2 * NN + a * N + b] = vol[a * NN + b * N + c]; // yz: rows z, columns y
  }
  return sl;
}

/**
 * Evaluates groups one after another with one operator and one denoiser per (method, dose), timing
 * its stages in `times` (data, start-up, denoising, reconstruction <kind>, metrics, slices) and per
 * method in `perMethod`.
 */
export class GroupEvaluator {
  readonly times = new StageTimes();
  readonly perMethod = new StageTimes();
  private op: (ProjectionOperator & { close?(): Promise<void> }) | null = null;
  private readonly denoisers = new Map<string, Awaited<ReturnType<typeof makeDenoiser>>>();
  private readonly byName: Map<string, MethodSpec>;
  private readonly needHaadf: boolean;

  constructor(private readonly ctx: GroupContext, private readonly operator?: (geom: TiltGeometry) => Promise<ProjectionOperator & { close?(): Promise<void> }>) {
    this.byName = new Map(ctx.methods.map((m) => [m.name, m]));
    this.needHaadf = ctx.haadfIdx >= 0 && ctx.methods.some((m) => m.kind === 'model' || m.volume);
  }

  /** The blocks of `methods` (in that order) for phantom p at dose d. */
  async evaluate(p: number, d: number, s: GroupSample, methods: string[]): Promise<BlockResult[]> {
    const { ctx, times, perMethod } = this;
    const { N, nCols, elements, channelIdx } = ctx;
    const nA = ctx.angles.length, plane = nA * N * nCols, vol = N * N * N;
    if (!this.op) {
      const geom: TiltGeometry = { angles: ctx.angles, nz: N, ny: N, nx: N, nCols };
      this.op = await times.time('start-up', () => (this.operator ? this.operator(geom) : makeOperator(geom, ctx.workers)));
    }
    const op = this.op;
    times.start('data');
    const scale = d / s.dosePerProjection;
    const noisy = drawNoisy(s.clean, channelIdx, plane, scale, ctx.seed, p, d);
    // The HAADF at the same dose, for guided models and volume methods.
    const haadf = this.needHaadf ? drawHaadf(s.clean, ctx.haadfIdx, plane, scale, ctx.seed, p, d) : undefined;
    const channelsAt = projectionChannels(ctx, noisy, haadf);
    const coreShell = /core.?shell/i.test(JSON.stringify(s.params ?? {}));
    const truths = elements.map((_, e) => s.phantom.subarray(e * vol, (e + 1) * vol));
    const present = truths.map((t) => { for (let k = 0; k < t.length; k++) if (t[k] > 0) return true; return false; });
    times.stop('data');
    const out: BlockResult[] = [];
    for (const name of methods) {
      const m = this.byName.get(name)!;
      // One denoiser per (method, dose): baseline parameters depend on the dose. A model does not:
      // it is loaded once per worker and kept for every dose (its dose-range warning goes with each block).
      const key = m.kind === 'model' ? m.name : `${m.name}@${doseKey(d)}`;
      const tDn = performance.now();
      let dn = this.denoisers.get(key);
      if (!dn) {
        for (const [k, v] of this.denoisers) if (k.startsWith(m.name + '@')) { v.close(); this.denoisers.delete(k); }
        dn = await times.time('start-up', () => makeDenoiser(m, ctx.tuning[doseKey(d)] ?? {}, { quiet: ctx.quiet, ...(ctx.backend ? { backend: ctx.backend } : {}) }));
        this.denoisers.set(key, dn);
      }
      const rows: ResultRow[] = [];
      const slices: BlockResult['slices'] = [];
      const recons: (Float32Array | null)[] = [];
      // Denoise every element a phantom contains (a volume method reconstructs every element, so it
      // reads the others too); map scores against the clean expected counts.
      const series: (Float32Array | null)[] = [];
      const mapScores: { psnr: number; ssim: number }[] = [];
      const vm = m.volume ? VOLUME_METHODS[m.volume.method] : null;
      for (let e = 0; e < elements.length; e++) {
        mapScores.push({ psnr: 0, ssim: 0 });
        if (!present[e] && !vm?.edx) { series.push(null); continue; }
        if (vm && !vm.edx) { series.push(null); continue; }
        const den = await times.time('denoising', () => denoiseSeries(dn.denoise, noisy[e], nA, N, nCols, elements[e].symbol, channelsAt));
        series.push(den);
        times.start('metrics');
        for (let a = 0; a < nA; a++) {
          const off = a * N * nCols;
          const clean = new Float32Array(N * nCols);
          for (let k = 0; k < clean.length; k++) clean[k] = s.clean[channelIdx[e] * plane + off + k] * scale;
          const R = valueRange(clean) || 1;
          const dm = den.subarray(off, off + N * nCols);
          mapScores[e].psnr += psnr(clean, dm, R);
          if (N >= 7 && nCols >= 7) mapScores[e].ssim += ssim(clean, dm, [N, nCols], R);
        }
        times.stop('metrics');
      }
      perMethod.add(`${m.name} denoising`, performance.now() - tDn);
      const tRec = performance.now();
      let volumes: (Float32Array | null)[];
      let warnings: string[] | undefined;
      if (vm) {
        const phys = ctx.physics!;
        const acq: Acquisition = { haadf: haadf!, edx: vm.edx ? series.map((x) => x!) : [], elements: elements, dose: d, incident: incidentElectronsPerPixel(d, phys.pixelSizeAngstrom), pixelSizeAngstrom: phys.pixelSizeAngstrom, haadfMu: phys.mu, acquisition: phys.acquisition };
        const param = m.volume!.fixed ?? ctx.tuning[doseKey(d)]?.[m.name];
        const r = await vm.run(op, acq, m.volume!, param, { workers: ctx.workers, recon: ctx.recon });
        volumes = r.volumes;
        if (r.warnings?.length) warnings = r.warnings;
        times.add(`reconstruction ${m.volume!.method}`, performance.now() - tRec);
      } else {
        volumes = [];
        for (let e = 0; e < elements.length; e++) volumes.push(present[e] ? await reconstruct(op, series[e]!, ctx.recon, { workers: ctx.workers }) : null);
        times.add(`reconstruction ${ctx.recon.kind}`, performance.now() - tRec);
      }
      perMethod.add(`${m.name} reconstruction`, performance.now() - tRec);
      const tMet = performance.now();
      let tSl = 0;
      for (let e = 0; e < elements.length; e++) {
        // An element the phantom does not contain (a solid particle of another element) has no
        // quality to score: its volume metrics are undefined (PSNR of an empty truth) or
        // degenerate (Dice of two empty masks), so it gets no rows and is left out of the means.
        if (!present[e]) { recons.push(null); continue; }
        const x = volumes[e]!;
        recons.push(x);
        const truth = truths[e];
        const sc = scaledScores(x, truth);
        const base = { phantom: p, dose: d, method: m.name, element: elements[e].symbol };
        rows.push({ ...base, metric: 'nrmse', value: sc.nrmse });
        rows.push({ ...base, metric: 'psnr', value: sc.psnr });
        if (N >= 7) rows.push({ ...base, metric: 'ssim3d', value: ssim3d(x, truth, [N, N, N]) });
        rows.push({ ...base, metric: 'dice', value: otsuDice(x, truth) });
        // a HAADF-only method has no element maps to score
        if (series[e]) {
          rows.push({ ...base, metric: 'map_psnr', value: mapScores[e].psnr / nA });
          if (N >= 7 && nCols >= 7) rows.push({ ...base, metric: 'map_ssim', value: mapScores[e].ssim / nA });
        }
        if (ctx.sliceDoses.includes(d) && p === ctx.slicePhantom) {
          const t0 = performance.now();
          slices.push({ name: sliceName(p, d, m.name, elements[e].symbol), data: centralPlanes(x, N) });
          tSl += performance.now() - t0;
        }
      }
      if (coreShell && elements.length >= 2 && recons.every((r) => r !== null)) {
        const vols = truths.map((t) => t.reduce((acc, v) => acc + (v > 0.5 ? 1 : 0), 0));
        const core = vols[0] <= vols[1] ? 0 : 1, shell = 1 - core;
        rows.push({ phantom: p, dose: d, method: m.name, element: `${elements[core].symbol}/${elements[shell].symbol}`, metric: 'shell_error', value: shellThicknessError(recons[core]!, recons[shell]!, truths[core], truths[shell]) });
      }
      times.add('metrics', performance.now() - tMet - tSl);
      times.add('slices', tSl);
      const dw = m.kind === 'model' ? doseRangeWarning(dn.info, d) : null;
      if (dw) warnings = [...(warnings ?? []), dw];
      out.push({ key: blockKey(p, d, m.name), rows, slices, ...(warnings ? { warnings } : {}) });
    }
    return out;
  }

  async close(): Promise<void> {
    for (const v of this.denoisers.values()) v.close();
    this.denoisers.clear();
    await this.op?.close?.();
    this.op = null;
  }
}
