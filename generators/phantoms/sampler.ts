/**
 * Random phantoms from a config (science.md section 2): class weights, size and shape ranges,
 * composition probabilities, core-shell cores of an independent class, diffuse interfaces, one or
 * several particles inside the cylinder around the tilt axis. Every draw is recorded in plain JSON
 * (`PhantomParams`), and `rebuildPhantom(params)` builds the same solids from it, so a sample's
 * volume is a pure function of its record.
 */
import { stream, type RandomStream, type Seed } from '../../core/random.ts';
import { ConfigError, checkChoice, checkKnownKeys, checkNumber, checkRange } from '../../core/validate.ts';
import { buildShape, maxRounding, SHAPE_CLASSES, type ShapeClass, type ShapeParams } from './shapes.ts';
import { Intersection } from './solids.ts';
import type { Phantom, PhantomParams, Region } from './types.ts';

/** Element symbol -> atomic number Z. */
export const ELEMENTS: Record<string, number> = {
  C: 6, O: 8, Al: 13, Si: 14, P: 15, S: 16, Ti: 22, Mn: 25, Fe: 26, Co: 27, Ni: 28, Cu: 29, Zn: 30,
  Ga: 31, As: 33, Se: 34, Zr: 40, Ru: 44, Rh: 45, Pd: 46, Ag: 47, Cd: 48, In: 49, Te: 52, Ce: 58,
  Ir: 77, Pt: 78, Au: 79,
};

export const COMPOSITIONS = ['solid', 'alloy', 'core-shell'] as const;
export type Composition = (typeof COMPOSITIONS)[number];

export interface PhantomConfig {
  /** Grid edge N (32..512). */
  size: number;
  /** Element symbols (keys of ELEMENTS); alloys and core-shells need two or more. */
  elements: string[];
  /** Relative weight of each shape class (classes left out have weight 0). */
  classWeights: Partial<Record<ShapeClass, number>>;
  /** Class weights of core-shell cores (drawn independently of the shell). */
  coreClassWeights: Partial<Record<ShapeClass, number>>;
  /** Largest dimension as a fraction of the field of view N (one particle). */
  sizeFraction: [number, number];
  /** Edge/tip rounding radius as a fraction of the largest dimension (polytopes). */
  rounding: [number, number];
  /** Cuboid aspect (long/short edge). */
  cubeAspect: [number, number];
  /** Ellipsoid axis ratios. */
  axisRatio: [number, number];
  /** Rod length / diameter. */
  rodAspect: [number, number];
  /** Tip truncation of the octahedron class (0 = sharp octahedron). */
  octahedronTruncation: [number, number];
  /** Truncated octahedron (0 octahedron .. 2/3 Archimedean .. 1 cuboctahedron) and truncated triangle (0 triangle .. 1 hexagon). */
  truncation: [number, number];
  /** Marks/Ino truncation of the decahedron's equatorial vertices. */
  decahedronTruncation: [number, number];
  /** Tip truncation of the five-fold bipyramid (fraction of its half-length). */
  bipyramidTruncation: [number, number];
  /** Plate thickness as a fraction of the edge. */
  plateThickness: [number, number];
  /** Relative weights of the compositions. */
  composition: Partial<Record<Composition, number>>;
  /** Fraction of the first element of an alloy pair (the second gets the rest of the concentration). */
  alloyFraction: [number, number];
  /** Total concentration of a region (sum of its element fractions, <= 1). */
  concentration: [number, number];
  /** Core size / shell size. */
  coreScale: [number, number];
  /** Probability that a core-shell interface is diffuse, and the range of its erf width (voxels). */
  diffuseProbability: number;
  interfaceBlur: [number, number];
  /** erf width of the outer surface (voxels). */
  surfaceBlur: [number, number];
  /** Number of particles in the field of view. */
  particles: [number, number];
  /** Clearance (voxels) between particles and the tilt-axis cylinder / box. */
  margin: number;
}

const ALL_WEIGHTS = Object.fromEntries(SHAPE_CLASSES.map((c) => [c, 1])) as Record<ShapeClass, number>;

export function defaultPhantomConfig(): PhantomConfig {
  return {
    size: 128,
    elements: ['Au', 'Ag'],
    classWeights: { ...ALL_WEIGHTS },
    coreClassWeights: { ...ALL_WEIGHTS },
    sizeFraction: [0.75, 0.9],
    rounding: [0, 0.1],
    cubeAspect: [1, 2],
    axisRatio: [1, 2],
    rodAspect: [1, 4],
    octahedronTruncation: [0, 0.1],
    truncation: [0, 1],
    decahedronTruncation: [0, 0.3],
    bipyramidTruncation: [0, 0.1],
    plateThickness: [0.1, 0.3],
    composition: { solid: 1, alloy: 1, 'core-shell': 2 },
    alloyFraction: [0.2, 0.8],
    concentration: [1, 1],
    coreScale: [0.5, 0.9],
    diffuseProbability: 0.5,
    interfaceBlur: [0, 3],
    surfaceBlur: [0, 0],
    particles: [1, 1],
    margin: 1,
  };
}

const RANGES: Record<string, [number, number]> = {
  sizeFraction: [0.05, 1], rounding: [0, 0.1], cubeAspect: [1, 4], axisRatio: [1, 4], rodAspect: [1, 8],
  octahedronTruncation: [0, 1], truncation: [0, 1], decahedronTruncation: [0, 0.5], bipyramidTruncation: [0, 0.5],
  plateThickness: [0.02, 1], alloyFraction: [0, 1], concentration: [0, 1], coreScale: [0.1, 1],
  interfaceBlur: [0, 3], surfaceBlur: [0, 3], particles: [1, 16],
};

function checkWeights<K extends string>(field: string, raw: unknown, keys: readonly K[]): Partial<Record<K, number>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(field, `must be an object of weights >= 0 with keys among ${keys.join(', ')}`);
  }
  const obj = raw as Record<string, unknown>;
  checkKnownKeys(field, obj, keys);
  const out: Partial<Record<K, number>> = {};
  let sum = 0;
  for (const k of Object.keys(obj) as K[]) {
    out[k] = checkNumber(`${field}.${k}`, obj[k], 0, 1e6);
    sum += out[k]!;
  }
  if (!(sum > 0)) throw new ConfigError(field, 'needs at least one weight > 0');
  return out;
}

/**
 * Validates a (partial) phantom config merged over the defaults. Throws ConfigError naming the
 * field and its allowed range.
 */
export function validatePhantomConfig(raw: unknown, field = 'phantom'): PhantomConfig {
  const cfg = defaultPhantomConfig();
  if (raw === undefined || raw === null) return cfg;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(field, 'must be an object');
  const obj = raw as Record<string, unknown>;
  checkKnownKeys(field, obj, Object.keys(cfg));
  const f = (k: string): string => `${field}.${k}`;
  const out = cfg as unknown as Record<string, unknown>;
  if (obj.size !== undefined) out.size = checkNumber(f('size'), obj.size, 32, 512, { integer: true });
  if (obj.elements !== undefined) {
    if (!Array.isArray(obj.elements) || obj.elements.length === 0) {
      throw new ConfigError(f('elements'), `must be a non-empty list of element symbols among ${Object.keys(ELEMENTS).join(', ')}`);
    }
    obj.elements.forEach((e, i) => checkChoice(`${f('elements')}[${i}]`, e, Object.keys(ELEMENTS)));
    if (new Set(obj.elements).size !== obj.elements.length) throw new ConfigError(f('elements'), 'lists an element twice');
    out.elements = [...obj.elements];
  }
  if (obj.classWeights !== undefined) out.classWeights = checkWeights(f('classWeights'), obj.classWeights, SHAPE_CLASSES);
  if (obj.coreClassWeights !== undefined) out.coreClassWeights = checkWeights(f('coreClassWeights'), obj.coreClassWeights, SHAPE_CLASSES);
  if (obj.composition !== undefined) out.composition = checkWeights(f('composition'), obj.composition, COMPOSITIONS);
  for (const [k, [lo, hi]] of Object.entries(RANGES)) if (obj[k] !== undefined) out[k] = checkRange(f(k), obj[k], lo, hi);
  if (obj.particles !== undefined) {
    const p = cfg.particles;
    if (!Number.isInteger(p[0]) || !Number.isInteger(p[1])) throw new ConfigError(f('particles'), `must be integers in [1, 16], got ${JSON.stringify(p)}`);
  }
  if (obj.diffuseProbability !== undefined) out.diffuseProbability = checkNumber(f('diffuseProbability'), obj.diffuseProbability, 0, 1);
  if (obj.margin !== undefined) out.margin = checkNumber(f('margin'), obj.margin, 0, 16);
  const c = cfg.composition;
  if (cfg.elements.length < 2 && ((c.alloy ?? 0) > 0 || (c['core-shell'] ?? 0) > 0)) {
    throw new ConfigError(f('composition'), `alloy and core-shell need at least 2 elements; ${f('elements')} has ${cfg.elements.length} (set their weights to 0)`);
  }
  return cfg;
}

// ---------------------------------------------------------------------------------------------

/** One particle's record. */
export interface ParticleParams {
  shape: ShapeParams;
  composition: Composition;
  /** Element fractions of the particle (or of the shell), indexed like `elements`. */
  fractions: number[];
  surfaceBlur: number;
  core?: { shape: ShapeParams; scale: number; fractions: number[]; interfaceBlur: number };
}

export interface PhantomRecord extends PhantomParams {
  version: 1;
  size: number;
  elements: string[];
  particles: ParticleParams[];
}

function uni(rng: RandomStream, r: [number, number]): number {
  return r[0] === r[1] ? r[0] : rng.uniformIn(r[0], r[1]);
}

function pickClass(rng: RandomStream, weights: Partial<Record<ShapeClass, number>>): ShapeClass {
  const w = SHAPE_CLASSES.map((c) => weights[c] ?? 0);
  return SHAPE_CLASSES[rng.choice(w)];
}

/** Draws a shape of class `cls` with circumscribed diameter `size` at `centre`. */
function drawShape(rng: RandomStream, cfg: PhantomConfig, cls: ShapeClass, size: number, centre: [number, number, number]): ShapeParams {
  const dims: Record<string, number> = {};
  switch (cls) {
    case 'cube': dims.aspect = uni(rng, cfg.cubeAspect); break;
    case 'ellipsoid': dims.ratioB = uni(rng, cfg.axisRatio); dims.ratioC = uni(rng, cfg.axisRatio); break;
    case 'rod': dims.aspect = uni(rng, cfg.rodAspect); break;
    case 'octahedron': dims.truncation = uni(rng, cfg.octahedronTruncation); break;
    case 'truncated-octahedron': dims.truncation = uni(rng, cfg.truncation); break;
    case 'decahedron': dims.truncation = uni(rng, cfg.decahedronTruncation); break;
    case 'bipyramid': dims.truncation = uni(rng, cfg.bipyramidTruncation); break;
    case 'truncated-triangle-plate': dims.truncation = uni(rng, cfg.truncation); dims.thickness = uni(rng, cfg.plateThickness); break;
    case 'triangle-plate': case 'hexagon-plate': case 'square-plate': dims.thickness = uni(rng, cfg.plateThickness); break;
    default: break;
  }
  const rotation = rng.rotation();
  const shape: ShapeParams = { shapeClass: cls, size, centre, rotation, rounding: 0, dims };
  const roundFrac = uni(rng, cfg.rounding);
  const cap = 0.9 * maxRounding(shape);
  shape.rounding = Math.min(roundFrac * size, cap);
  return shape;
}

function drawFractions(rng: RandomStream, cfg: PhantomConfig, composition: Composition): { fractions: number[]; core?: number[] } {
  const E = cfg.elements.length;
  const zero = (): number[] => new Array<number>(E).fill(0);
  const conc = (): number => uni(rng, cfg.concentration);
  if (composition === 'solid') {
    const f = zero();
    f[rng.int(E)] = conc();
    return { fractions: f };
  }
  const a = rng.int(E);
  let b = rng.int(E - 1);
  if (b >= a) b++;
  if (composition === 'alloy') {
    const f = zero();
    const c = conc(), x = uni(rng, cfg.alloyFraction);
    f[a] = c * x;
    f[b] = c * (1 - x);
    return { fractions: f };
  }
  const core = zero(), shell = zero();
  core[a] = conc();
  shell[b] = conc();
  return { fractions: shell, core };
}

/**
 * Draws the record of sample `index` from `stream(seed, index, 'phantom')`; pure function of
 * (cfg, seed, index).
 */
export function samplePhantomParams(cfg: PhantomConfig, seed: Seed, index: number): PhantomRecord {
  const rng = stream(seed, index, 'phantom');
  const N = cfg.size;
  const count = cfg.particles[0] + rng.int(cfg.particles[1] - cfg.particles[0] + 1);
  const cylR = (N - 1) / 2 - cfg.margin;
  const zR = (N - 1) / 2 - cfg.margin;
  const placed: { c: [number, number, number]; r: number }[] = [];
  const particles: ParticleParams[] = [];
  for (let p = 0; p < count; p++) {
    const cls = pickClass(rng, cfg.classWeights);
    // A diffuse outer surface reaches ~5 sigma_e beyond the solid: keep that inside too.
    const surfaceBlur = uni(rng, cfg.surfaceBlur);
    const pad = surfaceBlur > 0 ? 5 * Math.sqrt(surfaceBlur * surfaceBlur + 1 / 12) : 0;
    // Several particles share the field of view: each gets a smaller size.
    let size = uni(rng, cfg.sizeFraction) * N / (count === 1 ? 1 : Math.sqrt(count) * 1.25);
    size = Math.min(size, 2 * (Math.min(cylR, zR) - pad));
    if (!(size > 2)) throw new ConfigError('phantom.surfaceBlur', `leaves no room for a particle in a ${N}^3 grid; lower it or raise phantom.size`);
    let centre: [number, number, number] = [0, 0, 0];
    for (let attempt = 0; ; attempt++) {
      const rad = size / 2 + pad;
      const rxy = Math.max(cylR - rad, 0), rz = Math.max(zR - rad, 0);
      const rr = rxy * Math.sqrt(rng.uniform()), phi = 2 * Math.PI * rng.uniform();
      centre = [rr * Math.cos(phi), rr * Math.sin(phi), rz * (2 * rng.uniform() - 1)];
      const ok = placed.every((q) => Math.hypot(q.c[0] - centre[0], q.c[1] - centre[1], q.c[2] - centre[2]) >= q.r + rad + cfg.margin);
      if (ok) break;
      if (attempt % 20 === 19) size *= 0.9;
      if (attempt > 2000 || size < 2) {
        throw new ConfigError('phantom.particles', `cannot place ${count} particles (with margin ${cfg.margin} and surface blur) in a ${N}^3 grid; use fewer particles or a larger phantom.size`);
      }
    }
    placed.push({ c: centre, r: size / 2 + pad });
    const shape = drawShape(rng, cfg, cls, size, centre);
    const composition = COMPOSITIONS[rng.choice(COMPOSITIONS.map((c) => cfg.composition[c] ?? 0))];
    const fr = drawFractions(rng, cfg, composition);
    const particle: ParticleParams = { shape, composition, fractions: fr.fractions, surfaceBlur };
    if (composition === 'core-shell') {
      const coreCls = pickClass(rng, cfg.coreClassWeights);
      const scale = uni(rng, cfg.coreScale);
      const coreShape = drawShape(rng, cfg, coreCls, scale * size, centre);
      const diffuse = rng.uniform() < cfg.diffuseProbability;
      const interfaceBlur = diffuse ? uni(rng, cfg.interfaceBlur) : 0;
      particle.core = { shape: coreShape, scale, fractions: fr.core!, interfaceBlur };
    }
    particles.push(particle);
  }
  const first = particles[0];
  return {
    version: 1,
    shapeClass: first.shape.shapeClass,
    composition: first.composition,
    coreClass: first.core?.shape.shapeClass ?? null,
    size: N,
    elements: [...cfg.elements],
    particles,
  };
}

/** Builds the phantom (solids and regions) of a record. Same record -> identical phantom. */
export function rebuildPhantom(params: PhantomParams): Phantom {
  const rec = params as PhantomRecord;
  if (!Array.isArray(rec.particles) || !Array.isArray(rec.elements) || typeof rec.size !== 'number') {
    throw new ConfigError('params', 'is not a phantom record (needs size, elements, particles)');
  }
  const elements = rec.elements.map((symbol, i) => {
    const Z = ELEMENTS[symbol];
    if (Z === undefined) throw new ConfigError(`params.elements[${i}]`, `unknown element ${JSON.stringify(symbol)}`);
    return { symbol, Z };
  });
  const regions: Region[] = [];
  for (const p of rec.particles) {
    const shell = buildShape(p.shape);
    if (p.core) {
      const cut = new Intersection(buildShape(p.core.shape), shell);
      regions.push({ solid: cut, fractions: p.core.fractions, blur: p.core.interfaceBlur, outerBlur: p.surfaceBlur });
      regions.push({ solid: shell, minus: cut, fractions: p.fractions, blur: p.surfaceBlur, minusBlur: p.core.interfaceBlur, outerBlur: p.surfaceBlur });
    } else {
      regions.push({ solid: shell, fractions: p.fractions, blur: p.surfaceBlur });
    }
  }
  return { size: rec.size, elements, regions, params: rec };
}

/** Samples phantom `index` of a dataset with seed `seed` (stream(seed, index, 'phantom')). */
export function samplePhantom(cfg: PhantomConfig, seed: Seed, index: number): Phantom {
  return rebuildPhantom(samplePhantomParams(cfg, seed, index));
}
