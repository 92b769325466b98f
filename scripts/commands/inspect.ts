/**
 * `nanodose inspect FILE`: what a dataset directory, a shard (.h5), an MRC file or an image stack holds.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { CommandModule } from 'yargs';

interface Args {
  file: string;
  json: boolean;
}

const fmtRange = (xs: number[]) => (xs.length ? `${Math.min(...xs).toPrecision(4)} .. ${Math.max(...xs).toPrecision(4)}` : '-');
const counts = (xs: string[]) => Object.entries(xs.reduce<Record<string, number>>((a, x) => ((a[x] = (a[x] ?? 0) + 1), a), {})).map(([k, v]) => `${k} ${v}`).join(', ');

export const command: CommandModule<object, Args> = {
  command: 'inspect <file>',
  describe: 'Show what a dataset directory, shard file (.h5), MRC file or image stack holds',
  builder: (y) =>
    y.positional('file', { type: 'string', demandOption: true, describe: 'dataset directory, .h5 shard, .mrc, .tif' }).option('json', { type: 'boolean', default: false, describe: 'machine-readable output' }),
  handler: async (a) => {
    if (!existsSync(a.file)) throw new Error(`${a.file}: no such file or directory`);
    const ext = extname(a.file).toLowerCase();
    const out: Record<string, unknown> = { path: a.file };
    const lines: string[] = [];
    if (statSync(a.file).isDirectory()) {
      const { readManifest } = await import('../../datasets/manifest.ts');
      const m = readManifest(a.file);
      const done = m.shards.filter((s) => s.sha256);
      Object.assign(out, { kind: 'dataset', count: m.count, seed: m.seed, samplesPerShard: m.samplesPerShard, shards: m.shards.length, finishedShards: done.length, splits: m.splits, channels: m.channels, elements: m.elements, angles: m.angles.length, bytes: done.reduce((s, x) => s + (x.bytes ?? 0), 0), generatorVersion: m.generatorVersion });
      lines.push(
        `dataset ${a.file} (nanodose ${m.generatorVersion}, seed ${m.seed})`,
        `  samples   ${m.count} in ${m.shards.length} shards of ${m.samplesPerShard}; finished ${done.length}/${m.shards.length}${done.length < m.shards.length ? ' (run generate --resume to finish)' : ''}`,
        `  splits    train ${m.splits.train}, val ${m.splits.val}, test ${m.splits.test} (finished shards)`,
        `  elements  ${m.elements.map((e) => `${e.symbol} (Z=${e.Z})`).join(', ')}`,
        `  channels  ${m.channels.join(', ')}`,
        `  tilts     ${m.angles.length}, ${fmtRange(m.angles)} deg`,
        `  size      ${(Number(out.bytes) / 1e6).toFixed(1)} MB on disk`,
      );
      if (done.length) {
        const { ShardReader } = await import('../../datasets/emd.ts');
        const r = await ShardReader.open(join(a.file, done[0].file));
        lines.push(...describeShard(r, '  first finished shard: '));
        r.close();
      }
    } else if (['.h5', '.hdf5', '.emd'].includes(ext)) {
      const { ShardReader } = await import('../../datasets/emd.ts');
      const r = await ShardReader.open(a.file);
      Object.assign(out, { kind: 'shard', attrs: { ...r.attrs, config: undefined }, samples: r.count, channels: r.channels, elements: r.elements, angles: Array.from(r.angles) });
      lines.push(`shard ${a.file}: ${(statSync(a.file).size / 1e6).toFixed(2)} MB`, ...describeShard(r, '  '));
      r.close();
    } else if (['.mrc', '.mrcs', '.st', '.ali', '.rec', '.map'].includes(ext)) {
      const { readMrc } = await import('../../datasets/mrc.ts');
      const { header: h, voxelSizeAngstrom } = readMrc(a.file);
      Object.assign(out, { kind: 'mrc', header: h, voxelSizeAngstrom });
      lines.push(
        `MRC ${a.file}: ${h.nx} x ${h.ny} x ${h.nz} (nx ny nz), mode ${h.mode}, ${h.ispg === 0 ? 'image stack (ispg 0)' : `volume (ispg ${h.ispg})`}`,
        `  voxel ${voxelSizeAngstrom.toPrecision(4)} A, cella ${h.cella.map((x) => x.toPrecision(5)).join(' ')} A, mx my mz ${h.mx} ${h.my} ${h.mz}`,
        `  dmin ${h.dmin.toPrecision(5)}, dmax ${h.dmax.toPrecision(5)}, dmean ${h.dmean.toPrecision(5)}, rms ${h.rms.toPrecision(5)}, nversion ${h.nversion}, map ${JSON.stringify(h.map)}`,
        ...h.labels.map((l) => `  label: ${l}`),
      );
    } else {
      const { readImageStack } = await import('../../datasets/imagestack.ts');
      const s = await readImageStack(a.file);
      Object.assign(out, { kind: 'stack', shape: s.shape, angles: s.angles ? Array.from(s.angles) : undefined });
      lines.push(`image stack ${a.file}: shape ${s.shape.join(' x ')}${s.angles ? `, ${s.angles.length} angles ${fmtRange(Array.from(s.angles))} deg` : ''}`);
    }
    console.log(a.json ? JSON.stringify(out, null, 1) : lines.join('\n'));
  },
};

function describeShard(r: import('../../datasets/emd.ts').ShardReader, pre: string): string[] {
  const at = r.attrs;
  const lines = [
    `${pre}EMD ${at.version_major}.${at.version_minor}, ${at.generator} ${at.generator_version}, shard ${at.shard_index} of ${at.shard_count}, samples ${at.first_sample}..${Number(at.first_sample) + r.count - 1}`,
    `  elements ${r.elements.map((e) => e.symbol).join(', ')}; channels ${r.channels.join(', ')}; ${r.angles.length} tilts ${fmtRange(Array.from(r.angles))} deg; N = ${r.size}, columns ${r.nCols}, pixel ${r.pixelSizeNm.toPrecision(4)} nm`,
  ];
  for (const f of ['phantom', 'clean', 'noisy', 'frames'] as const) {
    if (!r.has[f]) continue;
    const fl = r.filters(f).map((x) => (x.name === 'deflate' ? `gzip ${x.cd_values[0]}` : x.name)).join('+') || 'none';
    lines.push(`  /data/${f === 'phantom' ? 'phantom' : `tilt_${f}`}/data  ${r.shape(f).join(' x ')}  filters ${fl}`);
  }
  lines.push(
    `  shape classes: ${counts(r.samples.map((s) => s.shapeClass))}`,
    `  compositions: ${counts(r.samples.map((s) => s.composition))}`,
    `  splits: ${counts(r.samples.map((s) => s.split))}`,
    `  dose per projection: ${fmtRange(r.samples.map((s) => s.dose))} e/A^2`,
  );
  return lines;
}
