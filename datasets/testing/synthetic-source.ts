/**
 * A fast sample source for the dataset tests (same contract as datasets/simulated.ts): arrays
 * drawn from stream(seed, index, 'synthetic'), so sample i depends only on (seed, i) and the
 * shard/resume tests run in milliseconds. Not used by `nanodose generate`.
 */
import { stream, type Seed } from '../../core/random.ts';
import { checkKnownKeys, checkNumber, ConfigError } from '../../core/validate.ts';
import { validateFileOptions, defaultFileOptions, type DatasetFileOptions } from '../options.ts';
import type { SampleSource } from '../source.ts';

export interface SyntheticConfig extends DatasetFileOptions {
  simulation: { size: number; nAngles: number; frames: number; delayMs: number };
}

export function defaultConfig(): SyntheticConfig {
  return { simulation: { size: 8, nAngles: 5, frames: 1, delayMs: 0 }, ...defaultFileOptions() };
}

export function validateConfig(raw: unknown): SyntheticConfig {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (typeof r !== 'object' || Array.isArray(r)) throw new ConfigError('config', 'must be an object');
  checkKnownKeys('', r, ['simulation', 'store', 'split', 'samplesPerShard', 'compression']);
  const s = { ...defaultConfig().simulation, ...((r.simulation as object) ?? {}) };
  return {
    simulation: {
      size: checkNumber('simulation.size', s.size, 2, 256, { integer: true }),
      nAngles: checkNumber('simulation.nAngles', s.nAngles, 1, 200, { integer: true }),
      frames: checkNumber('simulation.frames', s.frames, 1, 16, { integer: true }),
      delayMs: checkNumber('simulation.delayMs', s.delayMs, 0, 10000),
    },
    ...validateFileOptions(r, ''),
  };
}

export async function createSource(cfg: SyntheticConfig, seed: Seed): Promise<SampleSource> {
  const N = cfg.simulation.size, A = cfg.simulation.nAngles, U = N + 2, F = cfg.simulation.frames;
  const elements = [{ symbol: 'Au', Z: 79 }, { symbol: 'Pd', Z: 46 }];
  const channels = ['HAADF', 'Au', 'Pd'];
  const angles = Float64Array.from({ length: A }, (_, k) => -60 + (120 * k) / Math.max(1, A - 1));
  return {
    layout: { elements, channels, angles, size: N, nCols: U, nFrames: F > 1 ? F : 0, pixelSizeNm: 0.3 },
    microscope: { frames: F, solid_angle_sr: 0.7 },
    async sample(index, want) {
      if (cfg.simulation.delayMs) await new Promise((r) => setTimeout(r, cfg.simulation.delayMs));
      // Kill tests: at this sample say so on stdout and wait to be killed (the event the parent kills on).
      if (process.env.NANODOSE_TEST_HALT_AT === String(index)) {
        process.stdout.write(`halted at sample ${index}\n`);
        await new Promise(() => setInterval(() => {}, 1 << 30));
      }
      // Cheap and deterministic: a xorshift32 generator seeded from stream(seed, index, 'synthetic');
      // a ball of random fractions (zeros outside, like a particle), a smooth projection scaled by
      // the dose, and counts floor(clean + u) (not Poisson; these are file-format fixtures).
      const rng = stream(seed, index, 'synthetic');
      const dose = rng.logUniform(1, 100);
      let x = (rng.int(2 ** 32) | 1) >>> 0;
      const u = () => {
        x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        return x / 4294967296;
      };
      const r2 = (N * (0.3 + 0.15 * rng.uniform())) ** 2, c = (N - 1) / 2;
      const phantom = want.phantom
        ? elements.map(() => {
            const v = new Float32Array(N ** 3);
            for (let z = 0, i = 0; z < N; z++) for (let y = 0; y < N; y++) for (let xx = 0; xx < N; xx++, i++) {
              if ((z - c) ** 2 + (y - c) ** 2 + (xx - c) ** 2 < r2) v[i] = 0.25 + 0.25 * u();
            }
            return v;
          })
        : undefined;
      const clean = new Float32Array(channels.length * A * N * U);
      for (let i = 0; i < clean.length; i++) clean[i] = dose * (1 + Math.sin(i * 0.01)) * u();
      const noisy = new Uint32Array(clean.length);
      for (let i = 0; i < clean.length; i++) noisy[i] = Math.floor(clean[i] + u());
      let frames: Uint32Array | undefined;
      if (want.frames && F > 1) {
        frames = new Uint32Array(channels.length * A * F * N * U);
        const P = N * U;
        for (let ca = 0; ca < channels.length * A; ca++) for (let p = 0; p < P; p++) {
          let left = noisy[ca * P + p];
          for (let f = 0; f < F; f++) {
            const v = f === F - 1 ? left : Math.floor(u() * (left + 1));
            frames[(ca * F + f) * P + p] = v;
            left -= v;
          }
        }
      }
      return { index, params: { shapeClass: ['octahedron', 'sphere'][index % 2], composition: 'alloy', r: Math.sqrt(r2) }, dose, doseTotal: dose * A, phantom, clean, noisy, frames };
    },
    async close() {},
  };
}
