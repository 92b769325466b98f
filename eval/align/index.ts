/**
 * Tilt-series alignment: per-projection shifts (rows, columns) and the tilt-axis offset.
 *
 * Rows (along the tilt axis z): for a parallel beam about z, the row profile of a projection
 * (its sum over columns) is the same at every tilt while the particle stays in the field, so each
 * profile is matched to the profile nearest 0 degrees, then twice to the mean of the aligned profiles; the shift of
 * the projection nearest 0 degrees is the reference (0).
 * Columns: projection matching (Dengler 1989, Ultramicroscopy 30:337, doi:10.1016/0304-3991(89)90063-9;
 * Parkinson et al. 2012, Ultramicroscopy 116:1) on the column profiles (sum over rows), which are the
 * projections of the z-summed particle, a 2-D problem: reconstruct the slice by SIRT from the
 * profiles moved back by the current shifts, reproject, cross-correlate every profile with its
 * reprojection, add the residual shift, repeat. A shift pattern x cos(theta) + y sin(theta) is a
 * translation of the particle and cannot be seen in the data (the gauge); it is removed by a
 * least-squares fit d = c + x cos + y sin, and the constant c (a shift common to all tilts, which is
 * not a translation) is the tilt-axis offset.
 * Matching is least squares over the overlap (crossCorrelationShift), refined to sub-pixel by a parabola.
 *
 * Convention (generators/signal/jitter.ts): a shift (dr, dc) means the content was moved by +dr rows
 * and +dc columns; `applyShifts` moves it back by (-dr, -dc) with bilinear interpolation.
 */
import { forwardProjectSlice, backProjectSlice } from '../../generators/projection/index.ts';

export interface Alignment {
  /** Per-projection row shifts (content moved by +rows[a]). */
  rows: Float64Array;
  /** Per-projection column shifts, without the common part (that is axisOffset). */
  cols: Float64Array;
  /** Tilt-axis column minus the detector centre (generators/projection/geometry.ts). */
  axisOffset: number;
}

/**
 * Shift s in [-M, M] that best matches f to g moved by +s: least squares over the overlap,
 *   E(s) = (1/|O_s|) sum_{c in O_s} (f(c) - g(c - s))^2,
 * (the overlap-normalised form of cross-correlation matching, unbiased by the shrinking overlap of a
 * flat-topped profile), refined to sub-pixel by the parabola through E at the best integer s and its
 * neighbours: s + (E[-1] - E[+1]) / (2 (E[-1] - 2 E[0] + E[+1])).
 */
export function crossCorrelationShift(f: ArrayLike<number>, g: ArrayLike<number>, M: number): number {
  const n = f.length;
  const E = (s: number) => {
    let v = 0, k = 0;
    for (let c = Math.max(0, s); c < Math.min(n, n + s); c++) { const d = f[c] - g[c - s]; v += d * d; k++; }
    return k ? v / k : Infinity;
  };
  M = Math.min(M, n - 2);
  let best = 0, bv = Infinity;
  for (let s = -M; s <= M; s++) { const v = E(s); if (v < bv) { bv = v; best = s; } }
  const l = E(best - 1), r = E(best + 1), den = l - 2 * bv + r;
  const frac = den > 0 && Number.isFinite(den) ? (l - r) / (2 * den) : 0;
  return best + Math.max(-0.5, Math.min(0.5, frac));
}

/** g(c) = f(c + s) by linear interpolation (0 outside): moves content by -s. */
function shift1d(f: ArrayLike<number>, s: number, out: Float64Array): Float64Array {
  const n = f.length;
  for (let c = 0; c < n; c++) {
    const x = c + s, i = Math.floor(x), t = x - i;
    const a = i >= 0 && i < n ? f[i] : 0, b = i + 1 >= 0 && i + 1 < n ? f[i + 1] : 0;
    out[c] = a + t * (b - a);
  }
  return out;
}

/** Removes x cos + y sin from d (least squares fit of c + x cos + y sin); returns c. */
function removeGauge(d: Float64Array, angles: ArrayLike<number>): number {
  const n = d.length;
  const A = [[0, 0, 0], [0, 0, 0], [0, 0, 0]], b = [0, 0, 0];
  const basis = (a: number) => { const t = (angles[a] * Math.PI) / 180; return [1, Math.cos(t), Math.sin(t)]; };
  for (let a = 0; a < n; a++) { const f = basis(a); for (let i = 0; i < 3; i++) { b[i] += f[i] * d[a]; for (let j = 0; j < 3; j++) A[i][j] += f[i] * f[j]; } }
  // Solve with the sin column dropped when the angles do not determine it (e.g. one angle): ridge on the diagonal.
  for (let i = 0; i < 3; i++) A[i][i] += 1e-9 * (A[0][0] + 1);
  const M = A.map((r, i) => [...r, b[i]]);
  for (let i = 0; i < 3; i++) {
    let p = i;
    for (let k = i + 1; k < 3; k++) if (Math.abs(M[k][i]) > Math.abs(M[p][i])) p = k;
    [M[i], M[p]] = [M[p], M[i]];
    for (let k = 0; k < 3; k++) if (k !== i) { const f = M[k][i] / M[i][i]; for (let j = i; j < 4; j++) M[k][j] -= f * M[i][j]; }
  }
  const x = M.map((r, i) => r[3] / r[i]);
  for (let a = 0; a < n; a++) { const f = basis(a); d[a] -= x[1] * f[1] + x[2] * f[2]; }
  return x[0];
}

export interface AlignOptions {
  /** Largest shift searched per step in pixels (default 8). */
  maxShift?: number;
  /** Projection-matching rounds (default 12). */
  iterations?: number;
  /** SIRT iterations per round (default 20). */
  sirtIterations?: number;
  /** Called per round with the RMS residual shift (pixels): the objective of the matching. */
  onIteration?: (round: number, rmsResidual: number) => void;
}

/** Estimates the shifts and the axis offset of a tilt series [angle, row, col] (see the module comment). */
export function alignTiltSeries(ts: Float32Array, nRows: number, nCols: number, angles: ArrayLike<number>, o: AlignOptions = {}): Alignment {
  const nA = angles.length, img = nRows * nCols;
  if (ts.length !== nA * img) throw new Error(`align: tilt series has ${ts.length} values, expected ${nA} x ${nRows} x ${nCols}`);
  for (let i = 0; i < ts.length; i++) if (!Number.isFinite(ts[i])) throw new Error(`align: the tilt series has a non-finite value at index ${i}`);
  const M = o.maxShift ?? 8, rounds = o.iterations ?? 12, sIt = o.sirtIterations ?? 20;
  let ref0 = 0;
  for (let a = 1; a < nA; a++) if (Math.abs(angles[a]) < Math.abs(angles[ref0])) ref0 = a;
  // --- rows
  const rp: Float64Array[] = [], cp: Float64Array[] = [];
  for (let a = 0; a < nA; a++) {
    const r = new Float64Array(nRows), c = new Float64Array(nCols);
    for (let i = 0; i < nRows; i++) for (let j = 0; j < nCols; j++) { const v = ts[a * img + i * nCols + j]; r[i] += v; c[j] += v; }
    rp.push(r); cp.push(c);
  }
  const rows = new Float64Array(nA), tmp = new Float64Array(Math.max(nRows, nCols));
  for (let a = 0; a < nA; a++) rows[a] = crossCorrelationShift(rp[a], rp[ref0], M);
  for (let round = 0; round < 2; round++) {
    // Against the mean of the aligned profiles (less noise than one projection's).
    const ref = new Float64Array(nRows);
    for (let a = 0; a < nA; a++) { shift1d(rp[a], rows[a], tmp.subarray(0, nRows)); for (let i = 0; i < nRows; i++) ref[i] += tmp[i] / nA; }
    for (let a = 0; a < nA; a++) rows[a] = crossCorrelationShift(rp[a], ref, M);
  }
  const r0 = rows[ref0];
  for (let a = 0; a < nA; a++) rows[a] -= r0;
  // --- columns: projection matching on the column profiles
  const N = nCols, d = new Float64Array(nA);
  const q = new Float32Array(nA * nCols), x = new Float32Array(N * N), p = new Float32Array(nA * nCols), bp = new Float32Array(N * N);
  const R = forwardProjectSlice(new Float32Array(N * N).fill(1), N, N, angles, nCols, new Float32Array(nA * nCols));
  const C = backProjectSlice(new Float32Array(nA * nCols).fill(1), N, N, angles, nCols, new Float32Array(N * N));
  let c0 = 0;
  for (let round = 1; round <= rounds; round++) {
    for (let a = 0; a < nA; a++) { shift1d(cp[a], d[a], tmp.subarray(0, nCols)); for (let j = 0; j < nCols; j++) q[a * nCols + j] = tmp[j]; }
    x.fill(0);
    for (let it = 0; it < sIt; it++) {
      forwardProjectSlice(x, N, N, angles, nCols, p);
      for (let i = 0; i < p.length; i++) p[i] = R[i] > 1e-6 ? (q[i] - p[i]) / R[i] : 0;
      backProjectSlice(p, N, N, angles, nCols, bp);
      for (let i = 0; i < x.length; i++) { const v = x[i] + (C[i] > 1e-6 ? bp[i] / C[i] : 0); x[i] = v > 0 ? v : 0; }
    }
    forwardProjectSlice(x, N, N, angles, nCols, p);
    let ss = 0;
    for (let a = 0; a < nA; a++) {
      const delta = crossCorrelationShift(q.subarray(a * nCols, (a + 1) * nCols), p.subarray(a * nCols, (a + 1) * nCols), Math.min(M, 3));
      d[a] += delta; ss += delta * delta;
    }
    c0 = removeGauge(d, angles);
    o.onIteration?.(round, Math.sqrt(ss / nA));
  }
  const cols = new Float64Array(nA);
  for (let a = 0; a < nA; a++) cols[a] = d[a] - c0;
  return { rows, cols, axisOffset: c0 };
}

/**
 * Moves every projection of [angle, row, col] back by its (rows[a], cols[a]) (out[r][c] =
 * in[r + rows][c + cols], bilinear, 0 outside); integer shifts copy values exactly.
 */
export function applyShifts(ts: Float32Array, nRows: number, nCols: number, rows: ArrayLike<number>, cols: ArrayLike<number>): Float32Array {
  const nA = rows.length, img = nRows * nCols, out = new Float32Array(ts.length);
  if (ts.length !== nA * img || cols.length !== nA) throw new Error(`applyShifts: ${ts.length} values and ${rows.length}/${cols.length} shifts do not fit ${nRows} x ${nCols} projections`);
  for (let a = 0; a < nA; a++) {
    const o = a * img, ri = Math.floor(rows[a]), rt = rows[a] - ri, ci = Math.floor(cols[a]), ct = cols[a] - ci;
    const at = (r: number, c: number) => (r >= 0 && r < nRows && c >= 0 && c < nCols ? ts[o + r * nCols + c] : 0);
    for (let r = 0; r < nRows; r++) for (let c = 0; c < nCols; c++) {
      const y = r + ri, xx = c + ci;
      const v00 = at(y, xx), v01 = ct ? at(y, xx + 1) : 0, v10 = rt ? at(y + 1, xx) : 0, v11 = rt && ct ? at(y + 1, xx + 1) : 0;
      out[o + r * nCols + c] = (1 - rt) * ((1 - ct) * v00 + ct * v01) + rt * ((1 - ct) * v10 + ct * v11);
    }
  }
  return out;
}

/** Shifts file text: a header line, then `angle row_shift col_shift` per projection; the axis offset in a comment. */
export function formatShifts(angles: ArrayLike<number>, al: Alignment): string {
  const lines = [`# nanodose alignment: content moved by +row, +col pixels; axis_offset ${al.axisOffset.toFixed(4)} columns`, '# angle_deg row_shift col_shift'];
  for (let a = 0; a < angles.length; a++) lines.push(`${angles[a]} ${al.rows[a].toFixed(4)} ${al.cols[a].toFixed(4)}`);
  return lines.join('\n') + '\n';
}

/** Parses formatShifts' text (or any `angle row col` lines, '#' comments); `file` names it in errors. */
export function parseShifts(text: string, nAngles: number, file: string): Alignment {
  const rows: number[] = [], cols: number[] = [];
  let axisOffset = 0;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const m = /axis_offset\s+(-?[\d.eE+-]+)/.exec(raw);
    if (m) axisOffset = Number(m[1]);
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const v = line.split(/[\s,]+/).map(Number);
    if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) throw new Error(`${file}:${i + 1}: expected 'angle row_shift col_shift', got '${raw}'`);
    rows.push(v[1]); cols.push(v[2]);
  }
  if (rows.length !== nAngles) throw new Error(`${file}: ${rows.length} shift lines but the tilt series has ${nAngles} projections`);
  if (!Number.isFinite(axisOffset)) throw new Error(`${file}: axis_offset is not a number`);
  return { rows: Float64Array.from(rows), cols: Float64Array.from(cols), axisOffset };
}
