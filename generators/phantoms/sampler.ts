/**
 * Random phantoms from a config (science.md section 2): class weights, size and shape ranges,
 * composition probabilities, core-shell cores of an independent class, diffuse interfaces, one or
 * several particles inside the cylinder around the tilt axis. Every draw is recorded in plain JSON
 * (`PhantomParams`), and `rebuildPhantom(params)` builds the same solids from it, so a sample's
 * volume is a pure function of its record.
 */
import { stream, type Quaternion, type RandomStream, type Seed } from '../../core/random.ts';
import { z } from 'zod';
import { choice, doc, num, object, pair, parseConfig, weights } from '../../core/schema.ts';
import { ConfigError } from '../../core/validate.ts';
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

/** How a particle is turned (see `phantomSchema`'s orientation). */
export const ORIENTATIONS = ['random', 'tilt-axis', 'fixed'] as const;
export type Orientation = (typeof ORIENTATIONS)[number];

const ALL_WEIGHTS = Object.fromEntries(SHAPE_CLASSES.map((c) => [c, 1])) as Record<ShapeClass, number>;
const ELEMENT_SYMBOLS = Object.keys(ELEMENTS) as [string, ...string[]];
const SHAPE_KEYS = SHAPE_CLASSES as unknown as readonly [ShapeClass, ...ShapeClass[]];
const rangeField = (min: number, max: number, dflt: [number, number], what: string, opts: { integer?: boolean } = {}) => doc(pair(min, max, opts), what).default((): [number, number] => [dflt[0], dflt[1]]);

/**
 * The phantom config, one schema (core/schema.ts): types, defaults, ranges and descriptions.
 * Field order = the order of the stored config (datasets stay byte-identical).
 */
export const phantomSchema = object({
  size: doc(num(32, 512, { integer: true }), 'phantom grid edge N in voxels (an N^3 volume; one voxel = one detector pixel = acquisition.pixelSizeAngstrom A)').default(128),
  elements: doc(
    z
      .array(choice(ELEMENT_SYMBOLS), { error: `must be a non-empty list of element symbols among ${ELEMENT_SYMBOLS.join(', ')}` })
      .min(1, { error: `must be a non-empty list of element symbols among ${ELEMENT_SYMBOLS.join(', ')}` })
      .refine((e) => new Set(e).size === e.length, { error: 'lists an element twice' }),
    'element symbols, one element-fraction volume and one EDX channel each; non-empty, no repeats; alloy and core-shell compositions need two or more',
    { range: `symbols among ${ELEMENT_SYMBOLS.join(', ')}` },
  ).default(() => ['Au', 'Ag']),
  classWeights: doc(weights(SHAPE_KEYS), `relative weight of each particle shape class (${SHAPE_CLASSES.length} classes)`).default(() => ({ ...ALL_WEIGHTS })),
  coreClassWeights: doc(weights(SHAPE_KEYS), "relative weight of each shape class of a core-shell particle's core, drawn independently of the shell's class").default(() => ({ ...ALL_WEIGHTS })),
  sizeFraction: rangeField(0.05, 1, [0.75, 0.9], 'largest dimension (circumscribed diameter) of a particle as a fraction of the field of view N (with n > 1 particles each is divided by 1.25 sqrt(n))'),
  rounding: rangeField(0, 0.1, [0, 0.1], 'edge and tip rounding radius of the polytope classes as a fraction of the largest dimension (capped at 0.9 of what the shape allows)'),
  cubeAspect: rangeField(1, 4, [1, 2], 'cuboid aspect ratio, long / short edge (cube class)'),
  axisRatio: rangeField(1, 4, [1, 2], 'ellipsoid axis ratios (the two ratios drawn independently)'),
  rodAspect: rangeField(1, 8, [1, 4], 'rod length / diameter'),
  octahedronTruncation: rangeField(0, 1, [0, 0.1], 'tip truncation of the octahedron class (0 = sharp octahedron)'),
  truncation: rangeField(0, 1, [0, 1], 'truncation of the truncated-octahedron class (0 octahedron .. 2/3 Archimedean .. 1 cuboctahedron) and of the truncated-triangle-plate class (0 triangle .. 1 hexagon)'),
  decahedronTruncation: rangeField(0, 0.5, [0, 0.3], "Marks/Ino truncation of the decahedron's equatorial vertices"),
  bipyramidTruncation: rangeField(0, 0.5, [0, 0.1], 'tip truncation of the five-fold bipyramid, fraction of its half-length'),
  plateThickness: rangeField(0.02, 1, [0.1, 0.3], 'plate thickness as a fraction of the edge (triangle, truncated-triangle, hexagon and square plates)'),
  composition: doc(weights(COMPOSITIONS), 'relative weights of the compositions (solid: one element; alloy: two elements mixed; core-shell: a core of one element inside a shell of another); alloy and core-shell need two or more elements').default(() => ({ solid: 1, alloy: 1, 'core-shell': 2 })),
  alloyFraction: rangeField(0, 1, [0.2, 0.8], 'fraction of the first element of an alloy pair (the second gets the rest of the concentration)'),
  concentration: rangeField(0, 1, [1, 1], 'total concentration of a region, the sum of its element fractions (1 = dense pure material)'),
  coreScale: rangeField(0.1, 1, [0.5, 0.9], 'core size / shell size of a core-shell particle'),
  diffuseProbability: doc(num(0, 1), 'probability that a core-shell interface is diffuse (its erf width drawn from phantom.interfaceBlur, else sharp)').default(0.5),
  interfaceBlur: rangeField(0, 3, [0, 3], 'erf width of a diffuse core-shell interface, voxels'),
  surfaceBlur: rangeField(0, 3, [0, 0], 'erf width of the outer particle surface, voxels (0 = sharp, anti-aliased)'),
  particles: rangeField(1, 16, [1, 1], 'number of particles in the field of view', { integer: true }),
  margin: doc(num(0, 16), 'clearance in voxels between the particles, and between a particle and the tilt-axis cylinder or the box').default(1),
  orientation: doc(
    choice(ORIENTATIONS),
    "how each particle is turned: 'random' = uniformly random rotation; 'tilt-axis' = the shape's own axis (a rod's axis, a cuboid's long edge, the five-fold axis of decahedra and bipyramids, a plate's normal, an ellipsoid's third axis) along the tilt axis, turned at random about it; 'fixed' = that axis along the tilt axis, not turned (every particle the same way)",
    { defaultText: "when absent: 'random'" },
  ).optional(),
});

export type PhantomConfig = z.output<typeof phantomSchema>;

export function defaultPhantomConfig(): PhantomConfig {
  return phantomSchema.parse({});
}

/** The rules that tie phantom fields together (after the schema): alloys and core-shells need two elements. */
export function checkPhantomConfig(cfg: PhantomConfig, field = 'phantom'): PhantomConfig {
  const c = cfg.composition;
  if (cfg.elements.length < 2 && ((c.alloy ?? 0) > 0 || (c['core-shell'] ?? 0) > 0)) {
    throw new ConfigError(`${field}.composition`, `alloy and core-shell need at least 2 elements; ${field}.elements has ${cfg.elements.length} (set their weights to 0)`);
  }
  return cfg;
}

/**
 * Validates a (partial) phantom config merged over the defaults. Throws ConfigError naming the
 * field and its allowed range.
 */
export function validatePhantomConfig(raw: unknown, field = 'phantom'): PhantomConfig {
  return checkPhantomConfig(parseConfig(phantomSchema, raw, field), field);
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

/**
 * A particle's rotation (local to world; world z is the tilt axis, the phantom's first array axis):
 * 'random' a uniform random rotation (rng.rotation); 'tilt-axis' a turn by a uniform angle theta
 * about z, q = (cos theta/2, 0, 0, sin theta/2), so the shape's local z axis stays along the tilt
 * axis; 'fixed' the identity. 'random' draws exactly what it drew before the option existed.
 */
function orient(rng: RandomStream, o: Orientation): Quaternion {
  if (o === 'random') return rng.rotation();
  if (o === 'fixed') return { w: 1, x: 0, y: 0, z: 0 };
  const half = Math.PI * rng.uniform();
  return { w: Math.cos(half), x: 0, y: 0, z: Math.sin(half) };
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
  const rotation = orient(rng, cfg.orientation ?? 'random');
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
