/**
 * `nanodose reconstruct INPUT --out PREFIX`: reconstructs a tilt series (a dataset sample, an MRC
 * stack + .tlt, or a TIFF/HDF5 stack + .tlt) with SIRT (ASTRA semantics), FBP or TV, per channel,
 * and writes PREFIX.h5 (EMD data groups) and PREFIX_<channel>.mrc.
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
  quiet: boolean;
  'mask-nonfinite'?: boolean;
}

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
      .option('quiet', { type: 'boolean', default: false }),
  handler: async (a) => {
    const { readTiltSeries, writeVolumes } = await import('../../eval/recon/volume-io.ts');
    const { parseRecon, makeOperator, reconstructElement } = await import('../../eval/harness/run.ts');
    const { progress } = await import('../../generators/common/progress.ts');
    const { nrmseScaled } = await import('../../eval/metrics/index.ts');
    const spec = parseRecon(a.method);
    if (a.size !== undefined && !(Number.isInteger(a.size) && a.size >= 1)) throw new Error(`size: must be an integer >= 1, got ${a.size}`);
    if (a.sample !== undefined && !(Number.isInteger(a.sample) && a.sample >= 0)) throw new Error(`sample: must be an integer >= 0, got ${a.sample}`);
    const input = await readTiltSeries(a.input, { sample: a.sample, field: a.field as 'noisy' | 'clean', channels: a.channels?.split(','), tlt: a.tlt, dataset: a.dataset, size: a.size });
    const { checkFinite } = await import('../../generators/common/finite.ts');
    for (let c = 0; c < input.series.length; c++) {
      const n = checkFinite(input.series[c], { source: `${a.input} (${input.channels[c]})`, shape: [input.angles.length, input.nRows, input.nCols], axes: ['angle', 'row', 'col'], mask: a['mask-nonfinite'] });
      if (n) console.error(`${a.input} (${input.channels[c]}): ${n} non-finite value(s) set to 0 (--mask-nonfinite)`);
    }
    const N = input.size;
    if (input.nCols < N) throw new Error(`size: the volume edge ${N} exceeds the detector width ${input.nCols}`);
    const geom = { angles: input.angles, nz: input.nRows, ny: N, nx: N, nCols: input.nCols };
    const op = await makeOperator(geom, a.workers);
    const volumes: Float32Array[] = [];
    const t0 = performance.now();
    try {
      for (let c = 0; c < input.series.length; c++) {
        const bar = progress(`${spec.kind} ${input.channels[c]}`, Math.max(1, spec.iterations), { unit: 'iterations', quiet: a.quiet });
        volumes.push(await reconstructElement(op, input.series[c], spec, geom, bar, a.workers));
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
