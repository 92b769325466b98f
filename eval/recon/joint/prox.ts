/**
 * The TNV regulariser's dual projection (eval/recon/joint/engine.ts's FGP prox uses it).
 */

/**
 * Projection of the m x 3 matrix q (row-major, in place) onto the spectral-norm ball ||q||_2 <= r:
 * the prox of the conjugate of r ||.||_* (nuclear norm), i.e. singular values clipped at r
 * (Holt et al. 2014, IEEE TIP 23:3134, doi:10.1109/TIP.2014.2325774, used by TNV). Computed from the
 * eigen-decomposition of the m x m Gram matrix G = q q^T = U S^2 U^T (m <= 4): q <- U diag(min(1, r / s)) U^T q.
 * Fast paths for m = 2, 3 (the cost of TNV's prox, which calls this per voxel and FGP iteration): the
 * eigenvalues in closed form (gramEigenvalues); nothing to do when the largest is <= r^2; when only the
 * largest exceeds r^2 (the usual case at an edge), q <- q + (r / s_1 - 1) v v^T q with v the top
 * eigenvector, the normalised largest cross product of two rows of G - s_1^2 I (orthogonal to the
 * other eigenvectors). Otherwise, or where v is ill-conditioned (s_1 too close to s_2), cyclic Jacobi
 * rotations give U. Both agree to float64 rounding (tests: against an SVD, and the paths against each
 * other). `work` holds 2 m^2 numbers; `closedForm` false forces Jacobi (tests).
 */
export function projectSpectralBall(q: Float64Array, m: number, r: number, work: Float64Array, closedForm = true): void {
  // G = work[0, m^2), U = work[m^2, 2 m^2) (offsets, not subarrays: this runs per voxel and must not allocate)
  const G = work, u0 = m * m;
  // ||q||_F^2 first, as the sum of G's diagonal (the same arithmetic), so a q inside the ball (most voxels) costs no G
  let fro = 0;
  for (let i = 0; i < m; i++) fro += q[3 * i] * q[3 * i] + q[3 * i + 1] * q[3 * i + 1] + q[3 * i + 2] * q[3 * i + 2];
  if (fro <= r * r) return; // ||q||_2 <= ||q||_F <= r: inside the ball
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) G[i * m + j] = q[3 * i] * q[3 * j] + q[3 * i + 1] * q[3 * j + 1] + q[3 * i + 2] * q[3 * j + 2];
  if (closedForm && (m === 2 || m === 3) && topProjection(q, m, G, r)) return;
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) G[u0 + i * m + j] = i === j ? 1 : 0;
  for (let sweep = 0; sweep < 12; sweep++) {
    let off = 0;
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) off += G[i * m + j] * G[i * m + j];
    if (off <= 1e-24 * fro * fro) break;
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) {
      const gij = G[i * m + j];
      if (gij === 0) continue;
      // Rotation zeroing G[i][j] (Golub & Van Loan, Matrix Computations, 8.5.2).
      const tau = (G[j * m + j] - G[i * m + i]) / (2 * gij);
      const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
      const c = 1 / Math.sqrt(1 + t * t), s = t * c;
      for (let k = 0; k < m; k++) {
        const gki = G[k * m + i], gkj = G[k * m + j];
        G[k * m + i] = c * gki - s * gkj; G[k * m + j] = s * gki + c * gkj;
      }
      for (let k = 0; k < m; k++) {
        const gik = G[i * m + k], gjk = G[j * m + k];
        G[i * m + k] = c * gik - s * gjk; G[j * m + k] = s * gik + c * gjk;
      }
      for (let k = 0; k < m; k++) {
        const uki = G[u0 + k * m + i], ukj = G[u0 + k * m + j];
        G[u0 + k * m + i] = c * uki - s * ukj; G[u0 + k * m + j] = s * uki + c * ukj;
      }
    }
  }
  // q <- U D U^T q, D = diag(min(1, r / s_k)); rows of U^T q are the left singular directions scaled.
  const out = jacobiOut.fill(0);
  for (let k = 0; k < m; k++) {
    const s2 = G[k * m + k], f = s2 > r * r ? r / Math.sqrt(s2) : 1;
    for (let c = 0; c < 3; c++) {
      let a = 0;
      for (let l = 0; l < m; l++) a += G[u0 + l * m + k] * q[3 * l + c];
      for (let i = 0; i < m; i++) out[3 * i + c] += G[u0 + i * m + k] * a * f;
    }
  }
  for (let i = 0; i < 3 * m; i++) q[i] = out[i];
}

const ev3 = new Float64Array(3), jacobiOut = new Float64Array(12);

/**
 * Eigenvalues of the symmetric m x m matrix G (row-major, m = 1, 2, 3) in descending order into out:
 * m = 2 from the characteristic quadratic, m = 3 by the trigonometric solution of the characteristic
 * cubic (Smith 1961, Commun. ACM 4:168, doi:10.1145/355578.366316).
 */
export function gramEigenvalues(G: ArrayLike<number>, m: number, out: Float64Array): void {
  if (m === 1) { out[0] = G[0]; return; }
  if (m === 2) {
    const a = G[0], b = G[1], d = G[3], h = (a + d) / 2, w = Math.sqrt(((a - d) / 2) ** 2 + b * b);
    out[0] = h + w; out[1] = h - w;
    return;
  }
  // RangeError, not InternalError: this function is inlined into workers (no imports); a built-in class reads as a bug (exit 1)
  if (m !== 3) throw new RangeError(`gramEigenvalues: m must be 1, 2 or 3, got ${m}`);
  const a00 = G[0], a11 = G[4], a22 = G[8], a01 = G[1], a02 = G[2], a12 = G[5];
  const p1 = a01 * a01 + a02 * a02 + a12 * a12, qq = (a00 + a11 + a22) / 3;
  const d0 = a00 - qq, d1 = a11 - qq, d2 = a22 - qq, p2 = d0 * d0 + d1 * d1 + d2 * d2 + 2 * p1;
  if (p2 === 0) { out[0] = out[1] = out[2] = qq; return; }
  const p = Math.sqrt(p2 / 6);
  // det((G - qq I) / p) / 2, clamped into [-1, 1] against rounding
  const det = d0 * (d1 * d2 - a12 * a12) - a01 * (a01 * d2 - a12 * a02) + a02 * (a01 * a12 - d1 * a02);
  const half = Math.min(1, Math.max(-1, det / (2 * p * p * p)));
  const phi = Math.acos(half) / 3;
  const e1 = qq + 2 * p * Math.cos(phi), e3 = qq + 2 * p * Math.cos(phi + (2 * Math.PI) / 3);
  out[0] = e1; out[1] = 3 * qq - e1 - e3; out[2] = e3;
}

const vA = new Float64Array(3), vB = new Float64Array(3), vC = new Float64Array(3);

/**
 * Unit eigenvector of the symmetric m x m G (m = 2, 3) for its simple eigenvalue l into v: m = 2 the
 * longer of (b, l - a), (l - d, b); m = 3 the longest cross product of two rows of G - l I. False where
 * its length (the product of l's gaps to the other eigenvalues, squared for m = 3) is near rounding.
 */
function eigenvector(G: Float64Array, m: number, l: number, scale: number, v: Float64Array): boolean {
  let nv: number;
  if (m === 2) {
    const a = G[0], b = G[1], d = G[3];
    const na = b * b + (l - a) ** 2, nd = (l - d) ** 2 + b * b;
    if (na >= nd) { v[0] = b; v[1] = l - a; nv = na; } else { v[0] = l - d; v[1] = b; nv = nd; }
    v[2] = 0;
    if (!(nv > 1e-16 * scale * scale)) return false;
  } else {
    const a0 = G[0] - l, a1 = G[1], a2 = G[2], b1 = G[4] - l, b2 = G[5], c2 = G[8] - l;
    // rows (a0 a1 a2), (a1 b1 b2), (a2 b2 c2); cross products of each pair
    const x0 = a1 * b2 - a2 * b1, x1 = a2 * a1 - a0 * b2, x2 = a0 * b1 - a1 * a1;
    const y0 = a1 * c2 - a2 * b2, y1 = a2 * a2 - a0 * c2, y2 = a0 * b2 - a1 * a2;
    const z0 = b1 * c2 - b2 * b2, z1 = b2 * a2 - a1 * c2, z2 = a1 * b2 - b1 * a2;
    const nx = x0 * x0 + x1 * x1 + x2 * x2, ny = y0 * y0 + y1 * y1 + y2 * y2, nz = z0 * z0 + z1 * z1 + z2 * z2;
    if (nx >= ny && nx >= nz) { v[0] = x0; v[1] = x1; v[2] = x2; nv = nx; }
    else if (ny >= nz) { v[0] = y0; v[1] = y1; v[2] = y2; nv = ny; }
    else { v[0] = z0; v[1] = z1; v[2] = z2; nv = nz; }
    if (!(nv > 1e-16 * scale * scale * scale * scale)) return false;
  }
  const inv = 1 / Math.sqrt(nv);
  v[0] *= inv; v[1] *= inv; v[2] *= inv;
  return true;
}

/** q += g v v^T q for the unit m-vector v. */
function addRankOne(q: Float64Array, m: number, v: Float64Array, g: number): void {
  for (let c = 0; c < 3; c++) {
    let a = 0;
    for (let i = 0; i < m; i++) a += v[i] * q[3 * i + c];
    a *= g;
    for (let i = 0; i < m; i++) q[3 * i + c] += v[i] * a;
  }
}

/**
 * The closed-form path of projectSpectralBall (m = 2, 3): q <- sum_k min(1, r / s_k) v_k v_k^T q
 * = q + sum_{s_k > r} (r / s_k - 1) v_k v_k^T q, the eigenvectors v_k of G by eigenvector() (for m = 3
 * the middle one as the cross product of the outer two). False where Jacobi must decide.
 */
function topProjection(q: Float64Array, m: number, G: Float64Array, r: number): boolean {
  gramEigenvalues(G, m, ev3);
  const l1 = ev3[0], r2 = r * r;
  if (l1 <= r2) return true;
  if (!eigenvector(G, m, l1, l1, vA)) return false;
  const g1 = r / Math.sqrt(l1) - 1;
  if (ev3[1] <= r2) { addRankOne(q, m, vA, g1); return true; }
  const g2 = r / Math.sqrt(ev3[1]) - 1;
  if (m === 2) {
    vB[0] = -vA[1]; vB[1] = vA[0]; vB[2] = 0;
    addRankOne(q, m, vA, g1); addRankOne(q, m, vB, g2);
    return true;
  }
  if (!eigenvector(G, m, ev3[2], l1, vC)) return false;
  // v2 = v3 x v1 (unit up to rounding: v1, v3 are orthogonal eigenvectors)
  vB[0] = vC[1] * vA[2] - vC[2] * vA[1]; vB[1] = vC[2] * vA[0] - vC[0] * vA[2]; vB[2] = vC[0] * vA[1] - vC[1] * vA[0];
  const nb = Math.hypot(vB[0], vB[1], vB[2]);
  if (!(Math.abs(nb - 1) < 1e-6)) return false;
  vB[0] /= nb; vB[1] /= nb; vB[2] /= nb;
  addRankOne(q, m, vA, g1); addRankOne(q, m, vB, g2);
  if (ev3[2] > r2) addRankOne(q, m, vC, r / Math.sqrt(ev3[2]) - 1);
  return true;
}

/**
 * The source of this file's functions and their scratch arrays, for slab kernels that call
 * projectSpectralBall / gramEigenvalues on worker threads (fgp.ts; operator.ts SlabKernel.prelude).
 */
export const PROX_PRELUDE = [
  'const ev3 = new Float64Array(3), jacobiOut = new Float64Array(12);',
  'const vA = new Float64Array(3), vB = new Float64Array(3), vC = new Float64Array(3);',
  ...[projectSpectralBall, gramEigenvalues, eigenvector, addRankOne, topProjection].map((f) => `const ${f.name} = ${f.toString()};`),
].join('\n');
