/**
 * Reading tilt series and writing reconstructed volumes for `nanodose reconstruct`: a sample of a
 * dataset (directory or .h5 shard, through datasets' reader), an MRC stack with its .tlt file, or an
 * image stack (TIFF, HDF5 dataset) with a .tlt; volumes are written as HDF5 (EMD 0.2 data group,
 * h5wasm) and MRC 2014 (datasets' writer), both atomically.
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { withAtomicPath } from '../../generators/common/atomic.ts';

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
  truth?: Float32Array[];
  /** The HAADF tilt series of a dataset sample (alignment reference), when stored. */
  haadf?: Float32Array;
}

export async function readTiltSeries(path: string, o: { sample?: number; field?: 'clean' | 'noisy'; channels?: string[]; tlt?: string; dataset?: string; size?: number; radians?: boolean } = {}): Promise<TiltSeriesInput> {
  if (!existsSync(path)) throw new Error(`input: ${path}: no such file or directory`);
  const ext = extname(path).toLowerCase();
  const ds = await import('../../datasets/index.ts');
  const isDataset = !['.mrc', '.mrcs', '.st', '.ali', '.tif', '.tiff'].includes(ext) && !(o.dataset && ['.h5', '.hdf5'].includes(ext));
  if (isDataset) {
    const r = await ds.openDataset(path);
    try {
      const idx = o.sample ?? r.indices()[0];
      if (!r.indices().includes(idx)) throw new Error(`sample: ${idx} is not in ${path} (indices ${r.indices()[0]}..${r.indices().at(-1)})`);
      const field = o.field ?? 'noisy';
      const s = await r.readSample(idx, [field, 'phantom'].filter((f) => f === field || r.stored[f as 'phantom']) as ('clean' | 'noisy' | 'phantom')[]);
      const want = o.channels ?? r.elements.map((e) => e.symbol);
      const N = r.shape.size, nCols = r.shape.nCols, nA = r.angles.length, plane = nA * N * nCols;
      const arr = (field === 'noisy' ? s.noisy : s.clean) as ArrayLike<number> | undefined;
      if (!arr) throw new Error(`field: the dataset does not store '${field}' tilt series`);
      const series = want.map((c) => {
        const k = r.channels.indexOf(c);
        if (k < 0) throw new Error(`channel: '${c}' is not one of ${r.channels.join(', ')}`);
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
      return { series, channels: want, angles: r.angles, nRows: N, nCols, size: o.size ?? N, voxelSizeAngstrom: r.shape.pixelSizeNm * 10, truth, haadf };
    } finally {
      await r.close();
    }
  }
  const tltPath = o.tlt ?? path.replace(/\.[^.]+$/, '.tlt');
  if (!existsSync(tltPath)) throw new Error(`tlt: tilt angles file ${tltPath} not found (pass --tlt)`);
  const { normaliseTiltAngles, mirrorProjections } = await import('../../generators/projection/index.ts');
  // Any convention (-180..180, 0..180, radians): angles into [-90, 90), projections at theta+180 mirrored.
  const norm = normaliseTiltAngles(ds.readTlt(tltPath), { radians: o.radians, field: tltPath });
  const angles = norm.angles;
  let data: Float32Array, shape: number[], vox = 1;
  if (['.mrc', '.mrcs', '.st', '.ali'].includes(ext)) {
    const m = ds.readMrc(path);
    data = m.data; shape = m.shape; vox = m.voxelSizeAngstrom || 1;
  } else {
    const s = await ds.readImageStack(path, { dataset: o.dataset });
    data = s.data; shape = s.shape;
  }
  if (shape.length !== 3) throw new Error(`input: expected a 3D stack [angle, row, col], got shape [${shape}]`);
  if (shape[0] !== angles.length) throw new Error(`tlt: ${tltPath} has ${angles.length} angles but the stack has ${shape[0]} projections`);
  mirrorProjections(data, shape[1], shape[2], norm.mirror);
  return { series: [data], channels: ['stack'], angles, nRows: shape[1], nCols: shape[2], size: o.size ?? shape[2], voxelSizeAngstrom: vox };
}

/** Writes volumes [channel][z, y, x] to PATH.h5 (one EMD data group per channel) and PATH_<channel>.mrc. */
export async function writeVolumes(prefix: string, volumes: Float32Array[], channels: string[], shape: [number, number, number], o: { voxelSizeAngstrom: number; attrs?: Record<string, string> }): Promise<string[]> {
  const { writeMrc, h5ready } = await import('../../datasets/index.ts');
  const written: string[] = [];
  volumes.forEach((v, k) => {
    const p = `${prefix}_${channels[k]}.mrc`;
    writeMrc(p, v, shape, { voxelSizeAngstrom: o.voxelSizeAngstrom || 1, kind: 'volume', labels: [`nanodose reconstruct: ${channels[k]} ${o.attrs?.method ?? ''}`] });
    written.push(p);
  });
  const h5 = await h5ready();
  const h5path = `${prefix}.h5`;
  await withAtomicPath(h5path, (tmp) => {
    const f = new h5.File(tmp, 'w');
    try {
      f.create_attribute('version_major', 0, null, '<i4');
      f.create_attribute('version_minor', 2, null, '<i4');
      for (const [k, v] of Object.entries(o.attrs ?? {})) f.create_attribute(k, v);
      const data = f.create_group('data');
      volumes.forEach((v, k) => {
        const g = data.create_group(`reconstruction_${channels[k]}`);
        g.create_attribute('emd_group_type', 1, null, '<i4');
        g.create_dataset({ name: 'data', data: v, shape, dtype: '<f4' });
        ['z', 'y', 'x'].forEach((ax, d) => {
          const dim = g.create_dataset({ name: `dim${d + 1}`, data: Float64Array.from({ length: shape[d] }, (_, i) => (i * (o.voxelSizeAngstrom || 1)) / 10), shape: [shape[d]], dtype: '<d' });
          dim.create_attribute('name', ax);
          dim.create_attribute('units', 'nm');
        });
      });
    } finally {
      f.close();
    }
  });
  written.push(h5path);
  return written;
}
