/**
 * One simulated sample: phantom -> voxelised element volumes -> Joseph voxel projection (generators/projection)
 * -> expected HAADF + EDX counts (generators/signal) -> Poisson noise (+ frames). Seeded per sample: the
 * phantom from stream(seed, index, 'phantom'), the noise from stream(seed, index, 'noise'), so the output is
 * byte-identical for the same (seed, index) whatever the worker or number of projector threads.
 *
 * Projection here is the voxel projector of the voxelised (anti-aliased) phantom; analytic chord-length
 * projection is not implemented yet.
 */
import { ConfigError, checkKnownKeys } from './common/validate.ts';
import { stream, type Seed } from './common/random.ts';
import { defaultPhantomConfig, validatePhantomConfig, samplePhantom, voxelise, type PhantomConfig, type Phantom, type PhantomParams } from './phantoms/index.ts';
import { Projector, makeGeometry, parseTiltAngles } from './projection/index.ts';
import { defaultAcquisitionConfig, validateAcquisitionConfig, expectedCounts, acquire, dosePerProjection, type AcquisitionConfig } from './signal/index.ts';

export interface SimulationConfig {
  phantom: PhantomConfig;
  geometry: { angles: string | number[]; nCols?: number };
  acquisition: AcquisitionConfig;
}

export interface SimulatedSample {
  index: number;
  params: PhantomParams & { dosePerProjection: number; doseTotal: number };
  phantom: Phantom;
  /** Element fractions per voxel, one [z, y, x] array per element. */
  volume: Float32Array[];
  angles: Float64Array;
  /** 'HAADF' then the element symbols. */
  channels: string[];
  /** Expected counts [channel, angle, row, col]. */
  clean: Float32Array;
  /** Poisson counts [channel, angle, row, col] (sum of frames). */
  noisy: Uint32Array;
  /** With acquisition.frames > 1: [channel, angle, frame, row, col]. */
  frames?: Uint32Array;
}

export function defaultSimulationConfig(): SimulationConfig {
  return { phantom: defaultPhantomConfig(), geometry: { angles: '-70:70:5' }, acquisition: defaultAcquisitionConfig() };
}

/** Validates a (partial) simulation config, merged over the defaults; ConfigError naming the field. */
export function validateSimulationConfig(raw: unknown): SimulationConfig {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (typeof r !== 'object' || Array.isArray(r)) throw new ConfigError('simulation', 'must be an object');
  checkKnownKeys('simulation', r, ['phantom', 'geometry', 'acquisition']);
  const phantom = validatePhantomConfig(r.phantom ?? {}, 'phantom');
  const g = (r.geometry ?? {}) as Record<string, unknown>;
  if (typeof g !== 'object' || Array.isArray(g)) throw new ConfigError('geometry', 'must be an object');
  checkKnownKeys('geometry', g, ['angles', 'nCols']);
  const angles = (g.angles ?? defaultSimulationConfig().geometry.angles) as string | number[];
  const geometry: SimulationConfig['geometry'] = { angles };
  if (g.nCols !== undefined) geometry.nCols = g.nCols as number;
  const N = phantom.size;
  makeGeometry({ angles, nz: N, ny: N, nx: N, nCols: geometry.nCols });
  return { phantom, geometry, acquisition: validateAcquisitionConfig(r.acquisition, 'acquisition') };
}

/** Simulates sample `index` of the data set with seed `seed` (see module comment). */
export async function simulateSample(cfg: SimulationConfig, seed: Seed, index: number, opts: { projector?: Projector; dosePerProjection?: number } = {}): Promise<SimulatedSample> {
  const N = cfg.phantom.size;
  const angles = parseTiltAngles(cfg.geometry.angles);
  const geom = makeGeometry({ angles, nz: N, ny: N, nx: N, nCols: cfg.geometry.nCols });
  const d = opts.dosePerProjection ?? dosePerProjection(cfg.acquisition, angles.length);
  if (!(d >= 0) || !Number.isFinite(d)) throw new ConfigError('acquisition.dose', `dose per projection must be a finite number >= 0 e/A^2, got ${d}`);
  const phantom = samplePhantom(cfg.phantom, seed, index);
  const volume = voxelise(phantom);
  const own = !opts.projector;
  const projector = opts.projector ?? new Projector(geom, { workers: 1 });
  const pg = projector.geom;
  if (pg.nz !== N || pg.ny !== N || pg.nx !== N || pg.nCols !== geom.nCols || pg.angles.length !== angles.length || pg.angles.some((a, i) => a !== angles[i])) {
    throw new Error('simulateSample: the given projector was made for a different geometry');
  }
  const projected: Float32Array[] = [];
  try {
    for (const v of volume) projected.push(await projector.forward(v));
  } finally { if (own) await projector.close(); }
  const clean = expectedCounts(projected, phantom.elements, cfg.acquisition, d);
  const F = cfg.acquisition.frames;
  const acq = acquire(clean, F, stream(seed, index, 'noise'), F > 1);
  let frames: Uint32Array | undefined;
  if (acq.frames) {
    // [frame, channel, angle, row, col] -> [channel, angle, frame, row, col]
    const nCh = phantom.elements.length + 1, nA = angles.length, img = N * geom.nCols, n = clean.length;
    frames = new Uint32Array(F * n);
    for (let f = 0; f < F; f++) for (let c = 0; c < nCh; c++) for (let a = 0; a < nA; a++) {
      frames.set(acq.frames.subarray(f * n + (c * nA + a) * img, f * n + (c * nA + a + 1) * img), ((c * nA + a) * F + f) * img);
    }
  }
  return {
    index,
    params: { ...phantom.params, dosePerProjection: d, doseTotal: d * angles.length },
    phantom, volume, angles,
    channels: ['HAADF', ...phantom.elements.map((e) => e.symbol)],
    clean, noisy: acq.noisy, frames,
  };
}
