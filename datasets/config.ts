/**
 * The dataset config: the simulation (phantom, geometry, acquisition; generators/simulate.ts) plus
 * the file options (datasets/options.ts). `validateDatasetConfig` merges a partial config over the
 * defaults and throws a ConfigError naming the field and its allowed range.
 */
import { ConfigError, checkKnownKeys } from '../core/validate.ts';
import { DEFAULT_ANALYTIC_SUPERSAMPLE, PROJECTORS, defaultSimulationConfig, validateSimulationConfig, type SimulationConfig } from '../generators/simulate.ts';
import { COMPOSITIONS, ELEMENTS, SHAPE_CLASSES, defaultPhantomConfig, type PhantomConfig } from '../generators/phantoms/index.ts';
import { parseTiltAngles } from '../generators/projection/index.ts';
import { DEFAULT_EDX_YIELD, HAADF_MODELS, MAX_HAADF_FRACTION } from '../generators/signal/index.ts';
import { FILE_OPTION_DOCS, defaultFileOptions, validateFileOptions, type DatasetFileOptions } from './options.ts';

export interface DatasetConfig extends DatasetFileOptions {
  /** Phantom, tilt geometry and acquisition (dose, frames, detector) settings. */
  simulation: SimulationConfig;
}

/**
 * Phantom size of a dataset when the config does not give one: 64^3, a small dataset that a laptop
 * makes in seconds (the phantom generator's own default, 128^3, is science.md's full size).
 */
export const DATASET_DEFAULT_SIZE = 64;

export function defaultDatasetConfig(): DatasetConfig {
  const simulation = defaultSimulationConfig();
  simulation.phantom.size = DATASET_DEFAULT_SIZE;
  return { simulation, ...defaultFileOptions() };
}

export const DATASET_CONFIG_KEYS = ['simulation', 'store', 'split', 'samplesPerShard', 'compression'] as const;

// ---------------------------------------------------------------------------------------------
// Field docs. Defaults are read from the default config objects when this module loads, choice lists
// from the validators' constants; the numeric limits below restate what the validators enforce
// (generators/phantoms/sampler.ts keeps the pair ranges in a module-private RANGES, so they are listed
// here) and config-docs.test.ts checks every one of them against the validators, at both ends.

/** A numeric limit as a validator enforces it: [min, max] inclusive; `pair` = a [low, high] range within it. */
export interface FieldLimit {
  min: number;
  max: number;
  integer?: boolean;
  pair?: boolean;
}

/**
 * Numeric limits of the simulation config, by leaf path, as enforced by validatePhantomConfig
 * (size, RANGES, diffuseProbability, margin), validateSimulationConfig (geometry.supersample) and
 * validateAcquisitionConfig. geometry.nCols (at least phantom.size, at most 8192) depends on the size
 * and is described in its doc.
 */
export const SIMULATION_LIMITS: Record<string, FieldLimit> = {
  'simulation.phantom.size': { min: 32, max: 512, integer: true },
  'simulation.phantom.sizeFraction': { min: 0.05, max: 1, pair: true },
  'simulation.phantom.rounding': { min: 0, max: 0.1, pair: true },
  'simulation.phantom.cubeAspect': { min: 1, max: 4, pair: true },
  'simulation.phantom.axisRatio': { min: 1, max: 4, pair: true },
  'simulation.phantom.rodAspect': { min: 1, max: 8, pair: true },
  'simulation.phantom.octahedronTruncation': { min: 0, max: 1, pair: true },
  'simulation.phantom.truncation': { min: 0, max: 1, pair: true },
  'simulation.phantom.decahedronTruncation': { min: 0, max: 0.5, pair: true },
  'simulation.phantom.bipyramidTruncation': { min: 0, max: 0.5, pair: true },
  'simulation.phantom.plateThickness': { min: 0.02, max: 1, pair: true },
  'simulation.phantom.alloyFraction': { min: 0, max: 1, pair: true },
  'simulation.phantom.concentration': { min: 0, max: 1, pair: true },
  'simulation.phantom.coreScale': { min: 0.1, max: 1, pair: true },
  'simulation.phantom.diffuseProbability': { min: 0, max: 1 },
  'simulation.phantom.interfaceBlur': { min: 0, max: 3, pair: true },
  'simulation.phantom.surfaceBlur': { min: 0, max: 3, pair: true },
  'simulation.phantom.particles': { min: 1, max: 16, integer: true, pair: true },
  'simulation.phantom.margin': { min: 0, max: 16 },
  'simulation.geometry.supersample': { min: 1, max: 8, integer: true },
  'simulation.acquisition.dose': { min: 0, max: 1e8 },
  'simulation.acquisition.countsInParticle': { min: 0, max: 1e9 },
  'simulation.acquisition.pixelSizeAngstrom': { min: 1e-3, max: 1e4 },
  'simulation.acquisition.solidAngleSr': { min: 0, max: 4 * Math.PI },
  'simulation.acquisition.haadfGamma': { min: 1, max: 2.5 },
  'simulation.acquisition.haadfMuAu': { min: 0, max: 0.1 },
  'simulation.acquisition.haadfEfficiency': { min: 0, max: 1e3 },
  'simulation.acquisition.frames': { min: 1, max: 1000, integer: true },
  'simulation.acquisition.background': { min: 0, max: 1 },
  'simulation.acquisition.readNoise': { min: 0, max: 1e6 },
  'simulation.acquisition.jitter': { min: 0, max: 4, integer: true },
};

/** Limits of the weight objects (classWeights, coreClassWeights, composition) and of acquisition.yields values. */
export const WEIGHT_LIMIT: FieldLimit = { min: 0, max: 1e6 };
export const YIELD_LIMIT: FieldLimit = { min: 0, max: 1 };
/** Choices of acquisition.mode and acquisition.doseKind (validateAcquisitionConfig). */
export const ACQUISITION_MODES = ['dose', 'counts'] as const;
export const DOSE_KINDS = ['perProjection', 'total'] as const;
/** Largest detector width (geometry.nCols) that makeGeometry accepts. */
export const MAX_DETECTOR_COLUMNS = 8192;

/** A limit as people write it: 4 pi, 1e8, 8.4e-5 rather than 12.566370614359172, 100000000, 0.000084. */
function num(x: number): string {
  if (x === 4 * Math.PI) return '4 pi';
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toExponential().replace('e+', 'e') : String(x);
}
const quoted = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(' or ');
const list = (xs: readonly (string | number)[]): string => xs.join(', ');
function limitText(path: string): string {
  const l = SIMULATION_LIMITS[path];
  if (!l) throw new Error(`CONFIG_DOCS: no limit for ${path}`);
  const span = `[${num(l.min)}, ${num(l.max)}]`;
  if (l.pair) return `a [low, high] pair of ${l.integer ? 'integers' : 'numbers'} within ${span}, low <= high (drawn uniformly per sample)`;
  return `${l.integer ? 'integer' : 'number'} in ${span}`;
}
const pairText = (v: [number, number]): string => `[${v[0]}, ${v[1]}]`;
function weightsText(w: Partial<Record<string, number>>, keys: readonly string[]): string {
  const vals = keys.map((k) => w[k] ?? 0);
  if (vals.every((v) => v === vals[0])) return `${vals[0]} for each`;
  return keys.map((k) => `${k} ${w[k] ?? 0}`).join(', ');
}

const DEFAULTS = defaultDatasetConfig();
const PH = DEFAULTS.simulation.phantom;
const GEO = DEFAULTS.simulation.geometry;
const ACQ = DEFAULTS.simulation.acquisition;
const PHANTOM_MODULE_SIZE = defaultPhantomConfig().size;
const DEFAULT_TILTS = parseTiltAngles(GEO.angles).length;
const P = (k: string): string => `simulation.phantom.${k}`;
const A = (k: string): string => `simulation.acquisition.${k}`;
const pairDoc = (k: keyof PhantomConfig & string, what: string): [string, string] =>
  [P(k), `${what}; ${limitText(P(k))} (default ${pairText(PH[k] as [number, number])})`];

const PHANTOM_DOCS: Record<string, string> = {
  [P('size')]: `phantom grid edge N in voxels (an N^3 volume; one voxel = one detector pixel = acquisition.pixelSizeAngstrom A); ${limitText(P('size'))} (default ${PH.size} for a dataset, DATASET_DEFAULT_SIZE; the phantom generator's own default is ${PHANTOM_MODULE_SIZE})`,
  [P('elements')]: `element symbols, one element-fraction volume and one EDX channel each, among ${list(Object.keys(ELEMENTS))}; non-empty, no repeats; alloy and core-shell compositions need two or more (default ${list(PH.elements)})`,
  [P('classWeights')]: `relative weight of each particle shape class, an object with keys among the ${SHAPE_CLASSES.length} classes ${list(SHAPE_CLASSES)}; each weight in [${num(WEIGHT_LIMIT.min)}, ${num(WEIGHT_LIMIT.max)}], at least one > 0, classes left out get 0 (default ${weightsText(PH.classWeights, SHAPE_CLASSES)})`,
  [P('coreClassWeights')]: `relative weight of each shape class of a core-shell particle's core, drawn independently of the shell's class; same keys and limits as phantom.classWeights (default ${weightsText(PH.coreClassWeights, SHAPE_CLASSES)})`,
  ...Object.fromEntries([
    pairDoc('sizeFraction', "largest dimension (circumscribed diameter) of a particle as a fraction of the field of view N (with n > 1 particles each is divided by 1.25 sqrt(n))"),
    pairDoc('rounding', 'edge and tip rounding radius of the polytope classes as a fraction of the largest dimension (capped at 0.9 of what the shape allows)'),
    pairDoc('cubeAspect', 'cuboid aspect ratio, long / short edge (cube class)'),
    pairDoc('axisRatio', 'ellipsoid axis ratios (the two ratios drawn independently)'),
    pairDoc('rodAspect', 'rod length / diameter'),
    pairDoc('octahedronTruncation', 'tip truncation of the octahedron class (0 = sharp octahedron)'),
    pairDoc('truncation', 'truncation of the truncated-octahedron class (0 octahedron .. 2/3 Archimedean .. 1 cuboctahedron) and of the truncated-triangle-plate class (0 triangle .. 1 hexagon)'),
    pairDoc('decahedronTruncation', "Marks/Ino truncation of the decahedron's equatorial vertices"),
    pairDoc('bipyramidTruncation', 'tip truncation of the five-fold bipyramid, fraction of its half-length'),
    pairDoc('plateThickness', 'plate thickness as a fraction of the edge (triangle, truncated-triangle, hexagon and square plates)'),
  ]),
  [P('composition')]: `relative weights of the compositions ${list(COMPOSITIONS)} (solid: one element; alloy: two elements mixed; core-shell: a core of one element inside a shell of another); each in [${num(WEIGHT_LIMIT.min)}, ${num(WEIGHT_LIMIT.max)}], at least one > 0, alloy and core-shell need two or more elements (default ${weightsText(PH.composition, COMPOSITIONS)})`,
  ...Object.fromEntries([
    pairDoc('alloyFraction', 'fraction of the first element of an alloy pair (the second gets the rest of the concentration)'),
    pairDoc('concentration', 'total concentration of a region, the sum of its element fractions (1 = dense pure material)'),
    pairDoc('coreScale', 'core size / shell size of a core-shell particle'),
  ]),
  [P('diffuseProbability')]: `probability that a core-shell interface is diffuse (its erf width drawn from phantom.interfaceBlur, else sharp); ${limitText(P('diffuseProbability'))} (default ${PH.diffuseProbability})`,
  ...Object.fromEntries([
    pairDoc('interfaceBlur', 'erf width of a diffuse core-shell interface, voxels'),
    pairDoc('surfaceBlur', 'erf width of the outer particle surface, voxels (0 = sharp, anti-aliased)'),
    pairDoc('particles', 'number of particles in the field of view'),
  ]),
  [P('margin')]: `clearance in voxels between the particles, and between a particle and the tilt-axis cylinder or the box; ${limitText(P('margin'))} (default ${PH.margin})`,
};

const GEOMETRY_DOCS: Record<string, string> = {
  'simulation.geometry.angles': `tilt angles in degrees: 'start:stop:step' (stop included), a comma list '-60,0,60', or a JSON array of numbers; each in [-90, 90], at most 100000 angles (default '${GEO.angles}', ${DEFAULT_TILTS} tilts)`,
  'simulation.geometry.nCols': `detector columns (pixels) of each projection, integer in [simulation.phantom.size, ${MAX_DETECTOR_COLUMNS}] so no ray misses the volume (default when absent: simulation.phantom.size, ${PH.size})`,
  'simulation.geometry.projector': `projector of the tilt series, ${quoted(PROJECTORS)}: 'voxel' = Joseph projection of the voxelised phantom (default when absent); 'analytic' = exact chord lengths of the convex solids, no inverse crime (diffuse interfaces still go through the voxels)`,
  'simulation.geometry.supersample': `analytic projector only: sub-rays per detector pixel side (supersample^2 per pixel); ${limitText('simulation.geometry.supersample')} (default when absent: ${DEFAULT_ANALYTIC_SUPERSAMPLE}); refused unless geometry.projector is 'analytic'`,
};

const ACQUISITION_DOCS: Record<string, string> = {
  [A('mode')]: `how the counts are set, ${quoted(ACQUISITION_MODES)}: 'dose' forms the EDX counts from the electron dose and yields; 'counts' scales each EDX channel so its mean expected count per pixel inside the particle is acquisition.countsInParticle (HAADF still from the dose) (default '${ACQ.mode}')`,
  [A('dose')]: `electron dose in e/A^2, per projection or for the whole tilt series (acquisition.doseKind); ${limitText(A('dose'))} (default ${ACQ.dose} e/A^2 ${ACQ.doseKind === 'total' ? 'for the tilt series' : 'per projection'})`,
  [A('doseKind')]: `${quoted(DOSE_KINDS)}: whether acquisition.dose is per projection or the total of the tilt series, spread evenly over the tilts (dose / number of tilts each) (default '${ACQ.doseKind}')`,
  [A('countsInParticle')]: `counts mode only: mean expected EDX counts per pixel inside the particle, per element channel, summed over frames; ${limitText(A('countsInParticle'))} (default ${ACQ.countsInParticle})`,
  [A('pixelSizeAngstrom')]: `detector pixel = voxel edge in A; ${limitText(A('pixelSizeAngstrom'))} (default ${ACQ.pixelSizeAngstrom} A)`,
  [A('solidAngleSr')]: `EDX detector solid angle in sr (0.7 classic, 4.5 large); ${limitText(A('solidAngleSr'))} (default ${ACQ.solidAngleSr} sr)`,
  [A('yields')]: `per-element EDX yield overrides, element symbol -> X-rays per electron per A of pure element, each in [${YIELD_LIMIT.min}, ${YIELD_LIMIT.max}]; elements left out use the calibrated ${num(DEFAULT_EDX_YIELD)} (default ${Object.keys(ACQ.yields).length ? JSON.stringify(ACQ.yields) : '{} = none'})`,
  [A('haadfGamma')]: `exponent gamma of the HAADF Z^gamma contrast; ${limitText(A('haadfGamma'))} (default ${ACQ.haadfGamma})`,
  [A('haadfModel')]: `HAADF signal model, ${quoted(HAADF_MODELS)}: 'scattered-fraction' = electrons scattered into the detector, D a^2 (1 - exp(-sum_e mu_e t_e)), at most the D a^2 incident per pixel; 'linear-legacy' = the unbounded model of datasets made before it (chosen automatically for a config with haadfEfficiency) (default '${ACQ.haadfModel}')`,
  [A('haadfMuAu')]: `scattered-fraction model: fraction of the beam scattered into the HAADF detector per A of pure Au (thin limit), mu_e = haadfMuAu (Z_e/79)^gamma for other elements; ${limitText(A('haadfMuAu'))}, and the densest path through the largest allowed particle may scatter at most ${100 * MAX_HAADF_FRACTION} % (default ${num(ACQ.haadfMuAu)}: Rutherford cross-section of Au into 60-200 mrad at 300 kV x the atom density of gold, generators/signal/haadf.ts)`,
  [A('haadfEfficiency')]: `linear-legacy model only (datasets made before the scattered-fraction model): HAADF counts per electron per A of pure element per Z^gamma; ${limitText(A('haadfEfficiency'))} (default when absent: none; the legacy files carry 0.001)`,
  [A('frames')]: `frames per tilt, each at dose / frames, noisy = their sum; ${limitText(A('frames'))} (default ${ACQ.frames}; store.frames needs more than 1)`,
  [A('background')]: `uniform background added to every pixel, as a fraction of each channel's mean expected signal inside the particle (0-0.05 typical); ${limitText(A('background'))} (default ${ACQ.background})`,
  [A('readNoise')]: `optional HAADF Gaussian read noise, sigma in counts per frame; ${limitText(A('readNoise'))} (default when absent: 0 = none)`,
  [A('jitter')]: `optional alignment jitter: largest per-tilt integer shift in pixels of rows and cols; ${limitText(A('jitter'))} (default when absent: 0 = off; 1 = +-1 px); shifts recorded in each sample's params.jitter`,
};

/**
 * One line per field of the dataset config (printed by `nanodose generate --print-config`): what it is,
 * its unit, its default (read from defaultDatasetConfig()) and its allowed range.
 */
export const CONFIG_DOCS: Record<string, string> = {
  simulation: 'phantom, geometry and acquisition settings of generators/simulate.ts (every field below; defaults printed above)',
  ...PHANTOM_DOCS,
  ...GEOMETRY_DOCS,
  ...ACQUISITION_DOCS,
  ...FILE_OPTION_DOCS,
};

export function validateDatasetConfig(raw: unknown): DatasetConfig {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('config', `must be a JSON object, got ${JSON.stringify(raw)}`);
  const r = raw as Record<string, unknown>;
  checkKnownKeys('', r, DATASET_CONFIG_KEYS);
  const sim = (r.simulation ?? {}) as Record<string, unknown>;
  const phantom = (sim.phantom ?? {}) as Record<string, unknown>;
  const withSize = typeof sim === 'object' && !Array.isArray(sim) && typeof phantom === 'object' && !Array.isArray(phantom) && phantom.size === undefined
    ? { ...sim, phantom: { ...phantom, size: DATASET_DEFAULT_SIZE } }
    : sim;
  const simulation = validateSimulationConfig(withSize);
  return { simulation, ...validateFileOptions(r, '') };
}
