/**
 * Pearson's correlation coefficient of two equally long arrays,
 *   r = sum_i (a_i - mean a)(b_i - mean b) / sqrt(sum_i (a_i - mean a)^2 sum_i (b_i - mean b)^2),
 * in two passes (means first, then centred sums, in float64: no cancellation of the raw moments).
 * NaN when either array is constant (r is undefined). Pearson, Proc. R. Soc. Lond. 58, 240 (1895),
 * doi:10.1098/rspl.1895.0041. Used by the report's artefact flag and by the tests that score a
 * reconstruction against its phantom.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`pearson: arrays of ${n} and ${b.length} values`);
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { const x = a[i] - ma, y = b[i] - mb; sab += x * y; saa += x * x; sbb += y * y; }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}
