/**
 * One simulated sample: phantom -> voxelised element volumes -> projection (generators/projection)
 * -> optional alignment jitter -> expected HAADF + EDX counts (generators/signal) -> Poisson noise
 * (+ frames, + optional HAADF read noise). Seeded per sample: the phantom from stream(seed, index, 'phantom'),
 * the Poisson noise from stream(seed, index, 'noise'), the jitter from stream(seed, index, 'jitter') and the
 * read noise from stream(seed, index, 'haadf-read-noise'), so the output is byte-identical for the same
 * (seed, index) whatever the worker or number of projector threads, and turning the optional effects on
 * leaves the other draws unchanged.
 *
 * Projection (`geometry.projector`): 'voxel' (default) projects the voxelised (anti-aliased) phantom with the
 * Joseph projector; 'analytic' projects the phantom's exact chord lengths with `geometry.supersample` x
 * `geometry.supersample` sub-rays per detector pixel (default 3; generators/projection/analytic.ts), so the
 * data are not made with the discretisation that reconstructs them. Regions with diffuse interfaces (or
 * non-convex solids) then still go through the voxel projector; the stored phantom volume is the
 * voxelised one either way.
 *
 * Jitter (`acquisition.jitter` = J > 0): per tilt a shift (dr, dc) in {-J..J}^2 moves that tilt's projected
 * element amounts (hence every channel) by +dr rows and +dc columns, before the counts are formed; the
 * shifts are recorded as `params.jitter = { rows, cols }` (shift by their negatives to undo them).
 */
import { z } from 'zod';
import { choice, doc, num, object, parseConfig } from '../core/schema.ts';
import { ConfigError, InternalError } from '../core/validate.ts';
import { stream, type Seed } from '../core/random.ts';
import { ELEMENTS, checkPhantomConfig, phantomSchema, samplePhantom, voxelise, type PhantomConfig, type Phantom, type PhantomParams } from './phantoms/index.ts';
import { MAX_DETECTOR_COLUMNS, Projector, makeGeometry, parseTiltAngles, projectPhantom } from './projection/index.ts';
import { acquisitionSchema, checkAcquisitionConfig, checkHaadfRange, legacyModel, incidentElectronsPerPixel, expectedCounts, acquire, dosePerProjection, drawTiltShifts, shiftTiltSeries, type AcquisitionConfig, type TiltShifts } from './signal/index.ts';

export const PROJECTORS = ['voxel', 'analytic'] as const;
/** Default detector super-sampling (sub-rays per pixel side) of the analytic projector. */
export const DEFAULT_ANALYTIC_SUPERSAMPLE = 3;

/** The tilt geometry of a simulation (ranges of angles and nCols are checked by makeGeometry, which knows the phantom size). */
export const geometrySchema = object({
  angles: doc(
    z.union([z.string(), z.array(z.number())], { error: (iss) => `must be 'start:stop:step', a comma list or a list of numbers, got ${JSON.stringify(iss.input)}` }),
    "tilt angles in degrees: 'start:stop:step' (stop included), a comma list '-60,0,60', or a JSON array of numbers",
    { range: 'each in [-90, 90], at most 100000 angles' },
  ).default('-70:70:5'),
  nCols: doc(z.number({ error: (iss) => `must be an integer in [phantom.size, ${MAX_DETECTOR_COLUMNS}], got ${JSON.stringify(iss.input)}` }), 'detector columns (pixels) of each projection, so no ray misses the volume', {
    range: `integer in [simulation.phantom.size, ${MAX_DETECTOR_COLUMNS}]`,
    defaultText: 'when absent: simulation.phantom.size',
  }).optional(),
  projector: doc(choice(PROJECTORS), "projector of the tilt series: 'voxel' = Joseph projection of the voxelised phantom; 'analytic' = exact chord lengths of the convex solids, no inverse crime (diffuse interfaces still go through the voxels)", { defaultText: "when absent: 'voxel'" }).optional(),
  supersample: doc(num(1, 8, { integer: true }), "analytic projector only: sub-rays per detector pixel side (supersample^2 per pixel); refused unless geometry.projector is 'analytic'", { defaultText: `when absent: ${DEFAULT_ANALYTIC_SUPERSAMPLE}` }).optional(),
});

/** A simulation: phantom, tilt geometry, acquisition (one schema: core/schema.ts). */
export const simulationSchema = object({
  phantom: phantomSchema.prefault({}),
  geometry: geometrySchema.prefault({}),
  acquisition: z.preprocess(legacyModel, acquisitionSchema).prefault({}),
});

/**
 * Tilt angles, detector width, and the projector ('voxel' when absent; absent from the defaults so
 * datasets made before it stay byte-identical); `supersample` (analytic only, default 3).
 */
export type SimulationConfig = { phantom: PhantomConfig; geometry: z.output<typeof geometrySchema>; acquisition: AcquisitionConfig };

export interface SimulatedSample {
  index: number;
  params: PhantomParams & {
    dosePerProjection: number;
    doseTotal: number;
    /** With acquisition.jitter > 0: the shift of each tilt (rows, cols), content moved by +rows, +cols. */
    jitter?: TiltShifts;
    /** With geometry.projector 'analytic': super-sampling, and the regions that went through the voxel projector. */
    projection?: { projector: 'analytic'; supersample: number; voxelRegions: number[] };
  };
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
  return simulationSchema.parse({}) as SimulationConfig;
}

/**
 * The rules that tie simulation fields together, after the schema (prefix '' names fields as
 * 'phantom.size', 'simulation' as 'simulation.phantom.size'): supersample needs the analytic projector;
 * the angles and detector width fit the phantom (makeGeometry); the densest path of the largest
 * allowed particle does not scatter the whole beam into the HAADF.
 */
export function checkSimulationConfig(c: SimulationConfig, raw: unknown, prefix = ''): SimulationConfig {
  const f = (k: string) => (prefix ? `${prefix}.${k}` : k);
  const r = (raw ?? {}) as Record<string, unknown>;
  const phantom = checkPhantomConfig(c.phantom, f('phantom'));
  const geometry = c.geometry;
  if (geometry.supersample !== undefined && geometry.projector !== 'analytic') throw new ConfigError(f('geometry.supersample'), `applies to the analytic projector only; set geometry.projector to 'analytic' or leave supersample out`);
  const N = phantom.size;
  try {
    makeGeometry({ angles: geometry.angles, nz: N, ny: N, nx: N, nCols: geometry.nCols });
  } catch (e) {
    if (e instanceof ConfigError && prefix && !e.field.startsWith(`${prefix}.`)) throw new ConfigError(f(e.field), e.message.slice(e.field.length + 2));
    throw e;
  }
  const acquisition = checkAcquisitionConfig(c.acquisition, r.acquisition, f('acquisition'));
  // The largest allowed particle dimension bounds every chord through it (full density at most 1).
  if (acquisition.haadfModel === 'scattered-fraction') {
    checkHaadfRange(f('acquisition.haadfMuAu'), phantom.elements.map((symbol) => ({ symbol, Z: ELEMENTS[symbol] })), acquisition, phantom.sizeFraction[1] * N * acquisition.pixelSizeAngstrom);
  }
  return { phantom, geometry, acquisition };
}

/** Validates a (partial) simulation config, merged over the defaults; ConfigError naming the field. */
export function validateSimulationConfig(raw: unknown): SimulationConfig {
  return checkSimulationConfig(parseConfig(simulationSchema, raw, ''), raw, '');
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
    throw new InternalError('simulateSample: the given projector was made for a different geometry');
  }
  let projected: Float32Array[] = [];
  let projection: SimulatedSample['params']['projection'];
  try {
    if (cfg.geometry.projector === 'analytic') {
      const supersample = cfg.geometry.supersample ?? DEFAULT_ANALYTIC_SUPERSAMPLE;
      const res = await projectPhantom(phantom, projector, { supersample });
      projected = res.projected;
      projection = { projector: 'analytic', supersample, voxelRegions: res.voxelRegions };
    } else {
      for (const v of volume) projected.push(await projector.forward(v));
    }
  } finally { if (own) await projector.close(); }
  let jitter: TiltShifts | undefined;
  const J = cfg.acquisition.jitter ?? 0;
  if (J > 0) {
    jitter = drawTiltShifts(angles.length, J, stream(seed, index, 'jitter'));
    projected = projected.map((p) => shiftTiltSeries(p, N, geom.nCols, jitter!));
  }
  const clean = expectedCounts(projected, phantom.elements, cfg.acquisition, d);
  const F = cfg.acquisition.frames;
  const sigma = cfg.acquisition.readNoise ?? 0;
  const readNoise = sigma > 0 ? { sigma, length: angles.length * N * geom.nCols, rng: stream(seed, index, 'haadf-read-noise') } : undefined;
  const acq = acquire(clean, F, stream(seed, index, 'noise'), F > 1, readNoise);
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
    params: { ...phantom.params, dosePerProjection: d, doseTotal: d * angles.length, ...(jitter ? { jitter } : {}), ...(projection ? { projection } : {}) },
    phantom, volume, angles,
    channels: ['HAADF', ...phantom.elements.map((e) => e.symbol)],
    clean, noisy: acq.noisy, frames,
  };
}

/** Expected counts per pixel inside a particle, per element channel (pure element), at the configured dose. */
export interface SignalLevel {
  element: string;
  /** Projected thickness of the path, A. */
  thicknessAngstrom: number;
  incident: number;
  haadf: number;
  edx: number;
}

/**
 * Expected HAADF and EDX counts per pixel inside a typical particle of each element at the configured
 * dose: a particle of the middle of phantom.sizeFraction, whose mean chord over its projected area is
 * 2/3 of its diameter (exact for a sphere: the mean of 2 sqrt(r^2 - rho^2) over the disc is 4r/3), pure
 * element at full density. The HAADF/EDX ratio is what users reason with (printed by --print-config and inspect).
 */
export function signalLevels(cfg: SimulationConfig): SignalLevel[] {
  const N = cfg.phantom.size, acq = cfg.acquisition;
  const [lo, hi] = cfg.phantom.sizeFraction;
  const L = (2 / 3) * ((lo + hi) / 2) * N; // voxel lengths
  const d = dosePerProjection(acq, parseTiltAngles(cfg.geometry.angles).length);
  return cfg.phantom.elements.map((symbol) => {
    const el = { symbol, Z: ELEMENTS[symbol] };
    const e = expectedCounts([new Float32Array([L])], [el], acq, d);
    return { element: symbol, thicknessAngstrom: L * acq.pixelSizeAngstrom, incident: incidentElectronsPerPixel(d, acq.pixelSizeAngstrom), haadf: e[0], edx: e[1] };
  });
}

/** signalLevels as lines for a terminal. */
export function describeSignalLevels(cfg: SimulationConfig, pre = ''): string[] {
  const acq = cfg.acquisition;
  const d = dosePerProjection(acq, parseTiltAngles(cfg.geometry.angles).length);
  const head = acq.mode === 'counts'
    ? `${pre}expected counts per pixel inside a typical particle (counts mode: EDX fixed at ${acq.countsInParticle} per pixel; HAADF from ${d.toPrecision(4)} e/A^2 per projection, HAADF model ${acq.haadfModel}):`
    : `${pre}expected counts per pixel inside a typical particle at ${d.toPrecision(4)} e/A^2 per projection (HAADF model ${acq.haadfModel}):`;
  return [head, ...signalLevels(cfg).map((s) => `${pre}  ${s.element}: ${s.thicknessAngstrom.toFixed(0)} A thick, ${s.incident.toPrecision(4)} electrons in, HAADF ${s.haadf.toPrecision(4)} (${(100 * s.haadf / s.incident).toFixed(1)} % scattered), EDX ${s.edx.toPrecision(3)}; HAADF:EDX ${(s.haadf / s.edx).toPrecision(3)}`)];
}
