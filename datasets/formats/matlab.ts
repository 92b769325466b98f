/**
 * MATLAB .mat tilt series (v5 through formats/mat5.ts, v7.3 through HDF5): variables to channels.
 *
 * Channels are the 2-D/3-D numeric variables of one size (or those named by `channels`); a vector
 * named angles/tilts/tilt_angles/theta/alpha gives the tilt angles (degrees), a scalar named
 * pixel_size_nm / pixel_size_A the pixel size. MATLAB stores a stack as X(row, col, angle): the
 * angle axis is the dimension whose length equals the number of angles when exactly one does
 * (else the third), and the rest are (row, col) in MATLAB order. Values are column-major, so
 * X(r, c, a) sits at r + R c + R C a.
 */
import { readFileSync } from 'node:fs';
import { readMat5, type MatVariable } from './mat5.ts';
import { FormatError, channelName, type TiltStack } from './types.ts';

const ANGLES = /^(angles?|tilts?|tilt_?angles?|theta|alpha)$/i;

export function matToStack(path: string, format: 'mat-v5' | 'mat-v7.3', vars: MatVariable[], want?: string[]): TiltStack {
  const listing = vars.map((v) => `${v.name} (${v.class} ${v.dims.join('x')})`).join(', ') || 'none';
  const numeric = vars.filter((v) => v.data);
  const angVar = numeric.find((v) => ANGLES.test(v.name) && v.dims.filter((d) => d > 1).length <= 1);
  const px = numeric.find((v) => /^pixel_?size_?(nm|a|angstrom)$/i.test(v.name) && v.data!.length === 1);
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
  const aAx = match.length === 1 ? match[0] : 2;
  const [rAx, cAx] = [0, 1, 2].filter((k) => k !== aAx);
  const [A, R, C] = [d3[aAx], d3[rAx], d3[cAx]];
  const stride = [1, d3[0], d3[0] * d3[1]];
  const channels = chans.map((v) => {
    const src = v.data!, out = new Float32Array(A * R * C);
    for (let a = 0; a < A; a++) for (let r = 0; r < R; r++) {
      const base = a * stride[aAx] + r * stride[rAx];
      for (let c = 0; c < C; c++) out[(a * R + r) * C + c] = src[base + c * stride[cAx]];
    }
    return { name: channelName(v.name), data: out };
  });
  if (angVar && angVar.data!.length !== A) throw new FormatError(path, format, `${angVar.name} has ${angVar.data!.length} angles but ${chans[0].name} has ${A} projections along dimension ${aAx + 1}`);
  const pxNm = px ? (/nm$/i.test(px.name) ? px.data![0] : px.data![0] / 10) : undefined;
  return { file: path, format, channels, shape: [A, R, C], ...(angVar ? { angles: Float64Array.from(angVar.data!), anglesFrom: `${path} ${angVar.name}` } : {}), ...(pxNm && pxNm > 0 ? { pixelSizeNm: pxNm } : {}) };
}

export function readMat5File(path: string, want?: string[]): TiltStack {
  let vars: MatVariable[];
  try {
    vars = readMat5(readFileSync(path), path);
  } catch (e) {
    throw new FormatError(path, 'mat-v5', (e as Error).message.replace(`${path}: `, ''));
  }
  return matToStack(path, 'mat-v5', vars, want);
}
