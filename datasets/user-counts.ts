/**
 * What a user's tilt series says about its own counting, shared by train --data (training/user-data.ts),
 * eval --data (eval/heldout/run.ts) and inspect: the count scale that makes values integer counts,
 * and the frames per view that repeated tilt angles imply. Here, below training and eval, because
 * both use it (eval never imports training).
 */

/** Tolerance of "integer" after the count scale: float32 keeps ~7 digits, counts stay far below 1e4. */
export const intTol = (n: number) => 1e-3 + 1e-6 * Math.abs(n);

/**
 * The count scale S that makes `values x S` integer counts, estimated from the data: the counting
 * quantum q is the smallest positive value or the smallest positive step between distinct values
 * (whichever is smaller; one count must occur, or two counts differing by one), tried also as
 * q/2 .. q/4 (when the smallest value present is 2-4 counts); S = 1/q is then refined by least
 * squares, S = sum(n_i) / sum(v_i) with n_i = round(v_i / q). Accepted only when every sampled
 * value is within 1e-3 of an integer count and the largest count is plausible (<= 1e6: otherwise
 * the "quantum" is float rounding of interpolated data). Values <= 0 are ignored.
 * Returns undefined when no such scale exists (interpolated, background-subtracted data).
 */
export function estimateCountScale(values: ArrayLike<number>, maxSample = 1 << 20): number | undefined {
  const n = values.length;
  const stride = Math.max(1, Math.floor(n / maxSample));
  const pos: number[] = [];
  for (let i = 0; i < n; i += stride) {
    const v = values[i];
    if (v > 0 && Number.isFinite(v)) pos.push(v);
  }
  if (pos.length === 0) return undefined;
  const s = Float64Array.from(pos).sort();
  const max = s[s.length - 1];
  let q = s[0];
  for (let i = 1; i < s.length; i++) {
    const d = s[i] - s[i - 1];
    // Steps below float32 resolution of the value are rounding, not a count.
    if (d > 4e-7 * s[i] && d < q) q = d;
  }
  for (let k = 1; k <= 4; k++) {
    const step = q / k;
    if (max / step > 1e6) break;
    let ok = true, sn = 0, sv = 0;
    for (let i = 0; i < s.length && ok; i++) {
      const c = s[i] / step, r = Math.round(c);
      if (Math.abs(c - r) > 1e-2 + 1e-6 * r) ok = false;
      sn += r;
      sv += s[i];
    }
    if (!ok) continue;
    const S = sn / sv;
    // The refined scale must make every sampled value an integer within the final tolerance.
    if (s.every((v) => Math.abs(v * S - Math.round(v * S)) <= intTol(v * S))) return S;
  }
  return undefined;
}

/** Runs of equal consecutive angles, all of one length K >= 2 covering the stack: K frames per view. */
export function framesFromAngles(angles: ArrayLike<number>): number {
  const runs: number[] = [];
  let len = 1;
  for (let i = 1; i <= angles.length; i++) {
    if (i < angles.length && Math.abs(angles[i] - angles[i - 1]) < 1e-6) len++;
    else {
      runs.push(len);
      len = 1;
    }
  }
  return runs.length > 0 && runs.every((r) => r === runs[0]) && runs[0] >= 2 ? runs[0] : 1;
}
