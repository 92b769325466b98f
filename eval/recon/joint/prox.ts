/**
 * The TNV regulariser's dual projection (eval/recon/joint/engine.ts's FGP prox uses it).
 */

/**
 * Projection of the m x 3 matrix q (row-major, in place) onto the spectral-norm ball ||q||_2 <= r:
 * the prox of the conjugate of r ||.||_* (nuclear norm), i.e. singular values clipped at r
 * (Holt et al. 2014, IEEE TIP 23:3134, doi:10.1109/TIP.2014.2325774, used by TNV). Computed from the
 * eigen-decomposition of the m x m Gram matrix G = q q^T = U S^2 U^T by cyclic Jacobi rotations
 * (m <= 4): q <- U diag(min(1, r / s)) U^T q. `work` holds 2 m^2 numbers.
 */
export function projectSpectralBall(q: Float64Array, m: number, r: number, work: Float64Array): void {
  const G = work.subarray(0, m * m), U = work.subarray(m * m, 2 * m * m);
  let fro = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    const s = q[3 * i] * q[3 * j] + q[3 * i + 1] * q[3 * j + 1] + q[3 * i + 2] * q[3 * j + 2];
    G[i * m + j] = s;
    U[i * m + j] = i === j ? 1 : 0;
    if (i === j) fro += s;
  }
  if (fro <= r * r) return; // ||q||_2 <= ||q||_F <= r: inside the ball
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
        const uki = U[k * m + i], ukj = U[k * m + j];
        U[k * m + i] = c * uki - s * ukj; U[k * m + j] = s * uki + c * ukj;
      }
    }
  }
  // q <- U D U^T q, D = diag(min(1, r / s_k)); rows of U^T q are the left singular directions scaled.
  const out = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let k = 0; k < m; k++) {
    const s2 = G[k * m + k], f = s2 > r * r ? r / Math.sqrt(s2) : 1;
    for (let c = 0; c < 3; c++) {
      let a = 0;
      for (let l = 0; l < m; l++) a += U[l * m + k] * q[3 * l + c];
      for (let i = 0; i < m; i++) out[3 * i + c] += U[i * m + k] * a * f;
    }
  }
  for (let i = 0; i < 3 * m; i++) q[i] = out[i];
}
