/**
 * The plain formulation of SSIM's box sums (five full-size float64 fields, one separable pass per
 * field and axis, fresh arrays every call), kept as the reference that eval/metrics/image.ts's
 * fused, buffer-reusing ssim must equal to the bit (metrics.test.ts) and that the metrics benchmark
 * times it against (scripts/bench/metrics.bench.ts). Not used by the evaluation.
 */
export function ssimReference(ref: ArrayLike<number>, test: ArrayLike<number>, shape: number[], dataRange: number, win = 7, K1 = 0.01, K2 = 0.03): number {
  const is3d = shape.length === 3;
  const [d, h, w] = is3d ? shape : [1, shape[0], shape[1]];
  const n = ref.length;
  const fields = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  for (let i = 0; i < n; i++) {
    const x = ref[i], y = test[i];
    fields[0][i] = x; fields[1][i] = y; fields[2][i] = x * x; fields[3][i] = y * y; fields[4][i] = x * y;
  }
  const r = win - 1;
  const od = is3d ? d - r : 1, oh = h - r, ow = w - r;
  const sums = fields.map((f) => boxSum(f, d, h, w, win, is3d));
  const NP = is3d ? win * win * win : win * win;
  const covNorm = NP / (NP - 1);
  const C1 = (K1 * dataRange) ** 2, C2 = (K2 * dataRange) ** 2;
  let total = 0;
  const m = od * oh * ow;
  for (let i = 0; i < m; i++) {
    const ux = sums[0][i] / NP, uy = sums[1][i] / NP;
    const vx = covNorm * (sums[2][i] / NP - ux * ux);
    const vy = covNorm * (sums[3][i] / NP - uy * uy);
    const vxy = covNorm * (sums[4][i] / NP - ux * uy);
    total += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
  }
  return total / m;
}

function boxSum(f: Float64Array, d: number, h: number, w: number, win: number, is3d: boolean): Float64Array {
  const ow = w - win + 1, oh = h - win + 1, od = is3d ? d - win + 1 : d;
  const a = new Float64Array(d * h * ow);
  for (let z = 0; z < d; z++) for (let y = 0; y < h; y++) {
    const base = (z * h + y) * w, ob = (z * h + y) * ow;
    let s = 0;
    for (let x = 0; x < win; x++) s += f[base + x];
    a[ob] = s;
    for (let x = 1; x < ow; x++) { s += f[base + x + win - 1] - f[base + x - 1]; a[ob + x] = s; }
  }
  const b = new Float64Array(d * oh * ow);
  for (let z = 0; z < d; z++) for (let x = 0; x < ow; x++) {
    let s = 0;
    for (let y = 0; y < win; y++) s += a[(z * h + y) * ow + x];
    b[(z * oh) * ow + x] = s;
    for (let y = 1; y < oh; y++) { s += a[(z * h + y + win - 1) * ow + x] - a[(z * h + y - 1) * ow + x]; b[(z * oh + y) * ow + x] = s; }
  }
  if (!is3d) return b;
  const c = new Float64Array(od * oh * ow);
  const plane = oh * ow;
  for (let p = 0; p < plane; p++) {
    let s = 0;
    for (let z = 0; z < win; z++) s += b[z * plane + p];
    c[p] = s;
    for (let z = 1; z < od; z++) { s += b[(z + win - 1) * plane + p] - b[(z - 1) * plane + p]; c[z * plane + p] = s; }
  }
  return c;
}
