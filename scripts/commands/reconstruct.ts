/**
 * `nanodose reconstruct INPUT --out PREFIX`: reconstructs a tilt series (a dataset sample, an MRC
 * stack + .tlt, or a TIFF/HDF5 stack + .tlt) with SIRT (ASTRA semantics), FBP or TV, per channel,
 * and writes PREFIX.h5 (EMD data groups) and PREFIX_<channel>.mrc. --align estimates per-projection
 * shifts and the tilt-axis offset (eval/align), writes them to PREFIX_shifts.txt and undoes them;
 * --shifts FILE applies a shifts file; --axis-offset puts an offset into the projection geometry.
 */
import type { CommandModule } from 'yargs';

interface Args {
  input: string;
  out: string;
  method: string;
  sample?: number;
  field: string;
  channels?: string;
  tlt?: string;
  dataset?: string;
  size?: number;
  workers?: number;
  'axis-offset'?: number;
  shifts?: string;
  align: boolean;
  radians: boolean;
  'write-shifts'?: string;
  quiet: boolean;
  'mask-nonfinite'?: boolean;
}

const rms = (v: ArrayLike<number>) => { let s = 0; for (let i = 0; i < v.length; i++) s += v[i] * v[i]; return Math.sqrt(s / Math.max(1, v.length)); };

export const command: CommandModule<object, Args> = {
  command: 'reconstruct <input>',
  describe: 'Reconstruct a tilt series (dataset sample, MRC + .tlt, TIFF/HDF5 stack + .tlt) with SIRT, FBP or TV',
  builder: (y) =>
    y
      .positional('input', { type: 'string', demandOption: true, describe: 'dataset directory, .h5 shard, .mrc stack, .tif stack' })
      .option('out', { type: 'string', demandOption: true, describe: 'output prefix: writes PREFIX.h5 and PREFIX_<channel>.mrc' })
      .option('method', { type: 'string', default: 'sirt:100', describe: 'sirt[:iterations] | fbp[:ram-lak|shepp-logan|hann] | tv[:iterations[:mu]]' })
      .option('sample', { type: 'number', describe: 'sample index (dataset input; default the first)' })
      .option('field', { type: 'string', default: 'noisy', choices: ['noisy', 'clean'], describe: 'which tilt series of a dataset sample' })
      .option('channels', { type: 'string', describe: 'comma-separated channels of a dataset sample (default: every element)' })
      .option('tlt', { type: 'string', describe: 'tilt angles file (default: input with .tlt)' })
      .option('dataset', { type: 'string', describe: 'dataset path inside an HDF5 stack' })
      .option('size', { type: 'number', describe: 'volume edge nx = ny (default: the dataset size, or the detector width)' })
      .option('workers', { type: 'number', describe: 'projector worker threads (default min(2, cores))' })
      .option('mask-nonfinite', { type: 'boolean', default: false, describe: 'set NaN/infinite input values to 0 and report how many (default: refuse the input)' })
      .option('axis-offset', { type: 'number', describe: 'tilt-axis column minus the detector centre, in pixels (overrides the one from --align/--shifts)' })
      .option('shifts', { type: 'string', describe: "per-projection shifts file ('angle row col' lines, as --align writes) to undo before reconstructing" })
      .option('radians', { type: 'boolean', default: false, describe: 'the .tlt angles are in radians (any range: angles outside [-90, 90) degrees are folded by 180 with the projection mirrored)' })
      .option('align', { type: 'boolean', default: false, describe: 'estimate the shifts and the tilt-axis offset (eval/align: on the HAADF when present, else the sum of the channels) and apply them to every channel' })
      .option('write-shifts', { type: 'string', describe: 'with --align: write the shifts file here (default PREFIX_shifts.txt)' })
      .option('quiet', { type: 'boolean', default: false }),
  handler: async (a) => {
    const { readTiltSeries, writeVolumes } = await import('../../eval/recon/volume-io.ts');
    const { parseReconSpec, makeOperator, reconstruct, isJointSpec } = await import('../../eval/recon/reconstruct.ts');
    const { progress } = await import('../../generators/common/progress.ts');
    const { nrmseScaled } = await import('../../eval/metrics/index.ts');
    const spec = parseReconSpec(a.method);
    if (isJointSpec(spec)) throw new Error(`method: ${spec.kind} needs a HAADF tilt series with the element channels; joint reconstruction from the CLI is not available in this version (use the library's reconstruct())`);
    if (a.size !== undefined && !(Number.isInteger(a.size) && a.size >= 1)) throw new Error(`size: must be an integer >= 1, got ${a.size}`);
    if (a.sample !== undefined && !(Number.isInteger(a.sample) && a.sample >= 0)) throw new Error(`sample: must be an integer >= 0, got ${a.sample}`);
    const input = await readTiltSeries(a.input, { sample: a.sample, field: a.field as 'noisy' | 'clean', channels: a.channels?.split(','), tlt: a.tlt, dataset: a.dataset, size: a.size, radians: a.radians });
    const { checkFinite } = await import('../../generators/common/finite.ts');
    for (let c = 0; c < input.series.length; c++) {
      const n = checkFinite(input.series[c], { source: `${a.input} (${input.channels[c]})`, shape: [input.angles.length, input.nRows, input.nCols], axes: ['angle', 'row', 'col'], mask: a['mask-nonfinite'] });
      if (n) console.error(`${a.input} (${input.channels[c]}): ${n} non-finite value(s) set to 0 (--mask-nonfinite)`);
    }
    const N = input.size;
    if (input.nCols < N) throw new Error(`size: the volume edge ${N} exceeds the detector width ${input.nCols}`);
    if (a.align && a.shifts) throw new Error('shifts: give either --shifts FILE or --align, not both');
    const off = a['axis-offset'];
    if (off !== undefined && !(Number.isFinite(off) && Math.abs(off) <= input.nCols / 2)) throw new Error(`axis-offset: must be a number of columns in [${-input.nCols / 2}, ${input.nCols / 2}], got ${off}`);
    let axisOffset = off ?? 0;
    if (a.align || a.shifts) {
      const al = await import('../../eval/align/index.ts');
      const { readFileSync, writeFileSync, renameSync } = await import('node:fs');
      let sh: import('../../eval/align/index.ts').Alignment;
      if (a.shifts) {
        let text: string;
        try { text = readFileSync(a.shifts, 'utf8'); } catch { throw new Error(`shifts: ${a.shifts}: cannot be read`); }
        sh = al.parseShifts(text, input.angles.length, a.shifts);
      } else {
        const plane = input.angles.length * input.nRows * input.nCols;
        const h = input.haadf ?? input.series.reduce((acc, s) => { for (let i = 0; i < plane; i++) acc[i] += s[i]; return acc; }, new Float32Array(plane));
        sh = al.alignTiltSeries(h, input.nRows, input.nCols, input.angles);
        const file = a['write-shifts'] ?? `${a.out}_shifts.txt`;
        writeFileSync(`${file}.tmp`, al.formatShifts(input.angles, sh));
        renameSync(`${file}.tmp`, file);
        if (!a.quiet) console.log(`aligned on ${input.haadf ? 'the HAADF' : 'the sum of the channels'}: tilt-axis offset ${sh.axisOffset.toFixed(2)} px, shifts (rms) rows ${rms(sh.rows).toFixed(2)} px, cols ${rms(sh.cols).toFixed(2)} px; wrote ${file}`);
      }
      input.series = input.series.map((s) => al.applyShifts(s, input.nRows, input.nCols, sh.rows, sh.cols));
      if (off === undefined) axisOffset = sh.axisOffset;
    }
    const geom = { angles: input.angles, nz: input.nRows, ny: N, nx: N, nCols: input.nCols, axisOffset };
    const op = await makeOperator(geom, a.workers);
    const volumes: Float32Array[] = [];
    const t0 = performance.now();
    try {
      for (let c = 0; c < input.series.length; c++) {
        const bar = progress(`${spec.kind} ${input.channels[c]}`, Math.max(1, spec.iterations), { unit: 'iterations', quiet: a.quiet });
        volumes.push(await reconstruct(op, input.series[c], spec, { progress: bar, workers: a.workers }));
        bar.stop();
        if (!a.quiet && input.truth) console.log(`${input.channels[c]}: NRMSE against the phantom after LS scale ${nrmseScaled(volumes[c], input.truth[c]).toFixed(4)}`);
      }
    } finally {
      await (op as { close?: () => Promise<void> }).close?.();
    }
    const files = await writeVolumes(a.out, volumes, input.channels, [input.nRows, N, N], { voxelSizeAngstrom: input.voxelSizeAngstrom, attrs: { method: a.method, input: a.input } });
    if (!a.quiet) console.log(`reconstructed ${input.channels.length} channel(s) ${input.nRows}x${N}x${N} from ${input.angles.length} tilts in ${((performance.now() - t0) / 1000).toFixed(1)} s; wrote ${files.join(', ')}`);
  },
};
