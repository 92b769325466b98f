/**
 * `nanodose export DATASET --sample i --format mrc|tiff|png --out DIR [--what phantom,noisy]`:
 * one sample's phantom volumes and tilt series (+ .tlt) as MRC 2014 or TIFF, or PNG previews.
 */
import type { CommandModule } from 'yargs';

interface Args {
  dataset: string;
  sample: number;
  format: 'mrc' | 'tiff' | 'png';
  what: string;
  out: string;
  'voxel-size'?: number;
}

export const command: CommandModule<object, Args> = {
  command: 'export <dataset>',
  describe: 'Export one sample (phantom volumes, tilt series + .tlt) as MRC/TIFF, or PNG previews',
  builder: (y) =>
    y
      .positional('dataset', { type: 'string', demandOption: true, describe: 'dataset directory or shard .h5' })
      .option('sample', { type: 'number', default: 0, describe: 'global sample index' })
      .option('format', { choices: ['mrc', 'tiff', 'png'] as const, default: 'mrc' as const, describe: 'output format' })
      .option('what', { type: 'string', default: 'phantom,noisy', describe: 'comma list of phantom, clean, noisy' })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
      .option('voxel-size', { type: 'number', describe: 'voxel size in angstrom (default: the dataset pixel size)' }),
  handler: async (a) => {
    const { ConfigError } = await import('../../generators/common/validate.ts');
    const what = a.what.split(',').map((s) => s.trim()).filter(Boolean);
    for (const w of what) if (!['phantom', 'clean', 'noisy'].includes(w)) throw new ConfigError('what', `must be a comma list of phantom, clean, noisy; got ${JSON.stringify(w)}`);
    const { openDataset } = await import('../../datasets/reader.ts');
    const { exportSample } = await import('../../datasets/export.ts');
    const r = await openDataset(a.dataset);
    try {
      if (!r.indices().includes(a.sample)) throw new ConfigError('sample', `must be one of the ${r.count} readable samples (${r.indices()[0]}..${r.indices().at(-1)}), got ${a.sample}`);
      for (const w of what) if (!r.stored[w as 'phantom']) throw new ConfigError('what', `${a.dataset} does not store ${w}`);
      const files = await exportSample(r, a.sample, { format: a.format, what: what as ('phantom' | 'clean' | 'noisy')[], outDir: a.out, voxelSizeAngstrom: a['voxel-size'] });
      console.log(files.join('\n'));
    } finally {
      await r.close();
    }
  },
};
