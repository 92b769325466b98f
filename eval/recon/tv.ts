/**
 * TV-regularised reconstruction by the Chambolle-Pock primal-dual algorithm (Chambolle & Pock 2011,
 * J. Math. Imaging Vis. 40:120; Sidky, Jorgensen & Pan 2012 for tomography):
 *   min_x 1/2 ||A x - b||^2 + mu TV(x) + indicator(x >= 0),  TV = sum |grad x| (isotropic, 3D).
 * K = [A; grad], step sizes sigma = tau = 1/L with L = ||K|| estimated by power iteration on K^T K.
 *   p <- (p + sigma (A xbar - b)) / (1 + sigma)
 *   q <- project_{|q| <= mu}(q + sigma grad xbar)
 *   x' <- max(0, x - tau (A^T p - div q)),  xbar <- 2 x' - x
 * Objective reported per iteration: 1/2 ||A xbar - b||^2 + mu TV(xbar) at the extrapolated point
 * whose projection the iteration computes (no extra projection; xbar -> x at convergence).
 * Geometry (shape) from the operator.
 */
import type { ProjectionOperator, LinearOperator, IterationRecord } from './operator.ts';
import { checkTiltSeries } from './operator.ts';
import type { Progress } from '../../core/progress.ts';
import { ConfigError } from '../../core/validate.ts';

export type Shape3 = [number, number, number];

/** Forward-difference gradient (Neumann boundary), into g = [gz, gy, gx] packed. */
export function gradient3(x: Float32Array, [nz, ny, nx]: Shape3, g: Float32Array): void {
  const n = nz * ny * nx, plane = ny * nx;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let xi = 0; xi < nx; xi++) {
    const i = z * plane + y * nx + xi, v = x[i];
    g[i] = z < nz - 1 ? x[i + plane] - v : 0;
    g[n + i] = y < ny - 1 ? x[i + nx] - v : 0;
    g[2 * n + i] = xi < nx - 1 ? x[i + 1] - v : 0;
  }
}

/** Divergence, the negative adjoint of gradient3: <grad x, q> = -<x, div q>. */
export function divergence3(q: Float32Array, [nz, ny, nx]: Shape3, out: Float32Array): void {
  const n = nz * ny * nx, plane = ny * nx;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let xi = 0; xi < nx; xi++) {
    const i = z * plane + y * nx + xi;
    let d = 0;
    if (z < nz - 1) d += q[i]; if (z > 0) d -= q[i - plane];
    if (y < ny - 1) d += q[n + i]; if (y > 0) d -= q[n + i - nx];
    if (xi < nx - 1) d += q[2 * n + i]; if (xi > 0) d -= q[2 * n + i - 1];
    out[i] = d;
  }
}

/** ||K|| for K = [A; grad] by power iteration on K^T K (deterministic start vector). */
export async function operatorNorm(op: LinearOperator, shape: Shape3, iterations = 20): Promise<number> {
  const n = shape[0] * shape[1] * shape[2];
  let x: Float32Array = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 1 + 0.5 * Math.sin(i * 0.7);
  const g = new Float32Array(3 * n), d = new Float32Array(n);
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    let nrm = 0;
    for (let i = 0; i < n; i++) nrm += x[i] * x[i];
    nrm = Math.sqrt(nrm);
    for (let i = 0; i < n; i++) x[i] /= nrm;
    const y = await op.back(await op.forward(x));
    gradient3(x, shape, g);
    divergence3(g, shape, d);
    let dot = 0;
    for (let i = 0; i < n; i++) { y[i] -= d[i]; dot += x[i] * y[i]; }
    lambda = dot;
    x = y;
  }
  return Math.sqrt(lambda) * 1.01; // small margin: the power estimate approaches from below
}

export interface TvOptions { iterations: number; mu: number; nonNegative?: boolean; norm?: number; progress?: Progress; onIteration?: (r: IterationRecord) => void }

export async function tvReconstruct(op: ProjectionOperator, b: Float32Array, opts: TvOptions): Promise<Float32Array> {
  const { mu, iterations } = opts;
  const shape: Shape3 = [op.geom.nz, op.geom.ny, op.geom.nx];
  if (!(mu >= 0) || !Number.isFinite(mu)) throw new ConfigError('tv', `mu must be a finite number >= 0, got ${mu}`);
  if (!Number.isInteger(iterations) || iterations < 0) throw new ConfigError('tv', `iterations must be an integer >= 0, got ${iterations}`);
  if (opts.norm !== undefined && !(opts.norm > 0)) throw new ConfigError('tv', `norm must be > 0, got ${opts.norm}`);
  checkTiltSeries(op, b, 'tv');
  const n = shape[0] * shape[1] * shape[2];
  const L = opts.norm ?? (await operatorNorm(op, shape));
  const sigma = 1 / L, tau = 1 / L;
  const x = new Float32Array(n), xbar = new Float32Array(n), p = new Float32Array(b.length), q = new Float32Array(3 * n);
  const g = new Float32Array(3 * n), div = new Float32Array(n), Ax = new Float32Array(b.length), ATp = new Float32Array(n);
  const nonNeg = opts.nonNegative ?? true;
  for (let it = 0; it < iterations; it++) {
    await op.forward(xbar, Ax);
    let fit = 0, tv = 0;
    for (let i = 0; i < p.length; i++) { const d = Ax[i] - b[i]; fit += d * d; p[i] = (p[i] + sigma * d) / (1 + sigma); }
    gradient3(xbar, shape, g);
    for (let i = 0; i < n; i++) {
      tv += Math.sqrt(g[i] * g[i] + g[n + i] * g[n + i] + g[2 * n + i] * g[2 * n + i]);
      const a = q[i] + sigma * g[i], bq = q[n + i] + sigma * g[n + i], c = q[2 * n + i] + sigma * g[2 * n + i];
      const mag = Math.sqrt(a * a + bq * bq + c * c);
      const f = mag > mu ? (mu > 0 ? mu / mag : 0) : 1;
      q[i] = a * f; q[n + i] = bq * f; q[2 * n + i] = c * f;
    }
    await op.back(p, ATp);
    divergence3(q, shape, div);
    for (let i = 0; i < n; i++) {
      const old = x[i];
      let v = old - tau * (ATp[i] - div[i]);
      if (nonNeg && v < 0) v = 0;
      x[i] = v;
      xbar[i] = 2 * v - old;
    }
    opts.onIteration?.({ iteration: it + 1, objective: fit / 2 + mu * tv, terms: { fit: fit / 2, tv } });
    opts.progress?.increment(1);
  }
  return x;
}
