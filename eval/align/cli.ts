/**
 * Alignment as the commands use it (reconstruct, denoise, eval): one set of options with one help
 * text, one resolver (estimate with --align, or read --shifts FILE; --axis-offset overrides the offset),
 * the shifts file written under a temporary name and renamed, and every channel moved by the same
 * alignment (estimated on the HAADF when there is one, else on the sum of the channels).
 *
 *   --align                estimate shifts + tilt-axis offset (eval/align alignTiltSeries)
 *   --align-rotation DEG   with --align: also a small in-plane rotation within +-DEG degrees
 *   --shifts FILE          undo the shifts (and rotation) of a shifts file (formatShifts' layout)
 *   --axis-offset PX       tilt-axis column minus the detector centre
 *   --write-shifts FILE    where --align writes its shifts (default: the command's own name)
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { alignTiltSeries, applyAlignment, fixGauge, formatShifts, parseShifts, type Alignment } from './index.ts';
import { checkAlignArgs, type AlignArgs } from './options.ts';
import { ConfigError } from '../../core/validate.ts';

export { alignOptions, checkAlignArgs, type AlignArgs } from './options.ts';

export interface AlignedSeries {
  /** The channels with the shifts (and rotation) undone; the input arrays when nothing was asked. */
  series: Float32Array[];
  /** The HAADF reference, moved the same way (when given). */
  haadf?: Float32Array;
  /** The tilt-axis offset: --axis-offset, else the alignment's, else 0. With centreAxis it has been applied and is 0. */
  axisOffset: number;
  alignment?: Alignment;
  /** The shifts file written by --align. */
  shiftsFile?: string;
  /** One line describing what was done (for the command's log). */
  message?: string;
}

const rms = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0) / Math.max(1, v.length));

/**
 * Resolves and applies the alignment options to a tilt series [channel][angle, row, col].
 * `centreAxis`: move the projections so the tilt axis lands on the detector centre (the output is a
 * series other tools reconstruct without an offset; denoise, eval); else the offset is returned for
 * the projection geometry (reconstruct).
 */
export function alignSeries(a: AlignArgs, t: { series: Float32Array[]; haadf?: Float32Array; angles: ArrayLike<number>; nRows: number; nCols: number }, o: { defaultShiftsFile?: string; centreAxis?: boolean }): AlignedSeries {
  checkAlignArgs(a, t.nCols);
  const off = a['axis-offset'];
  const nA = t.angles.length;
  let al: Alignment | undefined, shiftsFile: string | undefined, message: string | undefined;
  if (a.shifts) {
    let text: string;
    try { text = readFileSync(a.shifts, 'utf8'); } catch { throw new ConfigError('shifts', `${a.shifts}: cannot be read`); }
    al = parseShifts(text, nA, a.shifts);
    message = `applied ${a.shifts}: tilt-axis offset ${al.axisOffset.toFixed(2)} px, rotation ${(al.rotationDeg ?? 0).toFixed(2)} deg`;
  } else if (a.align) {
    const plane = nA * t.nRows * t.nCols;
    const ref = t.haadf ?? t.series.reduce((acc, s) => { for (let i = 0; i < plane; i++) acc[i] += s[i]; return acc; }, new Float32Array(plane));
    al = alignTiltSeries(ref, t.nRows, t.nCols, t.angles, { maxRotationDeg: a['align-rotation'] });
    shiftsFile = a['write-shifts'] ?? o.defaultShiftsFile;
    if (shiftsFile !== undefined) {
      try {
        mkdirSync(dirname(shiftsFile), { recursive: true });
        writeFileSync(`${shiftsFile}.tmp`, formatShifts(t.angles, al));
        renameSync(`${shiftsFile}.tmp`, shiftsFile);
      } catch (e) {
        throw new ConfigError('write-shifts', `${shiftsFile}: cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    }
    message = `aligned on ${t.haadf ? 'the HAADF' : 'the sum of the channels'}: tilt-axis offset ${al.axisOffset.toFixed(2)} px, shifts (rms) rows ${rms(al.rows).toFixed(2)} px, cols ${rms(al.cols).toFixed(2)} px${a['align-rotation'] ? `, rotation ${(al.rotationDeg ?? 0).toFixed(2)} deg` : ''}${shiftsFile ? `; wrote ${shiftsFile}` : ''}`;
  }
  if (!al && off === undefined) return { series: t.series, haadf: t.haadf, axisOffset: 0 };
  const use: Alignment = al ? { ...al, axisOffset: off ?? al.axisOffset } : { rows: new Float64Array(nA), cols: new Float64Array(nA), axisOffset: off! };
  if (!al && !o.centreAxis) return { series: t.series, haadf: t.haadf, axisOffset: use.axisOffset };
  const move = (s: Float32Array) => applyAlignment(s, t.nRows, t.nCols, use, { centreAxis: o.centreAxis });
  return { series: t.series.map(move), haadf: t.haadf && move(t.haadf), axisOffset: o.centreAxis ? 0 : use.axisOffset, alignment: use, shiftsFile, message };
}

/**
 * For `eval`: the dataset path as it is when no alignment option is given, else the dataset opened
 * and wrapped by alignedSource (close it when done).
 */
export async function withAlignment(data: string, a: AlignArgs, o: { log?: (line: string) => void } = {}): Promise<{ data: string | import('../harness/run.ts').EvalSource; close: () => Promise<void> }> {
  if (!a.align && !a.shifts && a['axis-offset'] === undefined && a['write-shifts'] === undefined && a['align-rotation'] === undefined) return { data, close: async () => {} };
  const { openDataset } = await import('../../datasets/index.ts');
  const r = await openDataset(data);
  try {
    return { data: alignedSource(r as unknown as import('../harness/run.ts').EvalSource, a, o), close: () => r.close() };
  } catch (e) {
    await r.close();
    throw e;
  }
}

/** What alignedSource needs of an evaluation source (eval/harness EvalSource). */
interface SourceLike {
  readonly channels: string[];
  readonly angles: Float64Array;
  readonly shape: { size: number; nCols: number };
  readSample(index: number, what?: ('clean' | 'noisy' | 'phantom' | 'frames')[]): Promise<{ clean?: Float32Array; [k: string]: unknown }>;
}

/**
 * `eval --align | --shifts FILE | --axis-offset PX` on a simulated dataset: each sample's clean
 * expected counts [channel, angle, row, col] are aligned before the harness draws its noise from
 * them: --align estimates the sample's own shifts on its clean HAADF (the jitter the simulator put
 * in; the unobservable rigid translation taken from the sample's params.jitter when recorded,
 * fixGauge), --shifts applies one file to every sample, --axis-offset centres the tilt axis; the axis is
 * moved to the detector centre (the harness's geometry has none). Every other field passes through.
 */
export function alignedSource<S extends SourceLike>(src: S, a: AlignArgs, o: { log?: (line: string) => void } = {}): S {
  checkAlignArgs(a, src.shape.nCols);
  if (a['write-shifts'] !== undefined) throw new ConfigError('write-shifts', 'eval aligns every sample on its own; it writes no shifts file');
  const N = src.shape.size, nCols = src.shape.nCols, nA = src.angles.length, plane = nA * N * nCols;
  const hk = src.channels.findIndex((c) => /^haadf$/i.test(c));
  // The alignment of each sample, estimated once (the harness reads a sample several times).
  const cache = new Map<number, Alignment | null>();
  const readSample: S['readSample'] = async (index, what) => {
    const s = await src.readSample(index, what);
    if (!s.clean) return s;
    const series = src.channels.map((_, c) => s.clean!.subarray(c * plane, (c + 1) * plane));
    let al = cache.get(index);
    if (al === undefined) {
      const r = alignSeries({ ...a, 'write-shifts': undefined }, { series: hk >= 0 ? [series[hk]] : series, angles: src.angles, nRows: N, nCols }, { centreAxis: true });
      al = r.alignment ?? null;
      // The particle's translation is invisible in the data; take it from the simulator's record so the
      // score against the phantom measures the alignment error, not a rigid shift (fixGauge).
      const j = (s.params as { jitter?: { rows?: number[]; cols?: number[] } } | undefined)?.jitter;
      if (al && a.align && j?.rows?.length === nA && j.cols?.length === nA) al = fixGauge(al, { rows: j.rows, cols: j.cols }, src.angles);
      cache.set(index, al);
      if (al && a.align && o.log) o.log(`eval --align: sample ${index}: shifts (rms) rows ${rms(al.rows).toFixed(2)} px, cols ${rms(al.cols).toFixed(2)} px, axis offset ${al.axisOffset.toFixed(2)} px`);
    }
    if (!al) return s;
    const clean = new Float32Array(s.clean.length);
    series.forEach((v, c) => clean.set(applyAlignment(v, N, nCols, al!, { centreAxis: true }), c * plane));
    return { ...s, clean };
  };
  // Methods run on the source itself (class instances with private state stay intact).
  return new Proxy(src, {
    get: (t, k) => {
      if (k === 'readSample') return readSample;
      const v = Reflect.get(t, k);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}
