/**
 * `nanodose export DATASET --sample i --format mrc|tiff|png --out DIR [--what phantom,noisy,frames] [--channel Au,HAADF]`:
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
  channel?: string;
}

export const command: CommandModule<object, Args> = {
  command: 'export <dataset>',
  describe: 'Export one sample (phantom volumes, tilt series + .tlt) as MRC/TIFF, or PNG previews',
  builder: (y) =>
    y
      .positional('dataset', { type: 'string', demandOption: true, describe: 'dataset directory or shard .h5' })
      .option('sample', { type: 'number', default: 0, describe: 'global sample index (0-based)' })
      .option('format', { choices: ['mrc', 'tiff', 'png'] as const, default: 'mrc' as const, describe: 'output format' })
      .option('what', { type: 'string', default: 'phantom,noisy', describe: 'comma list of phantom, clean, noisy, frames (one tilt series per dose fraction, where the dataset stores frames)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
      .option('channel', { type: 'string', describe: 'comma list of channels to export, e.g. HAADF,Au (default: all)' })
      .option('voxel-size', { type: 'number', describe: 'voxel size in Å (default: the pixel size the dataset records)' }),
  handler: async (a) => {
    const { ConfigError } = await import('../../core/validate.ts');
    const what = a.what.split(',').map((s) => s.trim()).filter(Boolean);
    for (const w of what) if (!['phantom', 'clean', 'noisy', 'frames'].includes(w)) throw new ConfigError('what', `must be a comma list of phantom, clean, noisy, frames; got ${JSON.stringify(w)}`);
    const { openDataset } = await import('../../datasets/reader.ts');
    const { exportSample } = await import('../../datasets/export.ts');
    const r = await openDataset(a.dataset);
    try {
      if (!r.indices().includes(a.sample)) throw new ConfigError('sample', `must be one of the ${r.count} readable samples (${r.indices()[0]}..${r.indices().at(-1)}), got ${a.sample}`);
      for (const w of what) if (!r.stored[w as 'phantom']) throw new ConfigError('what', `${a.dataset} does not store ${w}`);
      const channels = a.channel?.split(',').map((s) => s.trim()).filter(Boolean);
      for (const c of channels ?? []) if (!r.channels.includes(c)) throw new ConfigError('channel', `${JSON.stringify(c)} is not a channel of ${a.dataset}; allowed: ${r.channels.join(', ')}`);
      const files = await exportSample(r, a.sample, { format: a.format, what: what as ('phantom' | 'clean' | 'noisy' | 'frames')[], outDir: a.out, voxelSizeAngstrom: a['voxel-size'], channels });
      console.log(files.join('\n'));
    } finally {
      await r.close();
    }
  },
};
