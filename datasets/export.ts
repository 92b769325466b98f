/**
 * Exports one sample of a dataset for other tools: MRC 2014 (or float32 TIFF) volumes per element,
 * tilt series per channel with an IMOD .tlt, and PNG previews (central slices of each element's
 * map, the projection nearest 0 degrees of each channel). `frames` (datasets storing the dose
 * fractionation) gives one tilt series per frame and channel (`..._frames_Au_f0.mrc`, ...), as
 * acquired, so other tools can sum or split them (e.g. even/odd halves for Noise2Noise).
 * `channels` restricts the export to those channels (HAADF or element symbols).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeTiffStack } from './formats/tiff/tiff.ts';
import { writeMrc, writeTlt } from './formats/mrc/mrc.ts';
import { centralSlices, writePngGrey } from './preview.ts';
import type { DatasetReader } from './reader.ts';
import { ConfigError } from '../core/validate.ts';

export type ExportWhat = 'phantom' | 'clean' | 'noisy' | 'frames';

/** Writes the files and returns their paths. Voxel size defaults to the dataset's pixel size. */
export async function exportSample(
  r: DatasetReader,
  index: number,
  opts: { format: 'mrc' | 'tiff' | 'png'; what: ExportWhat[]; outDir: string; voxelSizeAngstrom?: number; channels?: string[] },
): Promise<string[]> {
  mkdirSync(opts.outDir, { recursive: true });
  const N = r.shape.size, U = r.shape.nCols, A = r.angles.length;
  const vs = opts.voxelSizeAngstrom ?? r.shape.pixelSizeNm * 10;
  const tag = `sample-${String(index).padStart(5, '0')}`;
  const written: string[] = [];
  for (const c of opts.channels ?? []) if (!r.channels.includes(c)) throw new ConfigError('channel', `${JSON.stringify(c)} is not a channel of ${r.path}; allowed: ${r.channels.join(', ')}`);
  const keep = (name: string) => !opts.channels || opts.channels.includes(name);
  const s = await r.readSample(index, opts.what);
  const label = `nanodose sample ${index} of ${r.path}`;
  if (s.phantom) {
    r.elements.forEach((e, k) => {
      if (!keep(e.symbol)) return;
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
      if (!keep(ch)) return;
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
  if (s.frames) {
    const F = r.shape.nFrames, per = N * U;
    r.channels.forEach((ch, c) => {
      if (!keep(ch)) return;
      for (let f = 0; f < F; f++) {
        // Frames are stored [C, A, F, N, U]: gather frame f of every tilt into one [A, N, U] stack.
        const stack = new Float32Array(A * per);
        for (let a = 0; a < A; a++) {
          const from = ((c * A + a) * F + f) * per;
          for (let i = 0; i < per; i++) stack[a * per + i] = s.frames![from + i];
        }
        const base = join(opts.outDir, `${tag}_frames_${ch}_f${f}`);
        if (opts.format === 'png') {
          writePngGrey(`${base}_${r.angles[a0].toFixed(0)}deg.png`, stack.subarray(a0 * per, (a0 + 1) * per), N, U);
          written.push(`${base}_${r.angles[a0].toFixed(0)}deg.png`);
          continue;
        }
        if (opts.format === 'mrc') writeMrc(`${base}.mrc`, stack, [A, N, U], { voxelSizeAngstrom: vs, kind: 'stack', labels: [label, `frame ${f} of ${F}, channel ${ch}`] });
        else writeTiffStack(`${base}.tif`, stack, [A, N, U]);
        writeTlt(`${base}.tlt`, r.angles);
        written.push(`${base}.${opts.format === 'mrc' ? 'mrc' : 'tif'}`, `${base}.tlt`);
      }
    });
  }
  return written;
}
