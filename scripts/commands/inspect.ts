/**
 * `nanodose inspect FILE`: what a dataset directory, a shard (.h5) or a user's tilt-series file
 * holds. Files go through the reader layer (datasets/formats, format from the content): MRC, TIFF,
 * MATLAB v5/v7.3, Velox .emd, HyperSpy .hspy and HDF5 with named channels are described as a tilt
 * series (channels and stored type, shape, angles, pixel size, integer counts or the count scale
 * training needs) from their metadata and one projection per channel (datasets/formats/probe.ts:
 * HDF5 is read in slices, so memory stays bounded). Other HDF5 files are described from their
 * structure as well: EMD 0.2 files (every /data/NAME/data array with its dims, e.g. what `nanodose
 * denoise` writes: /data/tilt_denoised/data plus root attributes naming the model, its scheme and
 * the tiling), else every dataset in the file.
 */
import { existsSync, statSync } from 'node:fs';
import { readTlt } from '../../datasets/formats/mrc/mrc.ts';
import { estimateCountScale, framesFromAngles } from '../../datasets/user-counts.ts';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { ConfigError } from '../../core/validate.ts';

interface Args {
  file: string;
  json: boolean;
  verify: boolean;
}

const fmtRange = (xs: number[]) => (xs.length ? `${Math.min(...xs).toPrecision(4)} .. ${Math.max(...xs).toPrecision(4)}` : '-');
const counts = (xs: string[]) => Object.entries(xs.reduce<Record<string, number>>((a, x) => ((a[x] = (a[x] ?? 0) + 1), a), {})).map(([k, v]) => `${k} ${v}`).join(', ');

export const command: CommandModule<object, Args> = {
  command: 'inspect <file>',
  describe: "Show what a dataset directory, shard file (.h5) or tilt-series file holds (.mrc .tif .mat .emd .hspy .h5: channels, shape, angles, pixel size, counts)",
  builder: (y) =>
    y.positional('file', { type: 'string', demandOption: true, describe: 'dataset directory, .h5 shard, or a file: .mrc .tif .mat .emd .hspy .h5 (denoise output or any HDF5)' }).option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .option('verify', { type: 'boolean', default: false, describe: 'dataset: also check each finished shard\'s sha256 against the manifest (sizes are always checked)' }),
  handler: async (a) => {
    if (!existsSync(a.file)) throw new ConfigError(a.file, `no such file or directory`);
    const out: Record<string, unknown> = { path: a.file };
    const lines: string[] = [];
    let damaged: string[] = [];
    if (statSync(a.file).isDirectory()) {
      const { readManifest, verifyShards } = await import('../../datasets/manifest.ts');
      const m = readManifest(a.file);
      const problems = await verifyShards(a.file, m, { sha256: a.verify });
      const bad = new Set(problems.map((p) => p.file));
      const done = m.shards.filter((s) => s.sha256 && !bad.has(s.file));
      damaged = problems.map((p) => `${p.file}: ${p.problem}`);
      out.damagedShards = problems;
      out.verified = a.verify ? 'sha256' : 'size';
      Object.assign(out, { kind: 'dataset', count: m.count, seed: m.seed, samplesPerShard: m.samplesPerShard, shards: m.shards.length, finishedShards: done.length, splits: m.splits, channels: m.channels, elements: m.elements, angles: m.angles.length, bytes: done.reduce((s, x) => s + (x.bytes ?? 0), 0), generatorVersion: m.generatorVersion });
      lines.push(
        `dataset ${a.file} (nanodose ${m.generatorVersion}, seed ${m.seed})`,
        `  samples   ${m.count} in ${m.shards.length} shards of ${m.samplesPerShard}; finished ${done.length}/${m.shards.length}${problems.length ? `, ${problems.length} damaged` : ''}${done.length < m.shards.length ? ' (run generate --resume to finish)' : ''} (${a.verify ? 'sizes and sha256' : 'sizes'} checked)`,
        `  splits    train ${m.splits.train}, val ${m.splits.val}, test ${m.splits.test} (finished shards)`,
        `  elements  ${m.elements.map((e) => `${e.symbol} (Z=${e.Z})`).join(', ')}`,
        `  channels  ${m.channels.join(', ')}`,
        `  tilts     ${m.angles.length}, ${fmtRange(m.angles)} deg`,
        `  size      ${(Number(out.bytes) / 1e6).toFixed(1)} MB on disk`,
      );
      if (done.length) {
        const { ShardReader } = await import('../../datasets/formats/hdf5/emd.ts');
        const r = await ShardReader.open(join(a.file, done[0].file));
        lines.push(...describeShard(r, '  first finished shard: '));
        r.close();
      }
    } else {
      // A file: the reader layer decides what it is from its content (a FormatError is one line, exit 2).
      const fm = await import('../../datasets/formats/index.ts');
      const fmt = await fm.detectFormat(a.file);
      if (fmt === 'nanodose-dataset') {
        const { ShardReader } = await import('../../datasets/formats/hdf5/emd.ts');
        const r = await ShardReader.open(a.file);
        Object.assign(out, { kind: 'shard', attrs: { ...r.attrs, config: undefined }, samples: r.count, channels: r.channels, elements: r.elements, angles: Array.from(r.angles) });
        lines.push(`shard ${a.file}: ${(statSync(a.file).size / 1e6).toFixed(2)} MB`, ...describeShard(r, '  '));
        r.close();
      } else {
        if (fmt === 'hdf5') {
          // Other HDF5 (nanodose denoise output, other EMD writers, a lab's own file): its structure first.
          const { h5ready } = await import('../../datasets/formats/hdf5/emd.ts');
          const h5 = await h5ready();
          const f = new h5.File(a.file, 'r');
          try {
            describeH5(h5, f, a.file, out, lines);
          } finally {
            f.close();
          }
        }
        if (fmt === 'mrc') {
          const { readMrc } = await import('../../datasets/formats/mrc/mrc.ts');
          const { header: h, voxelSizeAngstrom } = readMrc(a.file, { sections: 0 });
          Object.assign(out, { kind: 'mrc', header: h, voxelSizeAngstrom });
          lines.push(
            `MRC ${a.file}: ${h.nx} x ${h.ny} x ${h.nz} (nx ny nz), mode ${h.mode}, ${h.ispg === 0 ? 'image stack (ispg 0)' : `volume (ispg ${h.ispg})`}`,
            `  voxel ${voxelSizeAngstrom.toPrecision(4)} A, cella ${h.cella.map((x) => x.toPrecision(5)).join(' ')} A, mx my mz ${h.mx} ${h.my} ${h.mz}`,
            `  dmin ${h.dmin.toPrecision(5)}, dmax ${h.dmax.toPrecision(5)}, dmean ${h.dmean.toPrecision(5)}, rms ${h.rms.toPrecision(5)}, nversion ${h.nversion}, map ${JSON.stringify(h.map)}`,
            ...h.labels.map((l) => `  label: ${l}`),
          );
        }
        let info: Awaited<ReturnType<typeof import('../../datasets/formats/probe.ts').probeTiltStack>> | undefined;
        try {
          const { probeTiltStack } = await import('../../datasets/formats/probe.ts');
          info = await probeTiltStack(a.file);
        } catch (e) {
          // Plain HDF5 that is no tilt series: its structure above says what it holds.
          if (!(fmt === 'hdf5' && e instanceof fm.FormatError)) throw e;
          lines.push(`  not read as a tilt series: ${(e as Error).message.replace(`${a.file}: hdf5: `, '')}`);
        }
        if (info) describeTiltSeries(info, out, lines, fmt !== 'hdf5' && fmt !== 'mrc');
      }
    }
    console.log(a.json ? JSON.stringify(out, null, 1) : lines.join('\n'));
    if (damaged.length) {
      const { ConfigError } = await import('../../core/validate.ts');
      throw new ConfigError('dataset', `${a.file}: ${damaged.length} finished shard(s) do not match the manifest: ${damaged.join('; ')}; run generate --resume to redo them`);
    }
  },
};

function describeShard(r: import('../../datasets/formats/hdf5/emd.ts').ShardReader, pre: string): string[] {
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
    doseLine(shardAcquisition(r), r.samples.map((s) => s.dose), '  '),
  );
  lines.push(...describeHaadf(r, '  '));
  return lines;
}

/** The acquisition config a shard was made with ({} when none is recorded). */
function shardAcquisition(r: import('../../datasets/formats/hdf5/emd.ts').ShardReader): Record<string, unknown> {
  try {
    const cfg = JSON.parse(String(r.attrs.config ?? '{}')) as { simulation?: { acquisition?: Record<string, unknown> } };
    return cfg.simulation?.acquisition ?? {};
  } catch {
    return {};
  }
}

/**
 * The line on the signal level. Dose mode: the dose per projection (it sets every channel). Counts
 * mode: each EDX channel was scaled to acquisition.countsInParticle expected counts per particle
 * pixel, so its counts carry no physical dose; the stored sample dose is only the HAADF's, and
 * training's --dose lo:hi (fresh noise) scales the stored expected counts by lo/D .. hi/D.
 */
export function doseLine(acq: Record<string, unknown>, doses: number[], pre: string): string {
  if (acq.mode !== 'counts') return `${pre}dose per projection: ${fmtRange(doses)} e/A^2`;
  const D = doses.length ? Math.min(...doses) : NaN, same = doses.every((d) => d === D);
  return `${pre}counts mode: EDX ${Number(acq.countsInParticle).toPrecision(4)} expected counts per pixel inside the particle per element channel (no physical dose); ` +
    (same ? `HAADF from ${D.toPrecision(4)} e/A^2 per projection; train --dose lo:hi draws fresh noise at lo/${D.toPrecision(4)} .. hi/${D.toPrecision(4)} x the stored expected counts` : `HAADF from ${fmtRange(doses)} e/A^2 per projection (train --dose is relative to each sample's)`);
}

/**
 * The HAADF model the shard was made with (files made before the physical HAADF carry haadfEfficiency:
 * linear-legacy) and the expected HAADF and EDX counts per pixel inside the first sample's particle
 * (pixels whose summed EDX expectation is above 10 % of its maximum), against the incident electrons.
 */
function describeHaadf(r: import('../../datasets/formats/hdf5/emd.ts').ShardReader, pre: string): string[] {
  const acq = shardAcquisition(r);
  const model = (acq.haadfModel as string | undefined) ?? (acq.haadfEfficiency !== undefined ? 'linear-legacy' : 'unknown');
  const out = [`${pre}HAADF model: ${model}${model === 'linear-legacy' ? ' (made before the physical HAADF model: its HAADF counts are not bounded by the incident electrons)' : ''}`];
  if (!r.has.clean || r.count === 0) return out;
  const clean = r.read(0, 'clean') as Float32Array;
  const nCh = r.channels.length, n = clean.length / nCh;
  const edx = new Float32Array(n);
  for (let c = 1; c < nCh; c++) for (let i = 0; i < n; i++) edx[i] += clean[c * n + i];
  let max = 0;
  for (let i = 0; i < n; i++) if (edx[i] > max) max = edx[i];
  let count = 0, h = 0;
  const e = new Float64Array(nCh);
  for (let i = 0; i < n; i++) {
    if (!(edx[i] > 0.1 * max)) continue;
    count++; h += clean[i];
    for (let c = 1; c < nCh; c++) e[c] += clean[c * n + i];
  }
  if (count === 0) return out;
  const a = Number(r.samples[0]?.dose ?? 0) * (10 * r.pixelSizeNm) ** 2;
  const parts = r.channels.slice(1).map((ch, k) => `${ch} ${(e[k + 1] / count).toPrecision(3)}`);
  const edxAll = e.reduce((s, x) => s + x, 0) / count;
  out.push(`${pre}inside sample ${r.firstSample}'s particle: ${a.toPrecision(4)} electrons in per pixel, HAADF ${(h / count).toPrecision(4)} (${(100 * h / count / a).toFixed(1)} %), EDX ${parts.join(', ')} expected counts per pixel; HAADF:EDX ${(h / count / edxAll).toPrecision(3)}`);
  return out;
}

type H5Module = Awaited<ReturnType<typeof import('../../datasets/formats/hdf5/emd.ts').h5ready>>;
type H5Group = import('h5wasm/node').Group;
type H5Dataset = import('h5wasm/node').Dataset;

/** Plain JSON-friendly value of an HDF5 attribute or small dataset (bigints to numbers, typed arrays to arrays). */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => Number(x));
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

function attrsOf(o: { attrs: Record<string, { value: unknown }> }): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o.attrs)) r[k] = plain(v.value);
  return r;
}

/** HDF5 datatype as numpy would name it (H5T class from h5wasm's metadata: 0 integer, 1 float, 3 string, ...). */
function dtypeName(d: H5Dataset): string {
  const m = d.metadata;
  switch (m.type) {
    case 0: return `${m.signed ? 'int' : 'uint'}${8 * m.size}`;
    case 1: return `float${8 * m.size}`;
    case 3: return 'string';
    case 6: return 'compound';
    case 8: return 'enum';
    case 9: return 'vlen';
    case 10: return 'array';
    default: return `H5T class ${m.type}`;
  }
}

const filterNames = (d: H5Dataset) => d.filters.map((x) => (x.name === 'deflate' ? `gzip ${x.cd_values[0]}` : x.name)).join('+') || 'none';
const asStrings = (v: unknown): string[] | undefined => (v == null ? undefined : (Array.isArray(v) ? v : [v]).map(String));
const short = (v: unknown) => {
  const t = typeof v === 'string' ? v : JSON.stringify(v);
  return t.length > 100 ? `${t.slice(0, 97)}...` : t;
};

interface DimInfo { dim: string; name?: string; units?: string; length: number; first?: number; last?: number; step?: number; channelNames?: string[] }
interface ArrayInfo { path: string; shape: number[]; dtype: string; chunks: number[] | null; filters: string; title?: string; channelNames?: string[]; dims: DimInfo[] }

/** One EMD dim dataset (1-D coordinates with name and units attributes). */
function dimInfo(h5: H5Module, g: H5Group, k: number): DimInfo | undefined {
  const d = g.get(`dim${k}`);
  if (!(d instanceof h5.Dataset)) return undefined;
  const at = attrsOf(d);
  const length = (d.shape ?? []).reduce((a, b) => a * b, 1);
  const info: DimInfo = { dim: `dim${k}`, name: at.name == null ? undefined : String(at.name), units: at.units == null ? undefined : String(at.units), length, channelNames: asStrings(at.channel_names) };
  if ((d.metadata.type === 0 || d.metadata.type === 1) && length > 0 && length <= 1_000_000) {
    const xs = plain(d.value) as number[];
    info.first = xs[0];
    info.last = xs[xs.length - 1];
    if (xs.length > 1) {
      const step = xs[1] - xs[0];
      if (xs.every((x, i) => i === 0 || Math.abs(x - xs[i - 1] - step) <= 1e-9 * Math.max(1, Math.abs(step)))) info.step = step;
    }
  }
  return info;
}

/** Attributes `nanodose denoise` writes at the root (model, tiling, input), in the order shown. */
const DENOISE_ATTRS = ['model', 'model_scheme', 'model_channels', 'model_spec', 'model_normalisation', 'model_nanodose_version', 'tile', 'overlap', 'tta', 'input', 'input_dataset', 'field', 'samples'];
const HEADER_ATTRS = ['version_major', 'version_minor', 'generator', 'generator_version'];

/**
 * Describes an HDF5 file that is not a nanodose shard: as EMD (every /data/NAME/data array with its
 * shape, dtype, chunks, filters and dims; channel names; tilt angles; the model and tiling
 * attributes of `nanodose denoise` output) or, without /data/NAME/data, as a list of its datasets.
 */
function describeH5(h5: H5Module, f: import('h5wasm/node').File, path: string, out: Record<string, unknown>, lines: string[]): void {
  const attrs = attrsOf(f);
  const mb = `${(statSync(path).size / 1e6).toFixed(2)} MB`;
  const isGroup = (e: unknown): e is H5Group => e instanceof h5.Group;
  const isDataset = (e: unknown): e is H5Dataset => e instanceof h5.Dataset;
  const arrays: ArrayInfo[] = [];
  const data = f.get('data');
  if (isGroup(data)) {
    for (const name of data.keys()) {
      const g = data.get(name);
      if (!isGroup(g)) continue;
      const d = g.get('data');
      if (!isDataset(d)) continue;
      const shape = d.shape ?? [];
      const ga = attrsOf(g);
      const dims: DimInfo[] = [];
      for (let k = 1; k <= shape.length; k++) {
        const di = dimInfo(h5, g, k);
        if (di) dims.push(di);
      }
      arrays.push({ path: `/data/${name}/data`, shape, dtype: dtypeName(d), chunks: d.metadata.chunks, filters: filterNames(d), title: ga.title == null ? undefined : String(ga.title), channelNames: asStrings(ga.channel_names), dims });
    }
  }
  if (arrays.length === 0) {
    // Plain HDF5: every dataset (e.g. to pick one for `nanodose denoise --dataset`).
    const found: { path: string; shape: number[]; dtype: string }[] = [];
    const walk = (g: H5Group, pre: string) => {
      for (const k of g.keys()) {
        const e = g.get(k);
        if (isGroup(e)) walk(e, `${pre}${k}/`);
        else if (isDataset(e)) found.push({ path: `${pre}${k}`, shape: e.shape ?? [], dtype: dtypeName(e) });
      }
    };
    walk(f, '/');
    Object.assign(out, { kind: 'hdf5', attrs, datasets: found });
    lines.push(`HDF5 file ${path}: ${mb}, not a nanodose shard and no EMD /data/NAME/data arrays; ${found.length} dataset(s)`);
    for (const d of found) lines.push(`  ${d.path}  ${d.shape.join(' x ') || 'scalar'}  ${d.dtype}`);
    const rest = Object.entries(attrs);
    if (rest.length) lines.push(`  attributes ${rest.map(([k, v]) => `${k}=${short(v)}`).join(', ')}`);
    return;
  }
  // Channel names: the /sample group's (EMD convention), else the first array's.
  const smp = f.get('sample');
  const channels = (isGroup(smp) ? asStrings(attrsOf(smp).channel_names) : undefined) ?? arrays.find((x) => x.channelNames)?.channelNames ?? arrays.flatMap((x) => x.dims).find((d) => d.channelNames)?.channelNames;
  // Tilt angles: the first dim named like an angle.
  let angles: number[] | undefined;
  for (const arr of arrays) {
    const dim = arr.dims.find((d) => /angle/i.test(d.name ?? ''));
    if (!dim) continue;
    const ds = f.get(`${arr.path.slice(0, -'/data'.length)}/${dim.dim}`);
    if (isDataset(ds)) angles = plain(ds.value) as number[];
    break;
  }
  const version = attrs.version_major != null ? `EMD ${attrs.version_major}.${attrs.version_minor ?? 0}` : 'EMD-style';
  const by = attrs.generator != null ? `, written by ${attrs.generator}${attrs.generator_version != null ? ` ${attrs.generator_version}` : ''}` : '';
  lines.push(`${version} file ${path}: ${mb}${by}`);
  for (const x of arrays) {
    lines.push(`  ${x.path}  ${x.shape.join(' x ') || 'scalar'}  ${x.dtype}  chunks ${x.chunks ? x.chunks.join(' x ') : 'none (contiguous)'}  filters ${x.filters}${x.title ? `  "${x.title}"` : ''}`);
    for (const d of x.dims) {
      const range = d.first === undefined ? '' : d.length === 1 ? `: ${fmtNum(d.first)}` : `: ${fmtNum(d.first)} .. ${fmtNum(d.last!)}${d.step !== undefined && !/angle/i.test(d.name ?? '') ? `, step ${fmtNum(d.step)}` : ''}`;
      lines.push(`    ${d.dim} ${d.name ?? '(unnamed)'}${d.units ? ` ${d.units}` : ''}, ${d.length} value${d.length === 1 ? '' : 's'}${range}${d.channelNames ? `; channels ${d.channelNames.join(', ')}` : ''}`);
    }
  }
  if (channels) lines.push(`  channels  ${channels.join(', ')}`);
  if (angles) lines.push(`  tilts     ${angles.length}, ${fmtRange(angles)} deg`);
  let model: Record<string, unknown> | undefined;
  if (attrs.model != null || attrs.model_scheme != null) {
    const parse = (v: unknown) => {
      try {
        return typeof v === 'string' && v ? JSON.parse(v) : v;
      } catch {
        return v;
      }
    };
    const spec = parse(attrs.model_spec) as Record<string, unknown> | undefined;
    const norm = parse(attrs.model_normalisation) as Record<string, unknown> | undefined;
    const mch = parse(attrs.model_channels);
    model = { path: attrs.model, scheme: attrs.model_scheme, channels: mch, spec, normalisation: norm, nanodoseVersion: attrs.model_nanodose_version };
    const specText = spec && typeof spec === 'object'
      ? `${spec.arch === 'unet' ? 'U-Net' : String(spec.arch)} depth ${spec.depth}, ${spec.filters} filters, ${spec.inChannels} -> ${spec.outChannels} channels, ${spec.kernelSize}x${spec.kernelSize} kernels${spec.arch === 'unet' ? `, ${spec.down}/${spec.up}` : ''}`
      : 'spec unknown';
    const normText = norm && typeof norm === 'object' ? `normalisation ${Object.entries(norm).map(([k, v]) => (k === 'kind' ? String(v) : `${k} ${short(v)}`)).join(' ')}` : '';
    lines.push(
      `  model     ${attrs.model ?? '(path not recorded)'}: scheme ${attrs.model_scheme ?? '(not recorded)'}; trained on ${Array.isArray(mch) ? mch.join(', ') || '(unnamed)' : short(mch)}; ${specText}${normText ? `; ${normText}` : ''}${attrs.model_nanodose_version ? `; nanodose ${attrs.model_nanodose_version}` : ''}`,
    );
  }
  if (attrs.tile != null || attrs.overlap != null || attrs.tta != null) {
    lines.push(`  tiling    tile ${attrs.tile ?? '?'}, overlap ${attrs.overlap ?? '?'}, tta ${attrs.tta === undefined ? '?' : Number(attrs.tta) ? 'on (8 transforms)' : 'off'}`);
  }
  if (attrs.input != null) {
    const extra = [attrs.input_dataset != null ? `dataset ${attrs.input_dataset}` : '', attrs.field != null ? `field ${attrs.field}` : '', attrs.samples != null ? `samples ${attrs.samples}` : ''].filter(Boolean);
    lines.push(`  input     ${attrs.input}${extra.length ? ` (${extra.join(', ')})` : ''}`);
  }
  const known = new Set([...HEADER_ATTRS, ...DENOISE_ATTRS]);
  const rest = Object.entries(attrs).filter(([k]) => !known.has(k));
  if (rest.length) lines.push(`  attributes ${rest.map(([k, v]) => `${k}=${short(v)}`).join(', ')}`);
  Object.assign(out, { kind: 'emd', attrs, arrays, channels, angles, ...(model ? { model } : {}) });
}

const fmtNum = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(4));

const FORMAT_TITLE: Record<string, string> = { mrc: 'MRC', tiff: 'TIFF', hdf5: 'HDF5', 'emd-velox': 'Velox EMD', hspy: 'HyperSpy', 'mat-v5': 'MATLAB v5', 'mat-v7.3': 'MATLAB v7.3', 'channel-files': 'files' };

/**
 * A user's tilt series as the reader layer sees it (datasets/formats/probe.ts): channels and their
 * stored type, shape, tilt angles (the file's, else a .tlt beside it) and frames per view, pixel
 * size, and per channel whether the values are integer counts (from one projection), with the
 * count scale training would need (training/user-data.ts estimateCountScale) when they are not.
 */
function describeTiltSeries(info: import('../../datasets/formats/probe.ts').TiltStackInfo, out: Record<string, unknown>, lines: string[], header: boolean): void {
  const [A, R, C] = info.shape;
  let angles = info.angles ? Array.from(info.angles) : undefined;
  let anglesFrom = info.anglesFrom;
  const tlt = info.file.replace(/\.[^./]+$/, '') + '.tlt';
  if (!angles && existsSync(tlt)) {
    try {
      const t = Array.from(readTlt(tlt));
      if (t.length === A) {
        angles = t;
        anglesFrom = tlt;
      }
    } catch { /* not a .tlt: shown as no angles */ }
  }
  const frames = angles ? framesFromAngles(angles) : 1;
  const chans = info.channels.map((c) => {
    let min = Infinity, max = -Infinity, sum = 0, integer = true, finite = true;
    for (const v of c.sample) {
      if (!Number.isFinite(v)) { finite = false; continue; }
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      if (integer && v !== Math.round(v)) integer = false;
    }
    const counts = finite && integer && min >= 0;
    const scale = !counts && finite && min >= 0 ? estimateCountScale(c.sample) : undefined;
    return { name: c.name, dtype: c.dtype, sampleOf: c.sampleOf, min, max, mean: sum / c.sample.length, finite, counts, ...(scale ? { countScale: scale } : {}) };
  });
  const title = FORMAT_TITLE[info.format] ?? info.format;
  if (header) lines.push(`${title} ${info.file}: ${info.bytes >= 1e6 ? `${(info.bytes / 1e6).toFixed(2)} MB` : `${(info.bytes / 1e3).toFixed(1)} kB`}`);
  lines.push(
    `  tilt series ${A} projection(s)${frames > 1 ? ` (${A / frames} views x ${frames} frames)` : ''} x ${R} rows x ${C} cols; channels ${chans.map((c) => `${c.name} (${c.dtype})`).join(', ')}`,
    `  tilts     ${angles ? `${angles.length}, ${fmtRange(angles)} deg, from ${anglesFrom}` : `none in the file${existsSync(tlt) ? ` (${tlt} does not list ${A})` : ''}: give a .tlt beside it or --tlt`}`,
    `  pixel     ${info.pixelSizeNm ? `${info.pixelSizeNm.toPrecision(4)} nm` : 'not recorded'}`,
  );
  for (const c of chans) {
    const range = `${c.sampleOf}: ${fmtNum(c.min)} .. ${fmtNum(c.max)}, mean ${c.mean.toPrecision(4)}`;
    const what = !c.finite
      ? 'holds non-finite values (NaN/Inf): commands refuse it unless --mask-nonfinite'
      : c.counts
        ? 'integer counts'
        : c.min < 0
          ? 'not counts (negative values, e.g. background-subtracted)'
          : c.countScale
            ? `not integers; looks like counts x ${Number((1 / c.countScale).toPrecision(4))} (train n2n-thinning with --count-scale ${Number(c.countScale.toPrecision(4))})`
            : 'not integer counts and no count scale makes them integers (processed data: n2n-thinning cannot use it, blind-spot can)';
    lines.push(`  ${c.name.padEnd(9)} ${what} (${range})`);
  }
  const ts = { format: info.format, bytes: info.bytes, shape: info.shape, framesPerView: frames, angles, anglesFrom, pixelSizeNm: info.pixelSizeNm, channels: chans };
  // A file described from its structure already (HDF5) keeps that kind and gains the tilt series.
  if (out.kind) out.tiltSeries = ts;
  else Object.assign(out, { kind: 'tilt-series', ...ts });
}
