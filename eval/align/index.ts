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
 * reprojection, add the residual shift, repeat. The slice is warm-started: each round's SIRT continues
 * from the previous round's slice instead of from zero, so after k rounds it has had k x 20
 * iterations. A slice reconstructed from zero in 20 iterations is under-converged, and its
 * reprojection is biased in a way that depends on the tilt (the high tilts most); matching against it
 * left column errors of up to 0.2 px that cost 0.36 dB of reconstruction PSNR (scripts/bench/align.bench.ts,
 * seed 2); warm-started, the same 12 rounds x 20 iterations give 0.025 px. Odstrcil et al. 2019, Opt.
 * Express 27:36637, doi:10.1364/OE.27.036637, show that projection matching reaches deep sub-pixel
 * accuracy only when the reconstruction it reprojects is converged. A shift pattern x cos(theta) + y sin(theta) is a
 * translation of the particle and cannot be seen in the data (the gauge); it is removed by a
 * least-squares fit d = c + x cos + y sin, and the constant c (a shift common to all tilts, which is
 * not a translation) is the tilt-axis offset.
 * Matching is least squares over the overlap (crossCorrelationShift), refined to sub-pixel by a parabola.
 *
 * In-plane rotation (estimateRotation): for a parallel beam about z the row profile of every
 * projection is the same, p_theta(z) = integral f(x, y, z) dx dy; a tilt axis rotated by phi in the
 * detector plane breaks that (the row coordinate becomes z cos(phi) + u sin(phi), and u moves with theta).
 * phi is the rotation that, undone, makes the row-aligned profiles most alike: the least-squares
 * spread of the profiles about their mean, minimised over a grid of angles and refined by a parabola
 * (the "common-line"/row-profile criterion of tilt-axis finding, cf. Mastronarde 2005 in Frank (ed.)
 * Electron Tomography, doi:10.1007/978-0-387-69008-7_6, and Houben & Bar Sadan 2011,
 * Ultramicroscopy 111:1512, doi:10.1016/j.ultramic.2011.06.001). A particle symmetric about the
 * axis leaves phi unobservable; the estimate then stays near 0 (flat criterion).
 *
 * Convention (generators/signal/jitter.ts): a shift (dr, dc) means the content was moved by +dr rows
 * and +dc columns; `applyShifts` moves it back by (-dr, -dc) with bilinear interpolation. A rotation
 * phi means the content was turned by +phi (degrees, rows down, columns right: (dr, dc) -> (dr cos -
 * dc sin, dr sin + dc cos)) about the frame centre before it was shifted; `applyAlignment` undoes both.
 */
import { forwardProjectSlice, backProjectSlice } from '../../generators/projection/index.ts';
import { ConfigError, InternalError } from '../../core/validate.ts';

export interface Alignment {
  /** Per-projection row shifts (content moved by +rows[a]). */
  rows: Float64Array;
  /** Per-projection column shifts, without the common part (that is axisOffset). */
  cols: Float64Array;
  /** Tilt-axis column minus the detector centre (generators/projection/geometry.ts). */
  axisOffset: number;
  /** In-plane rotation of the projections in degrees (content turned by +rotationDeg), 0 when not estimated. */
  rotationDeg?: number;
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

/**
 * Replaces the unobservable part of an estimated alignment (a constant row shift; c + x cos + y sin
 * in the columns, the axis offset included) by a reference's, for scoring against a phantom that
 * sits where the simulator put it: rows += mean(ref_r - est_r); cols + axisOffset += the least-squares
 * fit of [1, cos, sin] to (ref_c - est_c - axisOffset), the result's axis offset 0. What remains is
 * the alignment error the data could show.
 */
export function fixGauge(est: Alignment, ref: { rows: ArrayLike<number>; cols: ArrayLike<number> }, angles: ArrayLike<number>): Alignment {
  const n = angles.length;
  let mr = 0;
  for (let a = 0; a < n; a++) mr += (ref.rows[a] - est.rows[a]) / n;
  const d = Float64Array.from({ length: n }, (_, a) => ref.cols[a] - est.cols[a] - est.axisOffset);
  const resid = Float64Array.from(d);
  const c = removeGauge(resid, angles);
  // removeGauge leaves resid = d - (x cos + y sin) and returns c: the fitted part is (d - resid) + c.
  const cols = Float64Array.from({ length: n }, (_, a) => est.cols[a] + est.axisOffset + (d[a] - resid[a]) + c);
  return { rows: Float64Array.from(est.rows, (v) => v + mr), cols, axisOffset: 0, rotationDeg: est.rotationDeg };
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
  /** Also estimate a small in-plane rotation within +-this many degrees (estimateRotation); 0 or absent: none. */
  maxRotationDeg?: number;
}

/** Estimates the shifts and the axis offset of a tilt series [angle, row, col] (see the module comment). */
export function alignTiltSeries(ts: Float32Array, nRows: number, nCols: number, angles: ArrayLike<number>, o: AlignOptions = {}): Alignment {
  const nA = angles.length, img = nRows * nCols;
  if (ts.length !== nA * img) throw new InternalError(`align: tilt series has ${ts.length} values, expected ${nA} x ${nRows} x ${nCols}`);
  for (let i = 0; i < ts.length; i++) if (!Number.isFinite(ts[i])) throw new ConfigError('align', `the tilt series has a non-finite value at index ${i}`);
  const M = o.maxShift ?? 8, rounds = o.iterations ?? 12, sIt = o.sirtIterations ?? 20;
  let rotationDeg = 0;
  if (o.maxRotationDeg) {
    rotationDeg = estimateRotation(ts, nRows, nCols, angles, { maxDeg: o.maxRotationDeg, maxShift: M }).rotationDeg;
    // The shifts are estimated on the counter-rotated series (applyAlignment's order: rotate, then shift).
    if (rotationDeg !== 0) ts = applyAlignment(ts, nRows, nCols, { rows: new Float64Array(nA), cols: new Float64Array(nA), axisOffset: 0, rotationDeg });
  }
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
    // x is not reset: warm start from the previous round (module comment).
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
  return { rows, cols, axisOffset: c0, rotationDeg };
}

/** Row profiles (sums over columns) of every projection counter-rotated by phi about the frame centre. */
function rotatedRowProfiles(ts: Float32Array, nRows: number, nCols: number, nA: number, phiDeg: number): Float64Array[] {
  const img = nRows * nCols, t = (phiDeg * Math.PI) / 180, co = Math.cos(t), si = Math.sin(t);
  const rc = (nRows - 1) / 2, cc = (nCols - 1) / 2, out: Float64Array[] = [];
  for (let a = 0; a < nA; a++) {
    const p = new Float64Array(nRows), o = a * img;
    for (let r = 0; r < nRows; r++) {
      const dr = r - rc;
      let acc = 0;
      for (let c = 0; c < nCols; c++) {
        const dc = c - cc, y = dr * co - dc * si + rc, x = dr * si + dc * co + cc;
        const yi = Math.floor(y), xi = Math.floor(x);
        if (yi < 0 || xi < 0 || yi + 1 >= nRows || xi + 1 >= nCols) continue;
        const fy = y - yi, fx = x - xi, q = o + yi * nCols + xi;
        acc += (1 - fy) * ((1 - fx) * ts[q] + fx * ts[q + 1]) + fy * ((1 - fx) * ts[q + nCols] + fx * ts[q + nCols + 1]);
      }
      p[r] = acc;
    }
    out.push(p);
  }
  return out;
}

/**
 * Spread of the row profiles after undoing rotation phi: each profile row-aligned to their mean
 * (crossCorrelationShift, two rounds), then sum_a sum_z (p_a(z - s_a) - mean(z))^2 / sum_z mean(z)^2.
 */
export function rotationCriterion(ts: Float32Array, nRows: number, nCols: number, nA: number, phiDeg: number, maxShift = 8): number {
  const prof = rotatedRowProfiles(ts, nRows, nCols, nA, phiDeg);
  const tmp = new Float64Array(nRows), s = new Float64Array(nA);
  let mean = new Float64Array(nRows);
  for (let round = 0; round < 3; round++) {
    mean = new Float64Array(nRows);
    for (let a = 0; a < nA; a++) { shift1d(prof[a], s[a], tmp); for (let i = 0; i < nRows; i++) mean[i] += tmp[i] / nA; }
    if (round < 2) for (let a = 0; a < nA; a++) s[a] = crossCorrelationShift(prof[a], mean, maxShift);
  }
  let e = 0, m2 = 0;
  for (let i = 0; i < nRows; i++) m2 += mean[i] * mean[i];
  for (let a = 0; a < nA; a++) { shift1d(prof[a], s[a], tmp); for (let i = 0; i < nRows; i++) e += (tmp[i] - mean[i]) ** 2; }
  return m2 > 0 ? e / m2 : 0;
}

/**
 * Estimates the in-plane rotation of a tilt series [angle, row, col] (module comment): the
 * criterion on a grid of 0.5 degree steps over [-maxDeg, maxDeg] (default 5), then a parabola through
 * the best step and its neighbours, clamped to the half-step around it. Returns the criterion per grid angle too.
 */
export function estimateRotation(ts: Float32Array, nRows: number, nCols: number, angles: ArrayLike<number>, o: { maxDeg?: number; step?: number; maxShift?: number } = {}): { rotationDeg: number; grid: number[]; criterion: number[] } {
  const nA = angles.length, maxDeg = o.maxDeg ?? 5, step = o.step ?? 0.5;
  if (!(maxDeg > 0 && maxDeg <= 45)) throw new ConfigError('align', `the largest rotation must be in (0, 45] degrees, got ${maxDeg}`);
  if (ts.length !== nA * nRows * nCols) throw new InternalError(`align: tilt series has ${ts.length} values, expected ${nA} x ${nRows} x ${nCols}`);
  const n = Math.round(maxDeg / step), grid: number[] = [], crit: number[] = [];
  for (let k = -n; k <= n; k++) { grid.push(k * step); crit.push(rotationCriterion(ts, nRows, nCols, nA, k * step, o.maxShift)); }
  let b = 0;
  for (let k = 1; k < grid.length; k++) if (crit[k] < crit[b]) b = k;
  let phi = grid[b];
  if (b > 0 && b < grid.length - 1) {
    const l = crit[b - 1], c = crit[b], r = crit[b + 1], den = l - 2 * c + r;
    if (den > 0) phi += Math.max(-0.5, Math.min(0.5, (l - r) / (2 * den))) * step;
  }
  return { rotationDeg: phi, grid, criterion: crit };
}

/**
 * Undoes an alignment: out(q) = in(R(phi) (q + s_a - centre) + centre), bilinear, 0 outside, with
 * s_a = (rows[a], cols[a]) and phi = rotationDeg (see the module comment). `centreAxis` also moves
 * every projection by the axis offset, so the tilt axis lands on the detector centre (a series to hand
 * to a tool without an offset option). Without rotation this is applyShifts (integer shifts copy exactly).
 */
export function applyAlignment(ts: Float32Array, nRows: number, nCols: number, al: Alignment, o: { centreAxis?: boolean } = {}): Float32Array {
  const nA = al.rows.length, img = nRows * nCols;
  const cols = o.centreAxis ? Float64Array.from(al.cols, (c) => c + al.axisOffset) : al.cols;
  const phi = al.rotationDeg ?? 0;
  if (phi === 0) return applyShifts(ts, nRows, nCols, al.rows, cols);
  if (ts.length !== nA * img || cols.length !== nA) throw new InternalError(`applyAlignment: ${ts.length} values and ${nA}/${cols.length} shifts do not fit ${nRows} x ${nCols} projections`);
  const t = (phi * Math.PI) / 180, co = Math.cos(t), si = Math.sin(t), rc = (nRows - 1) / 2, cc = (nCols - 1) / 2;
  const out = new Float32Array(ts.length);
  for (let a = 0; a < nA; a++) {
    const o2 = a * img;
    const at = (r: number, c: number) => (r >= 0 && r < nRows && c >= 0 && c < nCols ? ts[o2 + r * nCols + c] : 0);
    for (let r = 0; r < nRows; r++) {
      const dr = r + al.rows[a] - rc;
      for (let c = 0; c < nCols; c++) {
        const dc = c + cols[a] - cc, y = dr * co - dc * si + rc, x = dr * si + dc * co + cc;
        const yi = Math.floor(y), xi = Math.floor(x), fy = y - yi, fx = x - xi;
        out[o2 + r * nCols + c] = (1 - fy) * ((1 - fx) * at(yi, xi) + fx * at(yi, xi + 1)) + fy * ((1 - fx) * at(yi + 1, xi) + fx * at(yi + 1, xi + 1));
      }
    }
  }
  return out;
}

/**
 * Moves every projection of [angle, row, col] back by its (rows[a], cols[a]) (out[r][c] =
 * in[r + rows][c + cols], bilinear, 0 outside); integer shifts copy values exactly.
 */
export function applyShifts(ts: Float32Array, nRows: number, nCols: number, rows: ArrayLike<number>, cols: ArrayLike<number>): Float32Array {
  const nA = rows.length, img = nRows * nCols, out = new Float32Array(ts.length);
  if (ts.length !== nA * img || cols.length !== nA) throw new InternalError(`applyShifts: ${ts.length} values and ${rows.length}/${cols.length} shifts do not fit ${nRows} x ${nCols} projections`);
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
  const lines = [`# nanodose alignment: content moved by +row, +col pixels; axis_offset ${al.axisOffset.toFixed(4)} columns; rotation_deg ${(al.rotationDeg ?? 0).toFixed(4)}`, '# angle_deg row_shift col_shift'];
  for (let a = 0; a < angles.length; a++) lines.push(`${angles[a]} ${al.rows[a].toFixed(4)} ${al.cols[a].toFixed(4)}`);
  return lines.join('\n') + '\n';
}

/** Parses formatShifts' text (or any `angle row col` lines, '#' comments); `file` names it in errors. */
export function parseShifts(text: string, nAngles: number, file: string): Alignment {
  const rows: number[] = [], cols: number[] = [];
  let axisOffset = 0, rotationDeg = 0;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const m = /axis_offset\s+(-?[\d.eE+-]+)/.exec(raw);
    if (m) axisOffset = Number(m[1]);
    const mr = /rotation_deg\s+(-?[\d.eE+-]+)/.exec(raw);
    if (mr) rotationDeg = Number(mr[1]);
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const v = line.split(/[\s,]+/).map(Number);
    if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) throw new ConfigError(`${file}:${i + 1}`, `expected 'angle row_shift col_shift', got '${raw}'`);
    rows.push(v[1]); cols.push(v[2]);
  }
  if (rows.length !== nAngles) throw new ConfigError(file, `${rows.length} shift lines but the tilt series has ${nAngles} projections`);
  if (!Number.isFinite(axisOffset)) throw new ConfigError(file, `axis_offset is not a number`);
  if (!(Number.isFinite(rotationDeg) && Math.abs(rotationDeg) <= 45)) throw new ConfigError(file, `rotation_deg must be a number of degrees in [-45, 45], got ${rotationDeg}`);
  return { rows: Float64Array.from(rows), cols: Float64Array.from(cols), axisOffset, rotationDeg };
}
