/**
 * Exports one sample of a dataset for other tools: MRC 2014 (or float32 TIFF) volumes per element,
 * tilt series per channel with an IMOD .tlt, and PNG previews (central slices of each element's
 * map, the projection nearest 0 degrees of each channel).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeTiffStack } from './imagestack.ts';
import { writeMrc, writeTlt } from './mrc.ts';
import { centralSlices, writePngGrey } from './preview.ts';
import type { DatasetReader } from './reader.ts';

export type ExportWhat = 'phantom' | 'clean' | 'noisy';

/** Writes the files and returns their paths. Voxel size defaults to the dataset's pixel size. */
export async function exportSample(
  r: DatasetReader,
  index: number,
  opts: { format: 'mrc' | 'tiff' | 'png'; what: ExportWhat[]; outDir: string; voxelSizeAngstrom?: number },
): Promise<string[]> {
  mkdirSync(opts.outDir, { recursive: true });
  const N = r.shape.size, U = r.shape.nCols, A = r.angles.length;
  const vs = opts.voxelSizeAngstrom ?? r.shape.pixelSizeNm * 10;
  const tag = `sample-${String(index).padStart(5, '0')}`;
  const written: string[] = [];
  const s = await r.readSample(index, opts.what);
  const label = `nanodose sample ${index} of ${r.path}`;
  if (s.phantom) {
    r.elements.forEach((e, k) => {
      const vol = s.phantom!.subarray(k * N ** 3, (k + 1) * N ** 3);
      const base = join(opts.outDir, `${tag}_phantom_${e.symbol}`);
      if (opts.format === 'mrc') writeMrc(`${base}.mrc`, vol, [N, N, N], { voxelSizeAngstrom: vs, kind: 'volume', labels: [label, `phantom fraction of ${e.symbol}`] });
      else if (opts.format === 'tiff') writeTiffStack(`${base}.tif`, vol, [N, N, N]);
      else {
        const c = centralSlices(vol, N);
        for (const ax of ['z', 'y', 'x'] as const) {
          writePngGrey(`${base}_${ax}.png`, c[ax], N, N, [0, 1]);
          written.push(`${base}_${ax}.png`);
        }
        return;
      }
      written.push(`${base}.${opts.format === 'mrc' ? 'mrc' : 'tif'}`);
    });
  }
  // nearest-to-zero tilt for previews
  let a0 = 0;
  for (let a = 0; a < A; a++) if (Math.abs(r.angles[a]) < Math.abs(r.angles[a0])) a0 = a;
  for (const f of ['clean', 'noisy'] as const) {
    const arr = s[f];
    if (!arr) continue;
    r.channels.forEach((ch, c) => {
      const per = A * N * U;
      const stack = arr instanceof Float32Array ? arr.subarray(c * per, (c + 1) * per) : Float32Array.from(arr.subarray(c * per, (c + 1) * per));
      const base = join(opts.outDir, `${tag}_${f}_${ch}`);
      if (opts.format === 'png') {
        writePngGrey(`${base}_${r.angles[a0].toFixed(0)}deg.png`, stack.subarray(a0 * N * U, (a0 + 1) * N * U), N, U);
        written.push(`${base}_${r.angles[a0].toFixed(0)}deg.png`);
        return;
      }
      if (opts.format === 'mrc') writeMrc(`${base}.mrc`, stack, [A, N, U], { voxelSizeAngstrom: vs, kind: 'stack', labels: [label, `${f} tilt series, channel ${ch}`] });
      else writeTiffStack(`${base}.tif`, stack, [A, N, U]);
      writeTlt(`${base}.tlt`, r.angles);
      written.push(`${base}.${opts.format === 'mrc' ? 'mrc' : 'tif'}`, `${base}.tlt`);
    });
  }
  return written;
}
