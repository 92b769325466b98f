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
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { alignTiltSeries, applyAlignment, formatShifts, parseShifts, type Alignment } from './index.ts';

export interface AlignArgs {
  align?: boolean;
  'align-rotation'?: number;
  shifts?: string;
  'axis-offset'?: number;
  'write-shifts'?: string;
}

/** Adds the alignment options to a command (the same names and help everywhere). */
export function alignOptions<T>(y: Argv<T>, o: { offsetMeaning: string }): Argv<T & AlignArgs> {
  return y
    .option('align', { type: 'boolean', default: false, describe: 'estimate per-projection shifts and the tilt-axis offset (cross-correlation + projection matching, eval/align; on the HAADF when present, else the sum of the channels) and apply them to every channel; the shifts go to a file' })
    .option('align-rotation', { type: 'number', describe: 'with --align: also estimate a small in-plane rotation of the projections within +-DEG degrees (e.g. 3)' })
    .option('shifts', { type: 'string', describe: "shifts file to undo ('angle row col' lines and an 'axis_offset X; rotation_deg R' comment, as --align writes it)" })
    .option('axis-offset', { type: 'number', describe: `tilt-axis column minus the detector centre, in pixels (${o.offsetMeaning}; overrides the one from --align/--shifts)` })
    .option('write-shifts', { type: 'string', describe: 'with --align: write the shifts file here' }) as unknown as Argv<T & AlignArgs>;
}

/** Checks the alignment options before any work; throws one line naming the option. */
export function checkAlignArgs(a: AlignArgs, nCols?: number): void {
  if (a.align && a.shifts) throw new Error('shifts: give either --shifts FILE or --align, not both');
  if (a['write-shifts'] !== undefined && !a.align) throw new Error('write-shifts: only with --align (it names the file --align writes)');
  const r = a['align-rotation'];
  if (r !== undefined && (!a.align || !(Number.isFinite(r) && r > 0 && r <= 45))) throw new Error(`align-rotation: with --align, a largest rotation in (0, 45] degrees, got ${r}${a.align ? '' : ' without --align'}`);
  const off = a['axis-offset'];
  if (off !== undefined && !(Number.isFinite(off) && (nCols === undefined || Math.abs(off) <= nCols / 2))) throw new Error(`axis-offset: must be a number of columns${nCols ? ` in [${-nCols / 2}, ${nCols / 2}]` : ''}, got ${off}`);
}

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
    try { text = readFileSync(a.shifts, 'utf8'); } catch { throw new Error(`shifts: ${a.shifts}: cannot be read`); }
    al = parseShifts(text, nA, a.shifts);
    message = `applied ${a.shifts}: tilt-axis offset ${al.axisOffset.toFixed(2)} px, rotation ${(al.rotationDeg ?? 0).toFixed(2)} deg`;
  } else if (a.align) {
    const plane = nA * t.nRows * t.nCols;
    const ref = t.haadf ?? t.series.reduce((acc, s) => { for (let i = 0; i < plane; i++) acc[i] += s[i]; return acc; }, new Float32Array(plane));
    al = alignTiltSeries(ref, t.nRows, t.nCols, t.angles, { maxRotationDeg: a['align-rotation'] });
    shiftsFile = a['write-shifts'] ?? o.defaultShiftsFile;
    if (shiftsFile !== undefined) {
      try {
        writeFileSync(`${shiftsFile}.tmp`, formatShifts(t.angles, al));
        renameSync(`${shiftsFile}.tmp`, shiftsFile);
      } catch (e) {
        throw new Error(`write-shifts: ${shiftsFile}: cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
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
 * in), --shifts applies one file to every sample, --axis-offset centres the tilt axis; the axis is
 * moved to the detector centre (the harness's geometry has none). Every other field passes through.
 */
export function alignedSource<S extends SourceLike>(src: S, a: AlignArgs, o: { log?: (line: string) => void } = {}): S {
  checkAlignArgs(a, src.shape.nCols);
  if (a['write-shifts'] !== undefined) throw new Error('write-shifts: eval aligns every sample on its own; it writes no shifts file');
  const N = src.shape.size, nCols = src.shape.nCols, nA = src.angles.length, plane = nA * N * nCols;
  const hk = src.channels.findIndex((c) => /^haadf$/i.test(c));
  const readSample: S['readSample'] = async (index, what) => {
    const s = await src.readSample(index, what);
    if (!s.clean) return s;
    const series = src.channels.map((_, c) => s.clean!.subarray(c * plane, (c + 1) * plane));
    const r = alignSeries({ ...a, 'write-shifts': undefined }, { series, haadf: hk >= 0 ? series[hk] : undefined, angles: src.angles, nRows: N, nCols }, { centreAxis: true });
    if (r.series === series) return s;
    const clean = new Float32Array(s.clean.length);
    r.series.forEach((v, c) => clean.set(v, c * plane));
    if (r.alignment && o.log) o.log(`eval --align: sample ${index}: shifts (rms) rows ${rms(r.alignment.rows).toFixed(2)} px, cols ${rms(r.alignment.cols).toFixed(2)} px, axis offset ${r.alignment.axisOffset.toFixed(2)} px`);
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
