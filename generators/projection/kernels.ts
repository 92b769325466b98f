/**
 * Joseph (linear-interpolation) voxel projector and its exact adjoint, per z-slice, on typed arrays.
 *
 * P. M. Joseph, "An improved algorithm for reprojecting rays through pixel images", IEEE TMI 1 (1982) 192.
 * Conventions (generators/projection/geometry.ts): slice [y, x], voxel centres at (ix - (nx-1)/2, iy - (ny-1)/2),
 * detector coordinate t = x cos(theta) + y sin(theta), column u centred at t_u = u - (nCols-1)/2, ray direction
 * (-sin theta, cos theta). For |cos| >= |sin| the ray is sampled once per voxel row y at
 *   x(u) = (t_u - y sin)/cos, weight 1/|cos|,
 * otherwise once per voxel column x at y(u) = (t_u - x cos)/sin, weight 1/|sin|; the sample is the linear
 * interpolation between the two nearest voxels (zero outside the slice). The weight 1/max(|cos|,|sin|) is the
 * path length per sampled row/column, so projections of smooth volumes keep the total mass.
 * The back-projector scatters each ray's value with exactly the same weights (the transpose), so
 * <A x, y> = <x, A^T y> holds to float rounding.
 *
 * These functions are self-contained (no imports, no closures) because worker threads run their source text.
 */

/**
 * Forward projection of one slice: `out[a * nCols + u] = sum_samples w * interp(slice)`.
 * `slice` is [ny, nx], `angles` in degrees, `out` is [nAngles, nCols] (overwritten).
 * `scratch` (optional, reused between calls): Float64Array of length >= (ny+4)*(nx+4) + nAngles*nCols.
 */
export function forwardProjectSlice(slice: Float32Array, ny: number, nx: number, angles: ArrayLike<number>, nCols: number, out: Float32Array, scratch?: Float64Array): Float32Array {
  const W = nx + 4, H = ny + 4, nA = angles.length;
  const need = W * H + nA * nCols;
  const buf = scratch && scratch.length >= need ? scratch : new Float64Array(need);
  const pad = buf.subarray(0, W * H);
  const acc = buf.subarray(W * H, need);
  pad.fill(0);
  acc.fill(0);
  for (let iy = 0; iy < ny; iy++) {
    const src = iy * nx, dst = (iy + 2) * W + 2;
    for (let ix = 0; ix < nx; ix++) pad[dst + ix] = slice[src + ix];
  }
  const cx = (nx - 1) / 2, cy = (ny - 1) / 2, cu = (nCols - 1) / 2;
  for (let a = 0; a < nA; a++) {
    const th = (angles[a] * Math.PI) / 180;
    const c = Math.cos(th), s = Math.sin(th);
    const o = a * nCols;
    if (Math.abs(c) >= Math.abs(s)) {
      const w = 1 / Math.abs(c), d = 1 / c;
      for (let iy = 0; iy < ny; iy++) {
        const x0 = (-cu - (iy - cy) * s) / c + cx;
        let lo: number, hi: number;
        if (d > 0) { lo = Math.ceil((-1 - x0) / d); hi = Math.floor((nx - x0) / d); } else { lo = Math.ceil((nx - x0) / d); hi = Math.floor((-1 - x0) / d); }
        if (lo < 0) lo = 0;
        if (hi > nCols - 1) hi = nCols - 1;
        const row = (iy + 2) * W;
        for (let u = lo; u <= hi; u++) {
          const xp = x0 + u * d + 2;
          const i = xp | 0, f = xp - i, k = row + i;
          acc[o + u] += w * (pad[k] + f * (pad[k + 1] - pad[k]));
        }
      }
    } else {
      const w = 1 / Math.abs(s), d = 1 / s;
      for (let ix = 0; ix < nx; ix++) {
        const y0 = (-cu - (ix - cx) * c) / s + cy;
        let lo: number, hi: number;
        if (d > 0) { lo = Math.ceil((-1 - y0) / d); hi = Math.floor((ny - y0) / d); } else { lo = Math.ceil((ny - y0) / d); hi = Math.floor((-1 - y0) / d); }
        if (lo < 0) lo = 0;
        if (hi > nCols - 1) hi = nCols - 1;
        const col = ix + 2;
        for (let u = lo; u <= hi; u++) {
          const yp = y0 + u * d + 2;
          const i = yp | 0, f = yp - i, k = i * W + col;
          acc[o + u] += w * (pad[k] + f * (pad[k + W] - pad[k]));
        }
      }
    }
  }
  for (let j = 0; j < nA * nCols; j++) out[j] = acc[j];
  return out;
}

/**
 * Back-projection (exact transpose of forwardProjectSlice) of one sinogram [nAngles, nCols] into a slice
 * [ny, nx] (overwritten). `scratch` as for forwardProjectSlice.
 */
export function backProjectSlice(sino: Float32Array, ny: number, nx: number, angles: ArrayLike<number>, nCols: number, out: Float32Array, scratch?: Float64Array): Float32Array {
  const W = nx + 4, H = ny + 4, nA = angles.length;
  const need = W * H + nA * nCols;
  const buf = scratch && scratch.length >= need ? scratch : new Float64Array(need);
  const pad = buf.subarray(0, W * H);
  pad.fill(0);
  const cx = (nx - 1) / 2, cy = (ny - 1) / 2, cu = (nCols - 1) / 2;
  for (let a = 0; a < nA; a++) {
    const th = (angles[a] * Math.PI) / 180;
    const c = Math.cos(th), s = Math.sin(th);
    const o = a * nCols;
    if (Math.abs(c) >= Math.abs(s)) {
      const w = 1 / Math.abs(c), d = 1 / c;
      for (let iy = 0; iy < ny; iy++) {
        const x0 = (-cu - (iy - cy) * s) / c + cx;
        let lo: number, hi: number;
        if (d > 0) { lo = Math.ceil((-1 - x0) / d); hi = Math.floor((nx - x0) / d); } else { lo = Math.ceil((nx - x0) / d); hi = Math.floor((-1 - x0) / d); }
        if (lo < 0) lo = 0;
        if (hi > nCols - 1) hi = nCols - 1;
        const row = (iy + 2) * W;
        for (let u = lo; u <= hi; u++) {
          const xp = x0 + u * d + 2;
          const i = xp | 0, f = xp - i, k = row + i;
          const g = w * sino[o + u];
          pad[k] += g - f * g;
          pad[k + 1] += f * g;
        }
      }
    } else {
      const w = 1 / Math.abs(s), d = 1 / s;
      for (let ix = 0; ix < nx; ix++) {
        const y0 = (-cu - (ix - cx) * c) / s + cy;
        let lo: number, hi: number;
        if (d > 0) { lo = Math.ceil((-1 - y0) / d); hi = Math.floor((ny - y0) / d); } else { lo = Math.ceil((ny - y0) / d); hi = Math.floor((-1 - y0) / d); }
        if (lo < 0) lo = 0;
        if (hi > nCols - 1) hi = nCols - 1;
        const col = ix + 2;
        for (let u = lo; u <= hi; u++) {
          const yp = y0 + u * d + 2;
          const i = yp | 0, f = yp - i, k = i * W + col;
          const g = w * sino[o + u];
          pad[k] += g - f * g;
          pad[k + W] += f * g;
        }
      }
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
export function forwardRange(vol: Float32Array, ts: Float32Array, nz: number, ny: number, nx: number, angles: ArrayLike<number>, nCols: number, z0: number, z1: number): void {
  const nA = angles.length;
  const scratch = new Float64Array((ny + 4) * (nx + 4) + nA * nCols);
  const sino = new Float32Array(nA * nCols);
  for (let z = z0; z < z1; z++) {
    forwardProjectSlice(vol.subarray(z * ny * nx, (z + 1) * ny * nx), ny, nx, angles, nCols, sino, scratch);
    for (let a = 0; a < nA; a++) ts.set(sino.subarray(a * nCols, (a + 1) * nCols), (a * nz + z) * nCols);
  }
}

/** Back-projection of rows z0..z1-1 of a tilt series [nA, nz, nCols] into slices z0..z1-1 of a volume (overwritten). */
export function backRange(ts: Float32Array, vol: Float32Array, nz: number, ny: number, nx: number, angles: ArrayLike<number>, nCols: number, z0: number, z1: number): void {
  const nA = angles.length;
  const scratch = new Float64Array((ny + 4) * (nx + 4) + nA * nCols);
  const sino = new Float32Array(nA * nCols);
  for (let z = z0; z < z1; z++) {
    for (let a = 0; a < nA; a++) sino.set(ts.subarray((a * nz + z) * nCols, (a * nz + z + 1) * nCols), a * nCols);
    backProjectSlice(sino, ny, nx, angles, nCols, vol.subarray(z * ny * nx, (z + 1) * ny * nx), scratch);
  }
}
