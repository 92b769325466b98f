/**
 * A fast sample source for the dataset tests (same contract as datasets/simulated.ts): arrays
 * drawn from stream(seed, index, 'synthetic'), so sample i depends only on (seed, i) and the
 * shard/resume tests run in milliseconds. Not used by `nanodose generate`.
 */
import { stream, type Seed } from '../../generators/common/random.ts';
import { checkKnownKeys, checkNumber, ConfigError } from '../../generators/common/validate.ts';
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
      size: checkNumber('simulation.size', s.size, 2, 64, { integer: true }),
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
      const rng = stream(seed, index, 'synthetic');
      const dose = rng.logUniform(1, 100);
      const phantom = want.phantom ? elements.map(() => Float32Array.from({ length: N ** 3 }, () => rng.uniform() * 0.5)) : undefined;
      const clean = Float32Array.from({ length: channels.length * A * N * U }, () => dose * rng.uniform());
      const noisy = Uint32Array.from(clean, (x) => Math.floor(x + rng.uniform()));
      let frames: Uint32Array | undefined;
      if (want.frames && F > 1) {
        frames = new Uint32Array(channels.length * A * F * N * U);
        const P = N * U;
        for (let ca = 0; ca < channels.length * A; ca++) for (let p = 0; p < P; p++) {
          let left = noisy[ca * P + p];
          for (let f = 0; f < F; f++) {
            const v = f === F - 1 ? left : Math.min(left, rng.int(left + 1));
            frames[(ca * F + f) * P + p] = v;
            left -= v;
          }
        }
      }
      return { index, params: { shapeClass: ['octahedron', 'sphere'][index % 2], composition: 'alloy', r: rng.uniform() }, dose, doseTotal: dose * A, phantom, clean, noisy, frames };
    },
    async close() {},
  };
}
