/**
 * MATLAB .mat tilt series (v5 through formats/matlab/mat5.ts, v7.3 through HDF5): variables to channels.
 *
 * Channels are the 2-D/3-D numeric variables of one size (or those named by `channels`); a vector
 * named angles/tilts/tilt_angles/theta/alpha gives the tilt angles (degrees), a scalar named
 * pixel_size_nm / pixel_size_A the pixel size. MATLAB stores a stack as X(row, col, angle): the
 * angle axis is the dimension whose length equals the number of angles when exactly one does
 * (else the third), and the rest are (row, col) in MATLAB order. Values are column-major, so
 * X(r, c, a) sits at r + R c + R C a.
 */
import { Mat5File, type MatVariable } from './mat5.ts';
import { FormatError, channelName, type TiltStack } from '../types.ts';

const ANGLES = /^(angles?|tilts?|tilt_?angles?|theta|alpha)$/i;

/**
 * How a file's variables make a tilt series (needs the values of the small variables only: angles,
 * pixel size): the channel variables, the angle axis and the (row, col) axes in MATLAB order, the
 * stack's shape [A, R, C], angles and pixel size. Shared by the whole read and the probe.
 */
export interface MatLayout {
  channels: MatVariable[];
  /** MATLAB axes (0-based) of angle, row and col, and each axis' stride in the column-major values. */
  axes: { angle: number; row: number; col: number };
  stride: [number, number, number];
  shape: [number, number, number];
  angles?: Float64Array;
  anglesFrom?: string;
  pixelSizeNm?: number;
}

export function matLayout(path: string, format: 'mat-v5' | 'mat-v7.3', vars: MatVariable[], want?: string[]): MatLayout {
  const listing = vars.map((v) => `${v.name} (${v.class} ${v.dims.join('x')})`).join(', ') || 'none';
  const numeric = vars.filter((v) => v.numeric);
  const angVar = numeric.find((v) => ANGLES.test(v.name) && v.data && v.dims.filter((d) => d > 1).length <= 1);
  const px = numeric.find((v) => /^pixel_?size_?(nm|a|angstrom)$/i.test(v.name) && v.data?.length === 1);
  let chans = numeric.filter((v) => v !== angVar && v !== px && v.dims.filter((d) => d > 1).length >= 2);
  if (want) {
    const missing = want.filter((w) => !chans.some((v) => channelName(v.name) === w));
    if (missing.length) throw new FormatError(path, format, `no variable named ${missing.join(', ')} (variables: ${listing})`);
    chans = chans.filter((v) => want.includes(channelName(v.name)));
  }
  if (chans.length === 0) throw new FormatError(path, format, `no 2-D/3-D numeric variable to read as a tilt series (variables: ${listing})`);
  const dims = chans[0].dims;
  for (const v of chans) {
    if (v.dims.join() !== dims.join()) throw new FormatError(path, format, `variables ${chans[0].name} (${dims.join('x')}) and ${v.name} (${v.dims.join('x')}) differ in size; name the channels to read`);
    if (v.dims.length > 3 && v.dims.slice(3).some((d) => d > 1)) throw new FormatError(path, format, `${v.name} is ${v.dims.join('x')}; expected rows x cols [x angles]`);
    if (v.complex) throw new FormatError(path, format, `${v.name} is complex; a tilt series is real`);
  }
  const d3 = [dims[0], dims[1], dims[2] ?? 1];
  const nA = angVar?.data!.length;
  const match = nA !== undefined ? d3.map((d, k) => (d === nA ? k : -1)).filter((k) => k >= 0) : [];
  const angle = match.length === 1 ? match[0] : 2;
  const [row, col] = [0, 1, 2].filter((k) => k !== angle);
  const shape: [number, number, number] = [d3[angle], d3[row], d3[col]];
  if (angVar && angVar.data!.length !== shape[0]) throw new FormatError(path, format, `${angVar.name} has ${angVar.data!.length} angles but ${chans[0].name} has ${shape[0]} projections along dimension ${angle + 1}`);
  const st = [1, d3[0], d3[0] * d3[1]];
  const pxNm = px ? (/nm$/i.test(px.name) ? px.data![0] : px.data![0] / 10) : undefined;
  return {
    channels: chans, axes: { angle, row, col }, stride: [st[angle], st[row], st[col]], shape,
    ...(angVar ? { angles: Float64Array.from(angVar.data!), anglesFrom: `${path} ${angVar.name}` } : {}),
    ...(pxNm && pxNm > 0 ? { pixelSizeNm: pxNm } : {}),
  };
}

/** A tilt series from variables read whole: [angle, row, col] C-order from MATLAB's column-major values. */
export function matToStack(path: string, format: 'mat-v5' | 'mat-v7.3', vars: MatVariable[], want?: string[]): TiltStack {
  const L = matLayout(path, format, vars, want);
  const [A, R, C] = L.shape, [sa, sr, sc] = L.stride;
  const channels = L.channels.map((v) => {
    const src = v.data!, out = new Float32Array(A * R * C);
    for (let a = 0; a < A; a++) for (let r = 0; r < R; r++) {
      const base = a * sa + r * sr;
      for (let c = 0; c < C; c++) out[(a * R + r) * C + c] = src[base + c * sc];
    }
    return { name: channelName(v.name), data: out };
  });
  return { file: path, format, channels, shape: L.shape, ...(L.angles ? { angles: L.angles, anglesFrom: L.anglesFrom } : {}), ...(L.pixelSizeNm ? { pixelSizeNm: L.pixelSizeNm } : {}) };
}

const asFormatError = (path: string, e: unknown) => (e instanceof FormatError ? e : new FormatError(path, 'mat-v5', (e as Error).message.replace(`${path}: `, '')));

/** Runs `use` on the opened MAT v5 file, closing it after; any error is one FormatError line. */
async function withMat5<T>(path: string, use: (f: Mat5File) => Promise<T>): Promise<T> {
  let f: Mat5File | undefined;
  try {
    f = await Mat5File.open(path);
    return await use(f);
  } catch (e) {
    throw asFormatError(path, e);
  } finally {
    f?.close();
  }
}

/** A MATLAB v5 tilt series, read whole (through Mat5File, never the whole file in memory at once). */
export function readMat5File(path: string, want?: string[]): Promise<TiltStack> {
  return withMat5(path, async (f) => {
    const L = matLayout(path, 'mat-v5', f.vars, want);
    for (const v of L.channels) v.data ??= await f.read(v);
    return matToStack(path, 'mat-v5', f.vars, want);
  });
}

/** numpy's name of a MATLAB numeric class. */
export const MAT_DTYPE: Record<string, string> = { double: 'float64', single: 'float32', int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16', int32: 'int32', uint32: 'uint32', int64: 'int64', uint64: 'uint64', logical: 'bool' };

/**
 * A MATLAB v5 file's layout and, per channel, the first rows of projection 0 that hold at most
 * `values` values ([row, col] row-major), read by streaming each variable's values only up to the
 * last one needed (a prefix when the angle axis is the last, as MATLAB stores a stack).
 */
export function probeMat5(path: string, values: number): Promise<{ layout: MatLayout; samples: Float32Array[] }> {
  return withMat5(path, async (f) => {
    const L = matLayout(path, 'mat-v5', f.vars);
    const [, R, C] = L.shape;
    const Rk = Math.min(R, Math.max(1, Math.floor(values / C)));
    const d3 = [L.channels[0].dims[0], L.channels[0].dims[1], L.channels[0].dims[2] ?? 1];
    const { angle, row, col } = L.axes;
    const last = (Rk - 1) * L.stride[1] + (C - 1) * L.stride[2];
    const samples: Float32Array[] = [];
    for (const v of L.channels) {
      const out = new Float32Array(Rk * C);
      if (v.data) {
        for (let r = 0; r < Rk; r++) for (let c = 0; c < C; c++) out[r * C + c] = v.data[r * L.stride[1] + c * L.stride[2]];
      } else {
        // walk the column-major indices (i0, i1, i2) alongside the stream
        const ix = [0, 0, 0];
        await f.values(v, (start, xs) => {
          for (let j = 0; j < xs.length; j++) {
            if (ix[angle] === 0 && ix[row] < Rk) out[ix[row] * C + ix[col]] = xs[j];
            if (++ix[0] === d3[0]) { ix[0] = 0; if (++ix[1] === d3[1]) { ix[1] = 0; ix[2]++; } }
          }
          return start + xs.length <= last;
        });
      }
      samples.push(out);
    }
    return { layout: L, samples };
  });
}
