/**
 * Fused SIRT kernel on a compact Joseph ray table (the fast path behind slices.ts).
 *
 * The Joseph projector (Joseph 1982, IEEE TMI 1:192) visits, per ray and per step along its major
 * axis, exactly two neighbouring voxels q and q + d (d = 1 when the ray runs along y, d = nx when
 * it runs along x) with weights w(1 - f) and w f. The ray table stores, per step, only q (int32)
 * and the two float32 weights (12 bytes per step, against 2 x 8 bytes per step for the CSR matrix
 * and as much again for its transpose); an entry the CSR matrix lacks (voxel outside the slice, zero
 * weight) is stored with weight 0 and a valid index, which adds exact zeros and so changes nothing.
 *
 * One SIRT iteration (ASTRA semantics, van Aarle et al. 2015: x += lambda C A^T R (b - A x)) is one
 * pass over the table: for each ray, the forward sum over all interleaved slices of the chunk, the
 * weighted residual r = R (b - A x) (rounded to float32 as the two-pass kernel stores it), and at
 * once the scatter r * a_ij into a float64 back-projection buffer along the same steps, while the
 * ray's steps are still in L1. Rays are scattered in ascending order, and a product of two float32
 * numbers is exact in float64, so each voxel's back-projection is the same float64 sum, in the same
 * order, as the two-pass kernel's gather over the transposed matrix: the iterates were bit-identical
 * to the removed two-pass CSR kernel, are those of reference.ts up to float rounding (tests check it), and identical whatever the chunking or the
 * number of workers. Chunks of zc slices are handed out through an atomic counter (dynamic
 * scheduling: on a shared machine a slowed thread takes fewer chunks).
 */

/** Per-ray steps of the Joseph projector for one ny x nx slice. */
export interface RayTable {
  /** Steps of ray r are rayPtr[r] .. rayPtr[r + 1] - 1; rays are [angle, col]. */
  rayPtr: Int32Array;
  /** Voxel offset d of the second voxel of each step (1 or nx), per ray. */
  stride: Int32Array;
  /** First voxel index (y nx + x) of each step. */
  idx: Int32Array;
  /** Weights of the first and second voxel of each step (0 where the CSR matrix has no entry). */
  w0: Float32Array;
  w1: Float32Array;
  nRays: number;
  nVox: number;
  /** Voxels of padding after the slice that a zero-weight second voxel may point into. */
  pad: number;
}

/**
 * Ray table of the Joseph slice projector, with the arithmetic of joseph-matrix.ts's josephRay (same
 * doubles, same float32 rounding): each step's two entries appear in CSR order.
 */
export function josephRayTable(ny: number, nx: number, anglesDeg: ArrayLike<number>, nCols: number, axisOffset = 0): RayTable {
  const nRays = anglesDeg.length * nCols;
  const rayPtr = new Int32Array(nRays + 1), stride = new Int32Array(nRays);
  let cap = 1 << 16, n = 0;
  let idx = new Int32Array(cap), w0 = new Float32Array(cap), w1 = new Float32Array(cap);
  const push = (q: number, a: number, b: number) => {
    if (n === cap) {
      cap *= 2;
      const i2 = new Int32Array(cap); i2.set(idx); idx = i2;
      const a2 = new Float32Array(cap); a2.set(w0); w0 = a2;
      const b2 = new Float32Array(cap); b2.set(w1); w1 = b2;
    }
    idx[n] = q; w0[n] = a; w1[n] = b; n++;
  };
  const cx = (nx - 1) / 2, cy = (ny - 1) / 2;
  let r = 0;
  for (let ai = 0; ai < anglesDeg.length; ai++) {
    const theta = (anglesDeg[ai] * Math.PI) / 180;
    const c = Math.cos(theta), sn = Math.sin(theta);
    const alongY = Math.abs(c) >= Math.abs(sn);
    for (let u = 0; u < nCols; u++, r++) {
      const s = u - (nCols - 1) / 2 - axisOffset;
      stride[r] = alongY ? 1 : nx;
      if (alongY) {
        const w = 1 / Math.abs(c);
        for (let y = 0; y < ny; y++) {
          const Y = y - cy;
          const t = (Y - s * sn) / c;
          const X = s * c - t * sn + cx;
          const x0 = Math.floor(X), f = X - x0;
          const wa = w * (1 - f), wb = w * f;
          const ok0 = x0 >= 0 && x0 < nx && wa !== 0, ok1 = x0 + 1 >= 0 && x0 + 1 < nx && wb !== 0;
          if (ok0) push(y * nx + x0, wa, ok1 ? wb : 0);
          else if (ok1) push(y * nx + x0 + 1, wb, 0);
        }
      } else {
        const w = 1 / Math.abs(sn);
        for (let x = 0; x < nx; x++) {
          const X = x - cx;
          const t = (s * c - X) / sn;
          const Y = s * sn + t * c + cy;
          const y0 = Math.floor(Y), f = Y - y0;
          const wa = w * (1 - f), wb = w * f;
          const ok0 = y0 >= 0 && y0 < ny && wa !== 0, ok1 = y0 + 1 >= 0 && y0 + 1 < ny && wb !== 0;
          if (ok0) push(y0 * nx + x, wa, ok1 ? wb : 0);
          else if (ok1) push((y0 + 1) * nx + x, wb, 0);
        }
      }
      rayPtr[r + 1] = n;
    }
  }
  return { rayPtr, stride, idx: idx.slice(0, n), w0: w0.slice(0, n), w1: w1.slice(0, n), nRays, nVox: ny * nx, pad: nx };
}

/**
 * SIRT weights R = 1/(A 1) and lambda C = lambda/(A^T 1) from the ray table, zero-guarded, with the
 * same summation order and precision as row and column sums over the CSR matrix (tests check it).
 */
export function rayTableWeights(t: RayTable, lambda: number): { R: Float32Array; C: Float32Array } {
  const R = new Float32Array(t.nRays), Cp = new Float32Array(t.nVox + t.pad);
  for (let r = 0; r < t.nRays; r++) {
    let s = 0;
    const d = t.stride[r];
    for (let k = t.rayPtr[r]; k < t.rayPtr[r + 1]; k++) {
      s += t.w0[k]; s += t.w1[k];
      Cp[t.idx[k]] += t.w0[k]; Cp[t.idx[k] + d] += t.w1[k];
    }
    R[r] = s > 1e-6 ? 1 / s : 0;
  }
  const C = new Float32Array(t.nVox);
  for (let j = 0; j < t.nVox; j++) C[j] = Cp[j] > 1e-6 ? lambda / Cp[j] : 0;
  return { R, C };
}

export interface RayKernelOptions { nz: number; nA: number; nCols: number; iterations: number; lo: number; hi: number; chunk: number }

/**
 * Runs SIRT on the chunks of `chunk` slices whose numbers it draws from `counter[0]` (Atomics.add,
 * shared between workers) until none is left, on tilt series b ([angle, z, col]) into x ([z, y, x]);
 * `tick(n)` reports n slice-iterations done. Self-contained (workers receive its source text).
 */
export function sirtRayChunks(t: RayTable, w: { R: Float32Array; C: Float32Array }, b: Float32Array, x: Float32Array, o: RayKernelOptions, counter: Int32Array, tick?: (n: number) => void): void {
  const { rayPtr, stride, idx, w0, w1, nRays, nVox, pad } = t;
  const { R, C } = w;
  const zcMax = o.chunk, nChunks = Math.ceil(o.nz / zcMax);
  const lo = o.lo, hi = o.hi;
  const bi = new Float32Array(nRays * zcMax), xi = new Float32Array((nVox + pad) * zcMax), bp = new Float64Array((nVox + pad) * zcMax);
  const acc = new Float64Array(zcMax), res = new Float64Array(zcMax);
  for (;;) {
    const ci = Atomics.add(counter, 0, 1);
    if (ci >= nChunks) break;
    const zs = ci * zcMax, zc = Math.min(zcMax, o.nz - zs);
    for (let a = 0; a < o.nA; a++) for (let u = 0; u < o.nCols; u++) {
      const r = a * o.nCols + u;
      for (let z = 0; z < zc; z++) bi[r * zc + z] = b[(a * o.nz + zs + z) * o.nCols + u];
    }
    for (let k = 0; k < nVox; k++) for (let z = 0; z < zc; z++) xi[k * zc + z] = x[(zs + z) * nVox + k];
    xi.fill(0, nVox * zc);
    bp.fill(0);
    for (let it = 0; it < o.iterations; it++) {
      if (zc === 8) {
        for (let r = 0; r < nRays; r++) {
          const s0 = rayPtr[r], s1 = rayPtr[r + 1], rr = R[r];
          if (s0 === s1 || rr === 0) continue; // residual 0: nothing to scatter
          const d = stride[r] << 3;
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
          for (let s = s0; s < s1; s++) {
            const q = idx[s] << 3, p = q + d, v0 = w0[s], v1 = w1[s];
            a0 = a0 + v0 * xi[q] + v1 * xi[p]; a1 = a1 + v0 * xi[q + 1] + v1 * xi[p + 1];
            a2 = a2 + v0 * xi[q + 2] + v1 * xi[p + 2]; a3 = a3 + v0 * xi[q + 3] + v1 * xi[p + 3];
            a4 = a4 + v0 * xi[q + 4] + v1 * xi[p + 4]; a5 = a5 + v0 * xi[q + 5] + v1 * xi[p + 5];
            a6 = a6 + v0 * xi[q + 6] + v1 * xi[p + 6]; a7 = a7 + v0 * xi[q + 7] + v1 * xi[p + 7];
          }
          const ob = r << 3;
          const r0 = Math.fround((bi[ob] - a0) * rr), r1 = Math.fround((bi[ob + 1] - a1) * rr), r2 = Math.fround((bi[ob + 2] - a2) * rr), r3 = Math.fround((bi[ob + 3] - a3) * rr);
          const r4 = Math.fround((bi[ob + 4] - a4) * rr), r5 = Math.fround((bi[ob + 5] - a5) * rr), r6 = Math.fround((bi[ob + 6] - a6) * rr), r7 = Math.fround((bi[ob + 7] - a7) * rr);
          for (let s = s0; s < s1; s++) {
            const q = idx[s] << 3, p = q + d, v0 = w0[s], v1 = w1[s];
            bp[q] += v0 * r0; bp[q + 1] += v0 * r1; bp[q + 2] += v0 * r2; bp[q + 3] += v0 * r3;
            bp[q + 4] += v0 * r4; bp[q + 5] += v0 * r5; bp[q + 6] += v0 * r6; bp[q + 7] += v0 * r7;
            bp[p] += v1 * r0; bp[p + 1] += v1 * r1; bp[p + 2] += v1 * r2; bp[p + 3] += v1 * r3;
            bp[p + 4] += v1 * r4; bp[p + 5] += v1 * r5; bp[p + 6] += v1 * r6; bp[p + 7] += v1 * r7;
          }
        }
      } else {
        for (let r = 0; r < nRays; r++) {
          const s0 = rayPtr[r], s1 = rayPtr[r + 1], rr = R[r];
          if (s0 === s1 || rr === 0) continue;
          const d = stride[r] * zc;
          for (let z = 0; z < zc; z++) acc[z] = 0;
          for (let s = s0; s < s1; s++) {
            const q = idx[s] * zc, p = q + d, v0 = w0[s], v1 = w1[s];
            for (let z = 0; z < zc; z++) acc[z] = acc[z] + v0 * xi[q + z] + v1 * xi[p + z];
          }
          const ob = r * zc;
          for (let z = 0; z < zc; z++) res[z] = Math.fround((bi[ob + z] - acc[z]) * rr);
          for (let s = s0; s < s1; s++) {
            const q = idx[s] * zc, p = q + d, v0 = w0[s], v1 = w1[s];
            for (let z = 0; z < zc; z++) { bp[q + z] += v0 * res[z]; bp[p + z] += v1 * res[z]; }
          }
        }
      }
      // x += lambda C A^T r (the float64 sum rounded to float32, as the two-pass kernel stores it), constrained;
      // the buffer is cleared for the next iteration on the way.
      for (let k = 0; k < nVox; k++) {
        const c = C[k], base = k * zc;
        for (let z = 0; z < zc; z++) {
          let v = xi[base + z] + c * Math.fround(bp[base + z]);
          if (v < lo) v = lo; else if (v > hi) v = hi;
          xi[base + z] = v;
          bp[base + z] = 0;
        }
      }
      bp.fill(0, nVox * zc);
      tick?.(zc);
    }
    for (let k = 0; k < nVox; k++) for (let z = 0; z < zc; z++) x[(zs + z) * nVox + k] = xi[k * zc + z];
  }
}
