/**
 * Alignment jitter of a tilt series (science.md section 4: "alignment jitter of +-1 px"): each tilt's
 * projection is displaced by a random integer number of pixels along rows (the tilt axis z) and columns,
 * the same displacement for every channel of that tilt, as stage drift between projections does.
 *
 * Convention: a shift (dr, dc) moves the image content by +dr rows and +dc columns,
 *   shifted[r][c] = image[r - dr][c - dc]   (0 where r - dr or c - dc falls outside),
 * so shifting again by (-dr, -dc) undoes it, except for the rows/columns pushed off the detector.
 */
import type { RandomStream } from '../../core/random.ts';
import { InternalError } from '../../core/validate.ts';

/** Per-tilt integer shifts in pixels, as plain arrays (recorded in a sample's params). */
export interface TiltShifts {
  rows: number[];
  cols: number[];
}

/**
 * Draws a shift in {-max, ..., max} for the rows and for the columns of each of `nAngles` tilts, uniformly
 * and independently (for each tilt in order: rows then cols) from `rng`.
 */
export function drawTiltShifts(nAngles: number, max: number, rng: RandomStream): TiltShifts {
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`drawTiltShifts: max must be an integer >= 0, got ${max}`);
  const rows: number[] = [], cols: number[] = [];
  for (let a = 0; a < nAngles; a++) {
    rows.push(rng.int(2 * max + 1) - max);
    cols.push(rng.int(2 * max + 1) - max);
  }
  return { rows, cols };
}

/**
 * Shifts every projection of a tilt series [angle, row, col] (nRows x nCols images) by its tilt's
 * (rows[a], cols[a]) (convention in the module comment). Returns a new array unless `out` is given
 * (`out` must not be `ts`).
 */
export function shiftTiltSeries(ts: Float32Array, nRows: number, nCols: number, shifts: TiltShifts, out?: Float32Array): Float32Array {
  const img = nRows * nCols, nA = shifts.rows.length;
  if (ts.length !== nA * img) throw new InternalError(`shiftTiltSeries: tilt series has ${ts.length} values, expected ${nA} x ${nRows} x ${nCols}`);
  const res = out ?? new Float32Array(ts.length);
  if (res === ts) throw new InternalError('shiftTiltSeries: out must be a different array from the input');
  res.fill(0);
  for (let a = 0; a < nA; a++) {
    const dr = shifts.rows[a], dc = shifts.cols[a], o = a * img;
    const c0 = Math.max(0, dc), c1 = Math.min(nCols, nCols + dc);
    if (c1 <= c0) continue;
    for (let r = Math.max(0, dr); r < Math.min(nRows, nRows + dr); r++) {
      const src = o + (r - dr) * nCols - dc, dst = o + r * nCols;
      res.set(ts.subarray(src + c0, src + c1), dst + c0);
    }
  }
  return res;
}
