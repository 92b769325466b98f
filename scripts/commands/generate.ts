/**
 * `nanodose generate`: a sharded, resumable simulated dataset (datasets/generate.ts).
 *
 *   nanodose generate --count 256 --out data/train            defaults: a small 64^3 dataset
 *   nanodose generate --config cfg.json --count N --out DIR [--seed S] [--shard i/k] [--workers W] [--resume] [--overwrite]
 *   nanodose generate --print-config > cfg.json                 the full default config, every field
 *   nanodose generate --like tilt.emd [--like-out cfg.json] [--count N --out DIR]
 *       infers from a real tilt series the config that simulates series like it (eval/align/like.ts):
 *       printed and saved for editing; with --count and --out it also generates from it
 */
import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { ConfigError } from '../../core/validate.ts';

interface Args {
  config?: string;
  count?: number;
  out?: string;
  seed: string;
  shard?: string;
  workers?: number;
  resume: boolean;
  overwrite: boolean;
  quiet: boolean;
  'print-config': boolean;
  source?: string;
  like?: string;
  'like-out'?: string;
  tlt?: string;
  radians: boolean;
  dataset?: string;
}

export const command: CommandModule<object, Args> = {
  command: 'generate',
  describe: 'Simulate a dataset of phantoms and noisy tilt series into sharded EMD/HDF5 files',
  builder: (y) =>
    y
      .option('config', { type: 'string', describe: 'JSON config (partial: merged over the defaults; see --print-config)' })
      .option('count', { type: 'number', describe: 'samples in the whole dataset' })
      .option('out', { type: 'string', describe: 'output directory (manifest.json + shard-*.h5)' })
      .option('seed', { type: 'string', default: '0', describe: 'dataset seed (integer or string); sample i depends only on (seed, i)' })
      .option('shard', { type: 'string', describe: 'make only job i of k (0-based), e.g. 3/16 for a cluster job array (use with --resume)' })
      .option('workers', { type: 'number', describe: 'worker threads, each writing its own shard files (default --threads)' })
      .option('resume', { type: 'boolean', default: false, describe: 'keep finished shards (sha256 checked), redo unfinished ones' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing dataset in the --out folder' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress output' })
      .option('print-config', { type: 'boolean', default: false, describe: 'print the full default config (JSON) and the meaning of every field, then exit' })
      .option('source', { type: 'string', hidden: true, describe: 'sample source module (path or URL; default the simulator)' })
      .option('like', { type: 'string', describe: 'a real tilt series (any format reconstruct reads, or HAADF=a.mrc,Au=b.mrc): infer the angles, frame size, pixel size, EDX counts per particle pixel, particle extent and shape class, elements; print and save that config (with --count/--out: also generate from it)' })
      .option('like-out', { type: 'string', describe: 'with --like: where to save the inferred config (default FILE-stem.like.json in the current folder)' })
      .option('tlt', { type: 'string', describe: 'with --like: tilt angles file (default: the file\'s own angles, else a .tlt beside it)' })
      .option('radians', { type: 'boolean', default: false, describe: 'with --like: the angles are in radians' })
      .option('dataset', { type: 'string', describe: 'with --like: the array inside an HDF5 file' })
      .check((a) => {
        if (a['print-config']) return true;
        if (a.like !== undefined && a.count === undefined && a.out === undefined) return true;
        if (a.like === undefined && (a['like-out'] !== undefined || a.tlt !== undefined || a.dataset !== undefined || a.radians)) throw new ConfigError('like', '--like-out, --tlt, --dataset and --radians go with --like FILE');
        if (a.count === undefined) throw new ConfigError('count', '--count is required (samples in the whole dataset)');
        if (!a.out) throw new ConfigError('out', '--out is required (output directory)');
        return true;
      }),
  handler: async (a) => {
    const { loadSource } = await import('../../datasets/source.ts');
    const { pathToFileURL } = await import('node:url');
    const { resolve } = await import('node:path');
    const source = a.source ? (/^[a-z]+:/.test(a.source) ? a.source : pathToFileURL(resolve(a.source)).href) : undefined;
    const mod = await loadSource(source);
    if (a['print-config']) {
      const { FILE_OPTION_DOCS } = await import('../../datasets/options.ts');
      const docs = (mod as { CONFIG_DOCS?: Record<string, string> }).CONFIG_DOCS ?? {};
      process.stdout.write(JSON.stringify(mod.defaultConfig(), null, 2) + '\n');
      const all = { ...docs, ...FILE_OPTION_DOCS };
      process.stderr.write('\nFields (defaults as printed above):\n' + Object.entries(all).map(([k, v]) => `  ${k}: ${v}`).join('\n') + '\n');
      const def = mod.defaultConfig() as { simulation?: unknown };
      if (def.simulation) {
        const { describeSignalLevels, validateSimulationConfig } = await import('../../generators/simulate.ts');
        process.stderr.write('\n' + describeSignalLevels(validateSimulationConfig(def.simulation)).join('\n') + '\n');
      }
      return;
    }
    let raw: unknown = {};
    if (a.like !== undefined) {
      if (a.config) throw new ConfigError('config', 'give either --config FILE or --like FILE (edit the saved --like config, then pass it as --config)');
      raw = await inferLike(a);
      if (a.count === undefined) return;
    }
    if (a.config) {
      try {
        raw = JSON.parse(readFileSync(a.config, 'utf8'));
      } catch (e) {
        throw new ConfigError('config', `cannot read ${a.config} as JSON: ${(e as Error).message}`);
      }
    }
    if (!a.quiet && !source) {
      // The signal level the dataset is made at: in counts mode the EDX counts per particle pixel, not a dose.
      const { validateDatasetConfig } = await import('../../datasets/config.ts');
      const { describeSignalLevels } = await import('../../generators/simulate.ts');
      console.log(describeSignalLevels(validateDatasetConfig(raw).simulation).join('\n'));
    }
    const seed = /^-?\d+$/.test(a.seed) ? Number(a.seed) : a.seed;
    const { generateDataset } = await import('../../datasets/generate.ts');
    const t0 = performance.now();
    const m = await generateDataset({ config: raw, count: a.count!, out: a.out!, seed, shard: a.shard, workers: a.workers, resume: a.resume, overwrite: a.overwrite, quiet: a.quiet, source });
    const s = (performance.now() - t0) / 1000;
    if (!a.quiet) {
      console.log(`${a.out}: ${m.finishedShards}/${m.shards.length} shards finished, ${m.count} samples in all (train ${m.splits.train}, val ${m.splits.val}, test ${m.splits.test}), ${s.toFixed(1)} s`);
    }
  },
};

/** `--like FILE`: reads the series, infers the config (eval/align/like.ts), checks it, prints and saves it. */
async function inferLike(a: Args): Promise<unknown> {
  const { basename } = await import('node:path');
  const { readTiltSeries } = await import('../../eval/recon/volume-io.ts');
  const { inferFromTiltSeries, likeConfig } = await import('../../eval/align/like.ts');
  const { validateDatasetConfig } = await import('../../datasets/config.ts');
  const { writeFileAtomic } = await import('../../core/atomic.ts');
  const file = a.like!;
  const outPath = a['like-out'] ?? `${basename(file.split(',')[0].replace(/^[^=]*=/, '')).replace(/\.[^.]+$/, '')}.like.json`;
  let t: Awaited<ReturnType<typeof readTiltSeries>>;
  try {
    t = await readTiltSeries(file, { tlt: a.tlt, dataset: a.dataset, radians: a.radians });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const m = /^([a-z-]+): (.*)$/s.exec((e as Error).message);
    throw m ? new ConfigError(m[1], m[2]) : new ConfigError('like', (e as Error).message);
  }
  const { checkFinite } = await import('../../core/finite.ts');
  t.series.forEach((s, k) => checkFinite(s, { source: `${file} (${t.channels[k]})`, shape: [t.angles.length, t.nRows, t.nCols], axes: ['angle', 'row', 'col'] }));
  const est = inferFromTiltSeries({ channels: t.series.map((data, k) => ({ name: t.channels[k], data })), angles: t.angles, nRows: t.nRows, nCols: t.nCols, pixelSizeNm: t.pixelSizeNm });
  const { config, notes } = likeConfig(est, file);
  validateDatasetConfig(config);
  // Arrays of numbers (angles, ranges, elements) on one line each: the file is for editing by hand.
  const text = JSON.stringify(config, null, 2).replace(/\[\s*((?:-?[\d.e+-]+|"[^"]*")(?:,\s*(?:-?[\d.e+-]+|"[^"]*"))*)\s*\]/g, (_, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`) + '\n';
  writeFileAtomic(outPath, text);
  if (!a.quiet) {
    process.stdout.write(text);
    for (const n of notes) console.log(`# ${n}`);
    console.log(`# saved ${outPath}: edit it, then: nanodose generate --config ${outPath} --count N --out DIR`);
  }
  return config;
}
