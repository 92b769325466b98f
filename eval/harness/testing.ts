/**
 * An in-memory evaluation source for tests and small demos: core-shell phantoms (Au core, Pd shell)
 * whose clean expected counts come from the CSR Joseph projector, so the tilt series and the
 * phantoms are physically consistent (EDX counts = sensitivity x dose x projected amount; the HAADF
 * the generators' scattered-fraction model N0 (1 - exp(-sum_e mu_e a L_e)), N0 = dose a^2, at dose 1
 * e/A^2 per projection with a the pixel size, 2 A unless pixelSizeNm says otherwise).
 */
import { stream } from '../../core/random.ts';
import { SliceMatrixOperator } from '../recon/joseph-matrix.ts';
import type { EvalSource } from './run.ts';
import { defaultAcquisitionConfig, haadfCoefficients, incidentElectronsPerPixel } from '../../generators/signal/index.ts';

export async function coreShellSource(o: { size: number; nAngles: number; count: number; splits: ('train' | 'val' | 'test')[]; sensitivity?: number; seed?: number; solidShell?: number[]; pixelSizeNm?: number; elements?: [{ symbol: string; Z: number }, { symbol: string; Z: number }] }): Promise<EvalSource> {
  const N = o.size, nCols = Math.ceil(N * Math.SQRT2) + 2;
  const angles = Float64Array.from({ length: o.nAngles }, (_, k) => -60 + (120 * k) / Math.max(1, o.nAngles - 1));
  const op = new SliceMatrixOperator(N, N, N, angles, nCols);
  const k = o.sensitivity ?? 0.05;
  // core and shell elements (default Au core, Pd shell)
  const elements = o.elements ?? [{ symbol: 'Au', Z: 79 }, { symbol: 'Pd', Z: 46 }];
  const a = o.pixelSizeNm !== undefined ? o.pixelSizeNm * 10 : 2;
  const acquisition = { ...defaultAcquisitionConfig(), pixelSizeAngstrom: a, dose: 1 };
  const mu = haadfCoefficients(elements, acquisition), N0 = incidentElectronsPerPixel(1, a);
  const channels = ['HAADF', elements[0].symbol, elements[1].symbol];
  const plane = o.nAngles * N * nCols;
  const cache = new Map<number, { phantom: Float32Array; clean: Float32Array; params: Record<string, unknown> }>();
  async function make(i: number) {
    const hit = cache.get(i);
    if (hit) return hit;
    const rng = stream(o.seed ?? 1, i, 'test-phantom');
    // solidShell: samples that are one solid Pd particle (no Au at all)
    const R = N * (0.3 + 0.08 * rng.uniform()), r = (o.solidShell ?? []).includes(i) ? 0 : R * (0.45 + 0.2 * rng.uniform());
    const c = [(N - 1) / 2 + rng.uniformIn(-1, 1), (N - 1) / 2 + rng.uniformIn(-1, 1), (N - 1) / 2 + rng.uniformIn(-1, 1)];
    const vol = N * N * N, phantom = new Float32Array(2 * vol);
    for (let z = 0, idx = 0; z < N; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++, idx++) {
      let core = 0, all = 0;
      for (let s = 0; s < 8; s++) {
        const d = Math.hypot(z - c[0] + ((s & 1) - 0.5) / 2, y - c[1] + (((s >> 1) & 1) - 0.5) / 2, x - c[2] + (((s >> 2) & 1) - 0.5) / 2);
        if (d < r) core++; if (d < R) all++;
      }
      phantom[idx] = core / 8; phantom[vol + idx] = (all - core) / 8;
    }
    const clean = new Float32Array(3 * plane);
    const pa = await op.forward(phantom.subarray(0, vol)), pp = await op.forward(phantom.subarray(vol));
    for (let j = 0; j < plane; j++) {
      clean[plane + j] = k * pa[j];
      clean[2 * plane + j] = k * pp[j];
      clean[j] = -N0 * Math.expm1(-(mu[0] * a * pa[j] + mu[1] * a * pp[j]));
    }
    const s = { phantom, clean, params: r > 0 ? { shape: 'core-shell', R, r, centre: c } : { shape: 'solid', R, centre: c } };
    cache.set(i, s);
    return s;
  }
  return {
    channels, elements, angles, config: { simulation: { acquisition } }, shape: { size: N, nCols, ...(o.pixelSizeNm !== undefined ? { pixelSizeNm: o.pixelSizeNm } : {}) }, seed: o.seed ?? 1,
    indices: (split) => Array.from({ length: o.count }, (_, i) => i).filter((i) => !split || o.splits[i % o.splits.length] === split),
    async readSample(i) {
      const s = await make(i);
      return { index: i, params: s.params, dosePerProjection: 1, clean: s.clean, phantom: s.phantom };
    },
  };
}
