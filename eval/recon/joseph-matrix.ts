/**
 * A precomputed sparse system matrix (CSR) of the Joseph projector (Joseph 1982, IEEE TMI 1:192)
 * for one z-slice, applied to every slice, with the axis conventions of
 * generators/projection/geometry.ts; and a dense explicit-matrix operator for hand-checked tests.
 * Single-threaded: the production path is generators/projection's Projector (worker_threads);
 * this operator gives the tests and small evaluations an independent implementation.
 */
import type { LinearOperator, ProjectionOperator } from './operator.ts';
import type { TiltGeometry } from '../../generators/projection/geometry.ts';

/** Visits the (voxel, weight) pairs of ray (angle a, column u) in a ny x nx slice. */
function josephRay(ny: number, nx: number, theta: number, s: number, visit: (idx: number, w: number) => void): void {
  const c = Math.cos(theta), sn = Math.sin(theta);
  const cx = (nx - 1) / 2, cy = (ny - 1) / 2;
  if (Math.abs(c) >= Math.abs(sn)) {
    const w = 1 / Math.abs(c);
    for (let y = 0; y < ny; y++) {
      const Y = y - cy;
      const t = (Y - s * sn) / c;
      const X = s * c - t * sn + cx;
      const x0 = Math.floor(X), f = X - x0;
      if (x0 >= 0 && x0 < nx) visit(y * nx + x0, w * (1 - f));
      if (x0 + 1 >= 0 && x0 + 1 < nx) visit(y * nx + x0 + 1, w * f);
    }
  } else {
    const w = 1 / Math.abs(sn);
    for (let x = 0; x < nx; x++) {
      const X = x - cx;
      const t = (s * c - X) / sn;
      const Y = s * sn + t * c + cy;
      const y0 = Math.floor(Y), f = Y - y0;
      if (y0 >= 0 && y0 < ny) visit(y0 * nx + x, w * (1 - f));
      if (y0 + 1 >= 0 && y0 + 1 < ny) visit((y0 + 1) * nx + x, w * f);
    }
  }
}

/** Sparse matrix (CSR) of the slice projector: rows = [angle, col], columns = [y, x]. */
export function josephMatrix(ny: number, nx: number, anglesDeg: ArrayLike<number>, nCols: number, axisOffset = 0): { rowPtr: Int32Array; col: Int32Array; val: Float32Array; nRows: number; nColsM: number } {
  const rowPtr = new Int32Array(anglesDeg.length * nCols + 1);
  const cols: number[] = [], vals: number[] = [];
  let r = 0;
  for (let a = 0; a < anglesDeg.length; a++) {
    const th = (anglesDeg[a] * Math.PI) / 180;
    for (let u = 0; u < nCols; u++) {
      josephRay(ny, nx, th, u - (nCols - 1) / 2 - axisOffset, (i, w) => { if (w !== 0) { cols.push(i); vals.push(w); } });
      rowPtr[++r] = cols.length;
    }
  }
  return { rowPtr, col: Int32Array.from(cols), val: Float32Array.from(vals), nRows: anglesDeg.length * nCols, nColsM: ny * nx };
}

/** Operator for a volume [nz, ny, nx] with tilt series [angle, z, col], via one CSR matrix per slice. */
export class SliceMatrixOperator implements ProjectionOperator {
  private m: ReturnType<typeof josephMatrix>;
  readonly geom: TiltGeometry;
  readonly volumeSize: number;
  readonly tiltSeriesSize: number;
  constructor(readonly nz: number, readonly ny: number, readonly nx: number, readonly angles: ArrayLike<number>, readonly nCols: number, readonly axisOffset = 0) {
    this.m = josephMatrix(ny, nx, angles, nCols, axisOffset);
    this.geom = { angles: Float64Array.from(angles), nz, ny, nx, nCols, axisOffset };
    this.volumeSize = nz * ny * nx;
    this.tiltSeriesSize = angles.length * nz * nCols;
  }
  async forward(v: Float32Array, out = new Float32Array(this.angles.length * this.nz * this.nCols)): Promise<Float32Array> {
    const { rowPtr, col, val } = this.m;
    const nA = this.angles.length, nC = this.nCols, plane = this.ny * this.nx;
    for (let z = 0; z < this.nz; z++) for (let a = 0; a < nA; a++) for (let u = 0; u < nC; u++) {
      const r = a * nC + u;
      let s = 0;
      for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) s += val[k] * v[z * plane + col[k]];
      out[(a * this.nz + z) * nC + u] = s;
    }
    return out;
  }
  async back(t: Float32Array, out = new Float32Array(this.nz * this.ny * this.nx)): Promise<Float32Array> {
    const { rowPtr, col, val } = this.m;
    const nA = this.angles.length, nC = this.nCols, plane = this.ny * this.nx;
    out.fill(0);
    for (let z = 0; z < this.nz; z++) for (let a = 0; a < nA; a++) for (let u = 0; u < nC; u++) {
      const r = a * nC + u, y = t[(a * this.nz + z) * nC + u];
      if (y === 0) continue;
      for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) out[z * plane + col[k]] += val[k] * y;
    }
    return out;
  }
  async rowSums(): Promise<Float32Array> { return this.forward(new Float32Array(this.nz * this.ny * this.nx).fill(1)); }
  async colSums(): Promise<Float32Array> { return this.back(new Float32Array(this.angles.length * this.nz * this.nCols).fill(1)); }
}

/** A dense explicit matrix as an operator (for hand-checkable tiny problems). */
export class DenseOperator implements LinearOperator {
  readonly volumeSize: number;
  readonly tiltSeriesSize: number;
  constructor(readonly A: number[][]) { this.volumeSize = A[0].length; this.tiltSeriesSize = A.length; }
  async forward(x: Float32Array, out = new Float32Array(this.A.length)): Promise<Float32Array> {
    this.A.forEach((row, i) => { out[i] = row.reduce((s, a, j) => s + a * x[j], 0); });
    return out;
  }
  async back(y: Float32Array, out = new Float32Array(this.A[0].length)): Promise<Float32Array> {
    out.fill(0);
    this.A.forEach((row, i) => row.forEach((a, j) => { out[j] += a * y[i]; }));
    return out;
  }
  async rowSums(): Promise<Float32Array> { return this.forward(new Float32Array(this.A[0].length).fill(1)); }
  async colSums(): Promise<Float32Array> { return this.back(new Float32Array(this.A.length).fill(1)); }
}
