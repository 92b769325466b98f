/**
 * Parallel-beam, single-tilt-axis geometry (science.md section 3; ASTRA's parallel3d layout).
 *
 * Volume `[z, y, x]` (Float32Array, length nz*ny*nx), tilt axis along z. A projection at tilt
 * angle theta is `[row, col]` = `[z, u]`; the beam runs along y at 0 degrees. A tilt series is
 * `[angle, row, col]` (length nAngles*nz*nCols). Slice z of the volume projects to row z of every
 * projection, so each z-slice is an independent 2D problem (this is how the projector and SIRT
 * split over worker threads).
 *
 * Column u of a projection has its centre at u - (nCols-1)/2 voxels from the tilt axis; the ray
 * direction at angle theta is (dx, dy) = (-sin theta, cos theta) in the (x, y) plane, and the
 * detector axis is (cos theta, sin theta).
 */
export interface TiltGeometry {
  /** Tilt angles in degrees. */
  angles: Float64Array;
  nz: number;
  ny: number;
  nx: number;
  /** Detector columns (u); at least the volume's width so no ray misses the reconstruction circle. */
  nCols: number;
}
