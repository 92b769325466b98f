/**
 * The alignment options of the commands (reconstruct, denoise, eval): one set of names and help
 * texts, and their checks. Kept free of heavy imports, since every command module loads it for --help;
 * the work is in cli.ts.
 */
import type { Argv } from 'yargs';
import { ConfigError } from '../../core/validate.ts';

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
  if (a.align && a.shifts) throw new ConfigError('shifts', 'give either --shifts FILE or --align, not both');
  if (a['write-shifts'] !== undefined && !a.align) throw new ConfigError('write-shifts', 'only with --align (it names the file --align writes)');
  const r = a['align-rotation'];
  if (r !== undefined && (!a.align || !(Number.isFinite(r) && r > 0 && r <= 45))) throw new ConfigError('align-rotation', `with --align, a largest rotation in (0, 45] degrees, got ${r}${a.align ? '' : ' without --align'}`);
  const off = a['axis-offset'];
  if (off !== undefined && !(Number.isFinite(off) && (nCols === undefined || Math.abs(off) <= nCols / 2))) throw new ConfigError('axis-offset', `must be a number of columns${nCols ? ` in [${-nCols / 2}, ${nCols / 2}]` : ''}, got ${off}`);
}

