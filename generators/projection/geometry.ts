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
 *
 * Tilt-axis offset (`axisOffset`, detector columns, default 0): the tilt axis projects to column
 * (nCols-1)/2 + axisOffset instead of the detector centre, as when a real series' axis is not centred;
 * column u then sits at t_u = u - (nCols-1)/2 - axisOffset from the axis. A projection with offset o is
 * the centred projection moved by +o columns.
 */
export interface TiltGeometry {
  /** Tilt angles in degrees. */
  angles: Float64Array;
  nz: number;
  ny: number;
  nx: number;
  /** Detector columns (u); at least the volume's width so no ray misses the reconstruction circle. */
  nCols: number;
  /** Tilt-axis column minus the detector centre (columns, may be fractional); 0 when absent. */
  axisOffset?: number;
}
