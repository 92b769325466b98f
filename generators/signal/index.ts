/**
 * Acquisition signal model (science.md section 4): expected HAADF and EDX counts per pixel from projected
 * element amounts and a physical electron dose, and Poisson counting noise with optional frames.
 *
 * Units. `projected[e]` holds the projected amount of element e in voxel-lengths of pure element
 * (generators/projection); one voxel = one detector pixel = `pixelSizeAngstrom` A. Dose D is in electrons
 * per square angstrom per projection. Then, per pixel,
 *   EDX_e  = D [e/A^2] x a^2 [A^2] x (L_e a) [A of pure element] x Y_e [X-rays per electron per A] x Omega / (4 pi)
 *   HAADF  = D x a^2 x (1 - exp(-sum_e mu_e L_e a)),  mu_e = mu_Au (Z_e/79)^gamma   (haadf.ts: scattered
 *            electrons, never more than the D a^2 that arrive; mu_Au calibrated there, gamma default 1.7)
 * Files made before the physical HAADF (their config carries `haadfEfficiency`, haadfModel 'linear-legacy')
 * used HAADF = D a^3 sum_e L_e Z_e^gamma eta, about 100x the electrons the beam brings; they still read and
 * re-simulate with that model.
 * plus an optional uniform background (fraction of the channel's mean signal inside the particle).
 * HAADF read noise (optional, `readNoise` = sigma in counts per frame) is Gaussian on each frame's HAADF
 * counts (addReadNoise); alignment jitter (optional, `jitter` = largest shift in pixels, 1 for the +-1 px of
 * science.md) displaces each tilt's projection of every channel by a seeded integer shift (jitter.ts).
 * Counts mode instead scales every EDX channel so that its mean expected count over the particle's
 * pixels (pixels with any projected material) equals `countsInParticle`.
 *
 * Calibration of the defaults (not first-principles): with a = 2 A, Omega = 0.7 sr and a particle about
 * 20 voxels (40 A) thick, Y = 8.4e-5 per electron per A gives 600 x 4 x 40 x 8.4e-5 x 0.0557 = 0.45 counts
 * per pixel inside the particle at the default 600 e/A^2 per projection (summed over its frames): the middle
 * of the 0.25-0.66 counts/pixel after 15 frames of the quantum-dot data in science.md. The same yield is
 * used for every element unless `yields` overrides it (per-element cross-sections are not modelled).
 */
import { ConfigError, checkChoice, checkKnownKeys, checkNumber } from '../../core/validate.ts';
import type { RandomStream } from '../../core/random.ts';
import type { Element } from '../phantoms/types.ts';
import { addReadNoise, poissonNoise } from './noise.ts';
import { DEFAULT_HAADF_MU_AU, haadfCoefficients, incidentElectronsPerPixel } from './haadf.ts';

export { poissonNoise, binomialThin, addReadNoise } from './noise.ts';
export { DEFAULT_HAADF_MU_AU, MAX_HAADF_FRACTION, checkHaadfBelowIncident, checkHaadfRange, haadfCoefficients, haadfLinearise, haadfScatteredFraction, incidentElectronsPerPixel, rutherfordAnnularCrossSection, electronWavelength, type HaadfParams } from './haadf.ts';
export { drawTiltShifts, shiftTiltSeries, type TiltShifts } from './jitter.ts';

/** Default EDX yield (X-rays per electron per angstrom of pure element), calibrated as described above. */
export const DEFAULT_EDX_YIELD = 8.4e-5;

export interface AcquisitionConfig {
  /** 'dose': physical dose; 'counts': fix the mean EDX counts per pixel inside the particle. */
  mode: 'dose' | 'counts';
  /** Electron dose in e/A^2, per projection or for the whole tilt series (doseKind). */
  dose: number;
  doseKind: 'perProjection' | 'total';
  /** Counts mode: mean expected EDX counts per pixel inside the particle, per element channel. */
  countsInParticle: number;
  pixelSizeAngstrom: number;
  /** EDX detector solid angle in steradian (0.7 classic, 4.5 large). */
  solidAngleSr: number;
  /** Per-element EDX yield overrides (symbol -> X-rays per electron per A). */
  yields: Record<string, number>;
  haadfGamma: number;
  /**
   * HAADF model: 'scattered-fraction' (physical, haadf.ts) or 'linear-legacy' (files made before it; set
   * automatically when a config carries haadfEfficiency).
   */
  haadfModel: (typeof HAADF_MODELS)[number];
  /** Scattered-fraction model: fraction of the beam scattered into the detector per A of pure Au (thin limit). */
  haadfMuAu: number;
  /** Legacy model only: HAADF counts per electron per A of pure element per Z^gamma. */
  haadfEfficiency?: number;
  /** Frames per tilt, each at dose / frames; noisy = sum of frames. */
  frames: number;
  /** Uniform background as a fraction of each channel's mean signal inside the particle (0-0.05 typical). */
  background: number;
  /**
   * Optional HAADF Gaussian read noise: sigma in counts per frame (default 0 = none). Absent from the
   * defaults so configs and datasets made before it stay byte-identical.
   */
  readNoise?: number;
  /**
   * Optional alignment jitter: largest integer shift in pixels of a tilt's projection along rows and
   * columns (0 = off, the default; 1 = +-1 px). The shifts are recorded in the sample's params.
   */
  jitter?: number;
}

export function defaultAcquisitionConfig(): AcquisitionConfig {
  return { mode: 'dose', dose: 600, doseKind: 'perProjection', countsInParticle: 0.45, pixelSizeAngstrom: 2, solidAngleSr: 0.7, yields: {}, haadfGamma: 1.7, haadfModel: 'scattered-fraction', haadfMuAu: DEFAULT_HAADF_MU_AU, frames: 1, background: 0 };
}

export const HAADF_MODELS = ['scattered-fraction', 'linear-legacy'] as const;

const KEYS = ['mode', 'dose', 'doseKind', 'countsInParticle', 'pixelSizeAngstrom', 'solidAngleSr', 'yields', 'haadfGamma', 'haadfModel', 'haadfMuAu', 'haadfEfficiency', 'frames', 'background', 'readNoise', 'jitter'] as const;

/** Merges `raw` (possibly partial) over the defaults; ConfigError naming the field and range otherwise. */
export function validateAcquisitionConfig(raw: unknown, field = 'acquisition'): AcquisitionConfig {
  if (raw === undefined) return defaultAcquisitionConfig();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(field, 'must be an object');
  const r = raw as Record<string, unknown>;
  checkKnownKeys(field, r, KEYS);
  // A config that carries haadfEfficiency was written before the physical HAADF model: it keeps its model.
  const legacy = r.haadfEfficiency !== undefined && r.haadfModel === undefined ? { haadfModel: 'linear-legacy' } : {};
  const c = { ...defaultAcquisitionConfig(), ...legacy, ...r } as AcquisitionConfig;
  c.mode = checkChoice(`${field}.mode`, c.mode, ['dose', 'counts'] as const);
  c.doseKind = checkChoice(`${field}.doseKind`, c.doseKind, ['perProjection', 'total'] as const);
  checkNumber(`${field}.dose`, c.dose, 0, 1e8);
  checkNumber(`${field}.countsInParticle`, c.countsInParticle, 0, 1e9);
  checkNumber(`${field}.pixelSizeAngstrom`, c.pixelSizeAngstrom, 1e-3, 1e4);
  checkNumber(`${field}.solidAngleSr`, c.solidAngleSr, 0, 4 * Math.PI);
  checkNumber(`${field}.haadfGamma`, c.haadfGamma, 1, 2.5);
  c.haadfModel = checkChoice(`${field}.haadfModel`, c.haadfModel, HAADF_MODELS);
  checkNumber(`${field}.haadfMuAu`, c.haadfMuAu, 0, 0.1);
  if (c.haadfModel === 'linear-legacy') checkNumber(`${field}.haadfEfficiency`, c.haadfEfficiency, 0, 1e3);
  else if (c.haadfEfficiency !== undefined) throw new ConfigError(`${field}.haadfEfficiency`, `belongs to haadfModel 'linear-legacy' (files made before the physical HAADF); the 'scattered-fraction' model uses haadfMuAu (fraction scattered per A of Au, default ${DEFAULT_HAADF_MU_AU.toPrecision(3)})`);
  checkNumber(`${field}.frames`, c.frames, 1, 1000, { integer: true });
  checkNumber(`${field}.background`, c.background, 0, 1);
  if (c.readNoise !== undefined) checkNumber(`${field}.readNoise`, c.readNoise, 0, 1e6);
  if (c.jitter !== undefined) checkNumber(`${field}.jitter`, c.jitter, 0, 4, { integer: true });
  if (typeof c.yields !== 'object' || c.yields === null || Array.isArray(c.yields)) throw new ConfigError(`${field}.yields`, 'must be an object of element symbol -> yield');
  for (const [k, v] of Object.entries(c.yields)) checkNumber(`${field}.yields.${k}`, v, 0, 1);
  c.yields = { ...c.yields };
  return c;
}

/** Dose per projection (e/A^2) from the config and the number of tilts. */
export function dosePerProjection(cfg: AcquisitionConfig, nAngles: number): number {
  if (!(Number.isInteger(nAngles) && nAngles >= 1)) throw new ConfigError('geometry.angles', `need at least one tilt angle, got ${nAngles}`);
  return cfg.doseKind === 'total' ? cfg.dose / nAngles : cfg.dose;
}

/**
 * Expected counts, packed [channel, angle, row, col]: channel 0 = HAADF, then one EDX channel per element
 * (formulas in the module comment). `projected[e]` is [angle, row, col] in voxel-lengths.
 */
export function expectedCounts(projected: Float32Array[], elements: Element[], cfg: AcquisitionConfig, dosePerProj: number): Float32Array {
  if (projected.length !== elements.length) throw new Error(`expectedCounts: ${projected.length} projected maps for ${elements.length} elements`);
  if (!(dosePerProj >= 0) || !Number.isFinite(dosePerProj)) throw new ConfigError('acquisition.dose', `dose per projection must be a finite number >= 0 e/A^2, got ${dosePerProj}`);
  const n = projected[0]?.length ?? 0;
  const out = new Float32Array((elements.length + 1) * n);
  const a = cfg.pixelSizeAngstrom, base = dosePerProj * a * a * a;
  const inside = new Uint8Array(n);
  let nInside = 0;
  for (let i = 0; i < n; i++) { let t = 0; for (const p of projected) t += p[i]; if (t > 1e-6) { inside[i] = 1; nInside++; } }
  const haadf = out.subarray(0, n);
  if (cfg.haadfModel === 'linear-legacy') {
    elements.forEach((el, e) => {
      const p = projected[e], zg = base * Math.pow(el.Z, cfg.haadfGamma) * (cfg.haadfEfficiency ?? 0);
      for (let i = 0; i < n; i++) haadf[i] += zg * p[i];
    });
  } else {
    // haadf holds sum_e mu_e L_e a, then N0 (1 - exp(-.)): scattered electrons, at most N0 per pixel.
    const mu = haadfCoefficients(elements, cfg), N0 = incidentElectronsPerPixel(dosePerProj, a);
    elements.forEach((_, e) => {
      const p = projected[e], m = mu[e] * a;
      for (let i = 0; i < n; i++) haadf[i] += m * p[i];
    });
    for (let i = 0; i < n; i++) haadf[i] = -N0 * Math.expm1(-haadf[i]);
  }
  elements.forEach((el, e) => {
    const p = projected[e];
    const ch = out.subarray((e + 1) * n, (e + 2) * n);
    let k = base * (cfg.yields[el.symbol] ?? DEFAULT_EDX_YIELD) * cfg.solidAngleSr / (4 * Math.PI);
    if (cfg.mode === 'counts') {
      let s = 0;
      for (let i = 0; i < n; i++) if (inside[i]) s += p[i];
      k = s > 0 ? (cfg.countsInParticle * nInside) / s : 0;
    }
    for (let i = 0; i < n; i++) ch[i] = k * p[i];
  });
  if (cfg.background > 0 && nInside > 0) {
    for (let c = 0; c <= elements.length; c++) {
      const ch = out.subarray(c * n, (c + 1) * n);
      let s = 0;
      for (let i = 0; i < n; i++) if (inside[i]) s += ch[i];
      const bg = (cfg.background * s) / nInside;
      for (let i = 0; i < n; i++) ch[i] += bg;
    }
    // The background is scattered electrons too: the HAADF pixel still holds at most N0.
    if (cfg.haadfModel !== 'linear-legacy') {
      const N0 = incidentElectronsPerPixel(dosePerProj, a);
      for (let i = 0; i < n; i++) if (haadf[i] > N0) haadf[i] = N0;
    }
  }
  return out;
}

/** Gaussian read noise on the first `length` values of each frame (the HAADF channel), from its own stream. */
export interface ReadNoise {
  sigma: number;
  length: number;
  rng: RandomStream;
}

/**
 * Noisy acquisition of expected counts: `frames` Poisson frames per tilt, each at expected / frames,
 * noisy = their sum (sum of independent Poissons is Poisson with the summed mean). With frames > 1 and
 * keepFrames, the frames are returned packed [frame, ...expected layout]. With `readNoise`, each frame's
 * first `readNoise.length` values get Gaussian read noise (addReadNoise) after its Poisson draw, from
 * `readNoise.rng`, so the Poisson draws from `rng` are the same with or without it.
 */
export function acquire(expected: Float32Array, frames: number, rng: RandomStream, keepFrames = false, readNoise?: ReadNoise): { noisy: Uint32Array; frames?: Uint32Array } {
  const rn = readNoise && readNoise.sigma > 0 ? readNoise : undefined;
  if (rn && !(Number.isInteger(rn.length) && rn.length >= 0 && rn.length <= expected.length)) throw new RangeError(`acquire: readNoise.length must be an integer in [0, ${expected.length}], got ${rn.length}`);
  if (frames === 1) {
    const noisy = poissonNoise(expected, rng);
    if (rn) addReadNoise(noisy.subarray(0, rn.length), rn.sigma, rn.rng);
    return { noisy };
  }
  const per = new Float32Array(expected.length);
  for (let i = 0; i < per.length; i++) per[i] = expected[i] / frames;
  const noisy = new Uint32Array(expected.length);
  const all = keepFrames ? new Uint32Array(frames * expected.length) : undefined;
  const f = new Uint32Array(expected.length);
  for (let k = 0; k < frames; k++) {
    poissonNoise(per, rng, f);
    if (rn) addReadNoise(f.subarray(0, rn.length), rn.sigma, rn.rng);
    for (let i = 0; i < f.length; i++) noisy[i] += f[i];
    all?.set(f, k * expected.length);
  }
  return { noisy, frames: all };
}

