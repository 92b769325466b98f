/**
 * Joseph (linear-interpolation) voxel projector and its exact adjoint, per z-slice, on typed arrays.
 *
 * P. M. Joseph, "An improved algorithm for reprojecting rays through pixel images", IEEE TMI 1 (1982) 192.
 * Conventions (generators/projection/geometry.ts): slice [y, x], voxel centres at (ix - (nx-1)/2, iy - (ny-1)/2),
 * detector coordinate t = x cos(theta) + y sin(theta), column u centred at t_u = u - (nCols-1)/2 - axisOffset
 * (axisOffset: the tilt axis's column minus the detector centre, 0 unless the axis is off centre), ray direction
 * (-sin theta, cos theta). For |cos| >= |sin| the ray is sampled once per voxel row y at
 *   x(u) = (t_u - y sin)/cos, weight 1/|cos|,
 * otherwise once per voxel column x at y(u) = (t_u - x cos)/sin, weight 1/|sin|; the sample is the linear
 * interpolation between the two nearest voxels (zero outside the slice). The weight 1/max(|cos|,|sin|) is the
 * path length per sampled row/column, so projections of smooth volumes keep the total mass.
 * The back-projector scatters each ray's value with exactly the same weights (the transpose), so
 * <A x, y> = <x, A^T y> holds to float rounding.
 *
 * Loop order (speed, not the result): for each angle the sampled lines (rows, or columns) are taken four at
 * a time, and the rays u that meet all four are handled in one inner loop (one u * d, one detector load or
 * store for four samples; in the back-projection four independent scatter chains instead of one chain whose
 * every step waits on the previous store). The few rays that meet only some of the four lines (the ends of
 * the clipped ranges) go through the plain one-line loop. Every accumulator receives the same terms in the
 * same order as the plain loop (angle, then line, then u ascending), so the output is byte-identical to it.
 *
 * These functions are self-contained (no imports, no closures over module state) because worker threads run
 * their source text; the one-line loops are nested function declarations for that reason, and `rayRange`
 * (the clipped rays of one line, shared by both directions) is passed to the workers beside them.
 */

/**
 * The rays u of one sampled line that meet the slice: those whose sample position x0 + u d lies in
 * [-1, nS] (the interpolation's voxel or its neighbour inside the line; the padding makes the other zero),
 * clipped to the detector [0, nCols - 1]. Writes lo to r[j] and hi to r[j + 1] (lo > hi: no ray).
 * Shared by the projector and its transpose so both walk exactly the same rays.
 */
export function rayRange(x0: number, d: number, nS: number, nCols: number, r: Int32Array, j: number): void {
  let lo: number, hi: number;
  if (d > 0) { lo = Math.ceil((-1 - x0) / d); hi = Math.floor((nS - x0) / d); } else { lo = Math.ceil((nS - x0) / d); hi = Math.floor((-1 - x0) / d); }
  r[j] = lo < 0 ? 0 : lo;
  r[j + 1] = hi > nCols - 1 ? nCols - 1 : hi;
}

/**
 * Forward projection of one slice: `out[a * nCols + u] = sum_samples w * interp(slice)`.
 * `slice` is [ny, nx], `angles` in degrees, `out` is [nAngles, nCols] (overwritten).
 * `scratch` (optional, reused between calls): Float64Array of length >= (ny+4)*(nx+4) + nAngles*nCols.
 */
export function forwardProjectSlice(slice: Float32Array, ny: number, nx: number, angles: ArrayLike<number>, nCols: number, out: Float32Array, scratch?: Float64Array, axisOffset = 0): Float32Array {
  /** One line, rays lo..hi: acc[o + u] += w * interp at x0 + u d (+2 padding); voxel k = base + i L, neighbour k + L. */
  function fSeg(acc: Float64Array, pad: Float64Array, o: number, x0: number, d: number, w: number, lo: number, hi: number, base: number, L: number): void {
    for (let u = lo; u <= hi; u++) {
      const xp = x0 + u * d + 2;
      const i = xp | 0, f = xp - i, k = base + i * L;
      acc[o + u] += w * (pad[k] + f * (pad[k + L] - pad[k]));
    }
  }
  const W = nx + 4, H = ny + 4, nA = angles.length;
  const need = W * H + nA * nCols;
  const buf = scratch && scratch.length >= need ? scratch : new Float64Array(need);
  const pad = buf.subarray(0, W * H);
  const acc = buf.subarray(W * H, need);
  const R = new Int32Array(8); // rayRange's [lo, hi] of up to four lines (integers: the loops stay on small integers)
  pad.fill(0);
  acc.fill(0);
  for (let iy = 0; iy < ny; iy++) {
    const src = iy * nx, dst = (iy + 2) * W + 2;
    for (let ix = 0; ix < nx; ix++) pad[dst + ix] = slice[src + ix];
  }
  const cx = (nx - 1) / 2, cy = (ny - 1) / 2, cu = (nCols - 1) / 2 + axisOffset;
  for (let a = 0; a < nA; a++) {
    const th = (angles[a] * Math.PI) / 180;
    const c = Math.cos(th), s = Math.sin(th);
    const o = a * nCols;
    const rows = Math.abs(c) >= Math.abs(s);
    // Lines: rows (|cos| >= |sin|: sample along x, voxel step 1) or columns (sample along y, voxel step W);
    // LS: pad offset between lines; p, q: the line's (cos, sin) or (sin, cos); x0: sample position of ray 0.
    const p = rows ? c : s, q = rows ? s : c, nL = rows ? ny : nx, nS = rows ? nx : ny, cL = rows ? cy : cx, cS = rows ? cx : cy;
    const LS = rows ? W : 1, L = rows ? 1 : W;
    const w = 1 / Math.abs(p), d = 1 / p;
    let il = 0;
    for (; il + 4 <= nL; il += 4) {
      // Four lines: clipped ray ranges [lo_r, hi_r]; rays LO..HI meet all four.
      const x0 = (-cu - (il - cL) * q) / p + cS, x1 = (-cu - (il + 1 - cL) * q) / p + cS, x2 = (-cu - (il + 2 - cL) * q) / p + cS, x3 = (-cu - (il + 3 - cL) * q) / p + cS;
      rayRange(x0, d, nS, nCols, R, 0); rayRange(x1, d, nS, nCols, R, 2); rayRange(x2, d, nS, nCols, R, 4); rayRange(x3, d, nS, nCols, R, 6);
      const lo0 = R[0], hi0 = R[1], lo1 = R[2], hi1 = R[3], lo2 = R[4], hi2 = R[5], lo3 = R[6], hi3 = R[7];
      const b0 = (il + 2) * LS, b1 = b0 + LS, b2 = b1 + LS, b3 = b2 + LS;
      const LO = Math.max(lo0, lo1, lo2, lo3), HI = Math.min(hi0, hi1, hi2, hi3);
      if (LO > HI) {
        fSeg(acc, pad, o, x0, d, w, lo0, hi0, b0, L); fSeg(acc, pad, o, x1, d, w, lo1, hi1, b1, L);
        fSeg(acc, pad, o, x2, d, w, lo2, hi2, b2, L); fSeg(acc, pad, o, x3, d, w, lo3, hi3, b3, L);
        continue;
      }
      fSeg(acc, pad, o, x0, d, w, lo0, Math.min(hi0, LO - 1), b0, L); fSeg(acc, pad, o, x1, d, w, lo1, Math.min(hi1, LO - 1), b1, L);
      fSeg(acc, pad, o, x2, d, w, lo2, Math.min(hi2, LO - 1), b2, L); fSeg(acc, pad, o, x3, d, w, lo3, Math.min(hi3, LO - 1), b3, L);
      if (rows) {
        for (let u = LO; u <= HI; u++) {
          const ud = u * d;
          const y0 = x0 + ud + 2, y1 = x1 + ud + 2, y2 = x2 + ud + 2, y3 = x3 + ud + 2;
          const i0 = y0 | 0, i1 = y1 | 0, i2 = y2 | 0, i3 = y3 | 0;
          const k0 = b0 + i0, k1 = b1 + i1, k2 = b2 + i2, k3 = b3 + i3;
          const p0 = pad[k0], p1 = pad[k1], p2 = pad[k2], p3 = pad[k3];
          let v = acc[o + u];
          v += w * (p0 + (y0 - i0) * (pad[k0 + 1] - p0));
          v += w * (p1 + (y1 - i1) * (pad[k1 + 1] - p1));
          v += w * (p2 + (y2 - i2) * (pad[k2 + 1] - p2));
          v += w * (p3 + (y3 - i3) * (pad[k3 + 1] - p3));
          acc[o + u] = v;
        }
      } else {
        for (let u = LO; u <= HI; u++) {
          const ud = u * d;
          const y0 = x0 + ud + 2, y1 = x1 + ud + 2, y2 = x2 + ud + 2, y3 = x3 + ud + 2;
          const i0 = y0 | 0, i1 = y1 | 0, i2 = y2 | 0, i3 = y3 | 0;
          const k0 = b0 + i0 * W, k1 = b1 + i1 * W, k2 = b2 + i2 * W, k3 = b3 + i3 * W;
          const p0 = pad[k0], p1 = pad[k1], p2 = pad[k2], p3 = pad[k3];
          let v = acc[o + u];
          v += w * (p0 + (y0 - i0) * (pad[k0 + W] - p0));
          v += w * (p1 + (y1 - i1) * (pad[k1 + W] - p1));
          v += w * (p2 + (y2 - i2) * (pad[k2 + W] - p2));
          v += w * (p3 + (y3 - i3) * (pad[k3 + W] - p3));
          acc[o + u] = v;
        }
      }
      fSeg(acc, pad, o, x0, d, w, Math.max(lo0, HI + 1), hi0, b0, L); fSeg(acc, pad, o, x1, d, w, Math.max(lo1, HI + 1), hi1, b1, L);
      fSeg(acc, pad, o, x2, d, w, Math.max(lo2, HI + 1), hi2, b2, L); fSeg(acc, pad, o, x3, d, w, Math.max(lo3, HI + 1), hi3, b3, L);
    }
    for (; il < nL; il++) {
      const x0 = (-cu - (il - cL) * q) / p + cS;
      rayRange(x0, d, nS, nCols, R, 0);
      fSeg(acc, pad, o, x0, d, w, R[0], R[1], (il + 2) * LS, L);
    }
  }
  for (let j = 0; j < nA * nCols; j++) out[j] = acc[j];
  return out;
}

/**
 * Back-projection (exact transpose of forwardProjectSlice) of one sinogram [nAngles, nCols] into a slice
 * [ny, nx] (overwritten). `scratch` as for forwardProjectSlice.
 */
export function backProjectSlice(sino: Float32Array, ny: number, nx: number, angles: ArrayLike<number>, nCols: number, out: Float32Array, scratch?: Float64Array, axisOffset = 0): Float32Array {
  /** One line, rays lo..hi: scatters g = w sino[o + u] as (1 - f) g to voxel k and f g to k + L (transpose of fSeg). */
  function bSeg(sino: Float32Array, pad: Float64Array, o: number, x0: number, d: number, w: number, lo: number, hi: number, base: number, L: number): void {
    for (let u = lo; u <= hi; u++) {
      const xp = x0 + u * d + 2;
      const i = xp | 0, f = xp - i, k = base + i * L;
      const g = w * sino[o + u];
      pad[k] += g - f * g;
      pad[k + L] += f * g;
    }
  }
  const W = nx + 4, H = ny + 4, nA = angles.length;
  const need = W * H + nA * nCols;
  const buf = scratch && scratch.length >= need ? scratch : new Float64Array(need);
  const pad = buf.subarray(0, W * H);
  pad.fill(0);
  const R = new Int32Array(8); // rayRange's [lo, hi] of up to four lines (integers: the loops stay on small integers)
  const cx = (nx - 1) / 2, cy = (ny - 1) / 2, cu = (nCols - 1) / 2 + axisOffset;
  for (let a = 0; a < nA; a++) {
    const th = (angles[a] * Math.PI) / 180;
    const c = Math.cos(th), s = Math.sin(th);
    const o = a * nCols;
    const rows = Math.abs(c) >= Math.abs(s);
    const p = rows ? c : s, q = rows ? s : c, nL = rows ? ny : nx, nS = rows ? nx : ny, cL = rows ? cy : cx, cS = rows ? cx : cy;
    const LS = rows ? W : 1, L = rows ? 1 : W;
    const w = 1 / Math.abs(p), d = 1 / p;
    let il = 0;
    for (; il + 4 <= nL; il += 4) {
      const x0 = (-cu - (il - cL) * q) / p + cS, x1 = (-cu - (il + 1 - cL) * q) / p + cS, x2 = (-cu - (il + 2 - cL) * q) / p + cS, x3 = (-cu - (il + 3 - cL) * q) / p + cS;
      rayRange(x0, d, nS, nCols, R, 0); rayRange(x1, d, nS, nCols, R, 2); rayRange(x2, d, nS, nCols, R, 4); rayRange(x3, d, nS, nCols, R, 6);
      const lo0 = R[0], hi0 = R[1], lo1 = R[2], hi1 = R[3], lo2 = R[4], hi2 = R[5], lo3 = R[6], hi3 = R[7];
      const b0 = (il + 2) * LS, b1 = b0 + LS, b2 = b1 + LS, b3 = b2 + LS;
      const LO = Math.max(lo0, lo1, lo2, lo3), HI = Math.min(hi0, hi1, hi2, hi3);
      if (LO > HI) {
        bSeg(sino, pad, o, x0, d, w, lo0, hi0, b0, L); bSeg(sino, pad, o, x1, d, w, lo1, hi1, b1, L);
        bSeg(sino, pad, o, x2, d, w, lo2, hi2, b2, L); bSeg(sino, pad, o, x3, d, w, lo3, hi3, b3, L);
        continue;
      }
      bSeg(sino, pad, o, x0, d, w, lo0, Math.min(hi0, LO - 1), b0, L); bSeg(sino, pad, o, x1, d, w, lo1, Math.min(hi1, LO - 1), b1, L);
      bSeg(sino, pad, o, x2, d, w, lo2, Math.min(hi2, LO - 1), b2, L); bSeg(sino, pad, o, x3, d, w, lo3, Math.min(hi3, LO - 1), b3, L);
      if (rows) {
        for (let u = LO; u <= HI; u++) {
          const ud = u * d, g = w * sino[o + u];
          const y0 = x0 + ud + 2, y1 = x1 + ud + 2, y2 = x2 + ud + 2, y3 = x3 + ud + 2;
          const i0 = y0 | 0, i1 = y1 | 0, i2 = y2 | 0, i3 = y3 | 0;
          const k0 = b0 + i0, k1 = b1 + i1, k2 = b2 + i2, k3 = b3 + i3;
          const g0 = (y0 - i0) * g, g1 = (y1 - i1) * g, g2 = (y2 - i2) * g, g3 = (y3 - i3) * g;
          pad[k0] += g - g0; pad[k0 + 1] += g0;
          pad[k1] += g - g1; pad[k1 + 1] += g1;
          pad[k2] += g - g2; pad[k2 + 1] += g2;
          pad[k3] += g - g3; pad[k3 + 1] += g3;
        }
      } else {
        for (let u = LO; u <= HI; u++) {
          const ud = u * d, g = w * sino[o + u];
          const y0 = x0 + ud + 2, y1 = x1 + ud + 2, y2 = x2 + ud + 2, y3 = x3 + ud + 2;
          const i0 = y0 | 0, i1 = y1 | 0, i2 = y2 | 0, i3 = y3 | 0;
          const k0 = b0 + i0 * W, k1 = b1 + i1 * W, k2 = b2 + i2 * W, k3 = b3 + i3 * W;
          const g0 = (y0 - i0) * g, g1 = (y1 - i1) * g, g2 = (y2 - i2) * g, g3 = (y3 - i3) * g;
          pad[k0] += g - g0; pad[k0 + W] += g0;
          pad[k1] += g - g1; pad[k1 + W] += g1;
          pad[k2] += g - g2; pad[k2 + W] += g2;
          pad[k3] += g - g3; pad[k3 + W] += g3;
        }
      }
      bSeg(sino, pad, o, x0, d, w, Math.max(lo0, HI + 1), hi0, b0, L); bSeg(sino, pad, o, x1, d, w, Math.max(lo1, HI + 1), hi1, b1, L);
      bSeg(sino, pad, o, x2, d, w, Math.max(lo2, HI + 1), hi2, b2, L); bSeg(sino, pad, o, x3, d, w, Math.max(lo3, HI + 1), hi3, b3, L);
    }
    for (; il < nL; il++) {
      const x0 = (-cu - (il - cL) * q) / p + cS;
      rayRange(x0, d, nS, nCols, R, 0);
      bSeg(sino, pad, o, x0, d, w, R[0], R[1], (il + 2) * LS, L);
    }
  }
  for (let iy = 0; iy < ny; iy++) {
    const src = (iy + 2) * W + 2, dst = iy * nx;
    for (let ix = 0; ix < nx; ix++) out[dst + ix] = pad[src + ix];
  }
  return out;
}

/**
 * Forward projection of slices z0..z1-1 of a volume [nz, ny, nx] into a tilt series [nA, nz, nCols]
 * (rows z0..z1-1 of every projection are overwritten).
 */
export function forwardRange(vol: Float32Array, ts: Float32Array, nz: number, ny: number, nx: number, angles: ArrayLike<number>, nCols: number, z0: number, z1: number, axisOffset = 0): void {
  const nA = angles.length;
  const scratch = new Float64Array((ny + 4) * (nx + 4) + nA * nCols);
  const sino = new Float32Array(nA * nCols);
  for (let z = z0; z < z1; z++) {
    forwardProjectSlice(vol.subarray(z * ny * nx, (z + 1) * ny * nx), ny, nx, angles, nCols, sino, scratch, axisOffset);
    for (let a = 0; a < nA; a++) ts.set(sino.subarray(a * nCols, (a + 1) * nCols), (a * nz + z) * nCols);
  }
}

/** Back-projection of rows z0..z1-1 of a tilt series [nA, nz, nCols] into slices z0..z1-1 of a volume (overwritten). */
export function backRange(ts: Float32Array, vol: Float32Array, nz: number, ny: number, nx: number, angles: ArrayLike<number>, nCols: number, z0: number, z1: number, axisOffset = 0): void {
  const nA = angles.length;
  const scratch = new Float64Array((ny + 4) * (nx + 4) + nA * nCols);
  const sino = new Float32Array(nA * nCols);
  for (let z = z0; z < z1; z++) {
    for (let a = 0; a < nA; a++) sino.set(ts.subarray((a * nz + z) * nCols, (a * nz + z + 1) * nCols), a * nCols);
    backProjectSlice(sino, ny, nx, angles, nCols, vol.subarray(z * ny * nx, (z + 1) * ny * nx), scratch, axisOffset);
  }
}
