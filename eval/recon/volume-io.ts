/**
 * Reading tilt series and writing reconstructed volumes for `nanodose reconstruct`: a sample of a
 * dataset (directory or .h5 shard, through datasets' reader) or any user file through the one reader
 * layer (datasets/formats: MRC, TIFF, MATLAB, Velox, HyperSpy, HDF5, one file per channel) with
 * its angles or a .tlt; volumes are written as HDF5 (EMD 0.2 data groups with centred [n_m] axes,
 * h5wasm) and MRC 2014 with the voxel size (datasets' writer), both atomically.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '../../core/validate.ts';

export interface TiltSeriesInput {
  /** [channel][angle, row, col] */
  series: Float32Array[];
  channels: string[];
  angles: Float64Array;
  nRows: number;
  nCols: number;
  /** Volume edge (nx = ny), default from the source. */
  size: number;
  voxelSizeAngstrom: number;
  /** The pixel size the file records (nm), absent when it records none (voxelSizeAngstrom is then 1). */
  pixelSizeNm?: number;
  truth?: Float32Array[];
  /** The HAADF tilt series of a dataset sample (alignment reference), when stored. */
  haadf?: Float32Array;
}

/**
 * Reads the tilt series to reconstruct. PATH is a nanodose dataset (directory or shard: sample
 * `sample`, `field`), any user file datasets/formats reads (MRC, TIFF, MATLAB .mat, Velox .emd,
 * HyperSpy .hspy, HDF5 with named channels or `dataset`), or one file per channel written
 * `HAADF=a.mrc,Au=b.mrc`. Angles: `tlt` when given, else the file's own, else PATH's .tlt (for one
 * file per channel, the first file's); any convention, normalised into [-90, 90) with the
 * projections at theta+180 mirrored. `channels` keeps those channels (a missing one is an error
 * naming it); the HAADF channel, when read, is also the alignment reference.
 */
export async function readTiltSeries(path: string, o: { sample?: number; field?: 'clean' | 'noisy'; channels?: string[]; tlt?: string; dataset?: string; size?: number; radians?: boolean } = {}): Promise<TiltSeriesInput> {
  const fm = await import('../../datasets/formats/index.ts');
  const perFile = !existsSync(path) && fm.isChannelFileSpec(path);
  if (!perFile && !existsSync(path)) throw new ConfigError('input', `${path}: no such file or directory`);
  const ds = await import('../../datasets/index.ts');
  if (!perFile && (await fm.detectFormat(path)) === 'nanodose-dataset' && o.dataset === undefined) {
    const r = await ds.openDataset(path);
    try {
      const idx = o.sample ?? r.indices()[0];
      if (!r.indices().includes(idx)) throw new ConfigError('sample', `${idx} is not in ${path} (indices ${r.indices()[0]}..${r.indices().at(-1)})`);
      const field = o.field ?? 'noisy';
      const s = await r.readSample(idx, [field, 'phantom'].filter((f) => f === field || r.stored[f as 'phantom']) as ('clean' | 'noisy' | 'phantom')[]);
      const want = o.channels ?? r.elements.map((e) => e.symbol);
      const N = r.shape.size, nCols = r.shape.nCols, nA = r.angles.length, plane = nA * N * nCols;
      const arr = (field === 'noisy' ? s.noisy : s.clean) as ArrayLike<number> | undefined;
      if (!arr) throw new ConfigError('field', `the dataset does not store '${field}' tilt series`);
      const series = want.map((c) => {
        const k = r.channels.indexOf(c);
        if (k < 0) throw new ConfigError('channel', `'${c}' is not one of ${r.channels.join(', ')}`);
        return Float32Array.from({ length: plane }, (_, i) => arr[k * plane + i]);
      });
      let truth: Float32Array[] | undefined;
      if (s.phantom) {
        const t: Float32Array[] = [];
        for (const c of want) { const e = r.elements.findIndex((x) => x.symbol === c); if (e >= 0) t.push(s.phantom.slice(e * N ** 3, (e + 1) * N ** 3)); }
        truth = t.length === want.length ? t : undefined;
      }
      const hk = r.channels.indexOf('HAADF');
      const haadf = hk >= 0 ? Float32Array.from({ length: plane }, (_, i) => arr[hk * plane + i]) : undefined;
      return { series, channels: want, angles: r.angles, nRows: N, nCols, size: o.size ?? N, voxelSizeAngstrom: r.shape.pixelSizeNm * 10, pixelSizeNm: r.shape.pixelSizeNm, truth, haadf };
    } finally {
      await r.close();
    }
  }
  if (o.sample !== undefined) throw new ConfigError('sample', `selects a sample of a nanodose dataset; ${path} is a user's tilt series`);
  const st = perFile ? await fm.readChannelFiles(path, { dataset: o.dataset }) : await fm.readTiltStack(path, { channels: o.channels, dataset: o.dataset });
  const first = perFile ? fm.parseChannelFiles(path)[0][1] : path;
  let raw: Float64Array, from: string;
  if (o.tlt !== undefined) {
    if (!existsSync(o.tlt)) throw new ConfigError('tlt', `tilt angles file ${o.tlt} not found`);
    raw = ds.readTlt(o.tlt); from = o.tlt;
  } else if (st.angles) {
    raw = st.angles; from = st.anglesFrom ?? path;
  } else {
    const tltPath = first.replace(/\.[^./]+$/, '') + '.tlt';
    if (!existsSync(tltPath)) throw new ConfigError('tlt', `${first} records no tilt angles and ${tltPath} is not there (pass --tlt)`);
    raw = ds.readTlt(tltPath); from = tltPath;
  }
  const { normaliseTiltAngles, mirrorProjections } = await import('../../generators/projection/index.ts');
  // Any convention (-180..180, 0..180, radians): angles into [-90, 90), projections at theta+180 mirrored.
  const norm = normaliseTiltAngles(raw, { radians: o.radians, field: from });
  const [nA, nRows, nCols] = st.shape;
  if (nA !== norm.angles.length) throw new ConfigError('tlt', `${from} has ${norm.angles.length} angles but ${perFile ? 'the stacks have' : `${path} has`} ${nA} projections`);
  for (const c of st.channels) mirrorProjections(c.data, nRows, nCols, norm.mirror);
  const haadf = st.channels.find((c) => c.name === 'HAADF')?.data;
  return { series: st.channels.map((c) => c.data), channels: st.channels.map((c) => c.name), angles: norm.angles, nRows, nCols, size: o.size ?? nCols, voxelSizeAngstrom: st.pixelSizeNm ? st.pixelSizeNm * 10 : 1, ...(st.pixelSizeNm ? { pixelSizeNm: st.pixelSizeNm } : {}), ...(haadf ? { haadf } : {}) };
}

/** Writes volumes [channel][z, y, x] to PATH.h5 (one EMD data group per channel) and PATH_<channel>.mrc. */
export async function writeVolumes(prefix: string, volumes: Float32Array[], channels: string[], shape: [number, number, number], o: { voxelSizeAngstrom: number; attrs?: Record<string, string> }): Promise<string[]> {
  const { writeMrc } = await import('../../datasets/index.ts');
  const written: string[] = [];
  volumes.forEach((v, k) => {
    const p = `${prefix}_${channels[k]}.mrc`;
    writeMrc(p, v, shape, { voxelSizeAngstrom: o.voxelSizeAngstrom || 1, kind: 'volume', labels: [`nanodose reconstruct: ${channels[k]} ${o.attrs?.method ?? ''}`] });
    written.push(p);
  });
  const { writeEmdRoot, writeEmdDataGroup, spatialDim, writeHdf5File } = await import('../../datasets/formats/hdf5/emd.ts');
  const h5path = `${prefix}.h5`;
  const nm = (o.voxelSizeAngstrom || 1) / 10;
  // The one HDF5 writer path (temporary name, reproducible bytes) and EMD data-group writer (centred coordinates, units '[n_m]').
  await writeHdf5File(h5path, (f) => {
    writeEmdRoot(f, o.attrs ?? {});
    const data = f.create_group('data');
    volumes.forEach((v, k) => {
      writeEmdDataGroup(data, `reconstruction_${channels[k]}`, { shape, data: v, dims: ['z', 'y', 'x'].map((ax, d) => spatialDim(ax, shape[d], nm)), attrs: { voxel_size_angstrom: o.voxelSizeAngstrom || 1 } });
    });
  });
  written.push(h5path);
  return written;
}
