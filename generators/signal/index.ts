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
import { z } from 'zod';
import { choice, doc, num, object, parseConfig } from '../../core/schema.ts';
import { ConfigError, InternalError } from '../../core/validate.ts';
import type { RandomStream } from '../../core/random.ts';
import type { Element } from '../phantoms/types.ts';
import { addReadNoise, poissonNoise } from './noise.ts';
import { DEFAULT_HAADF_MU_AU, MAX_HAADF_FRACTION, haadfCoefficients, incidentElectronsPerPixel } from './haadf.ts';

export { poissonNoise, binomialThin, addReadNoise } from './noise.ts';
export { DEFAULT_HAADF_MU_AU, MAX_HAADF_FRACTION, checkHaadfBelowIncident, checkHaadfRange, haadfCoefficients, haadfLinearise, haadfScatteredFraction, incidentElectronsPerPixel, rutherfordAnnularCrossSection, electronWavelength, type HaadfParams } from './haadf.ts';
export { drawTiltShifts, shiftTiltSeries, type TiltShifts } from './jitter.ts';

/** Default EDX yield (X-rays per electron per angstrom of pure element), calibrated as described above. */
export const DEFAULT_EDX_YIELD = 8.4e-5;

export const HAADF_MODELS = ['scattered-fraction', 'linear-legacy'] as const;
export const ACQUISITION_MODES = ['dose', 'counts'] as const;
export const DOSE_KINDS = ['perProjection', 'total'] as const;

/**
 * The acquisition config, one schema (core/schema.ts): types, defaults, ranges, descriptions. Field
 * order = the stored config's; the optional fields (absent from the defaults, so configs and datasets
 * made before them stay byte-identical) come last.
 */
export const acquisitionSchema = object({
  mode: doc(choice(ACQUISITION_MODES), "how the counts are set: 'dose' forms the EDX counts from the electron dose and yields; 'counts' scales each EDX channel so its mean expected count per pixel inside the particle is acquisition.countsInParticle (the HAADF still comes from the dose, and the EDX counts then carry no physical dose)").default('dose'),
  dose: doc(num(0, 1e8), 'electron dose in e/A^2, per projection or for the whole tilt series (acquisition.doseKind)', { defaultText: '600 e/A^2 per projection' }).default(600),
  doseKind: doc(choice(DOSE_KINDS), 'whether acquisition.dose is per projection or the total of the tilt series, spread evenly over the tilts (dose / number of tilts each)').default('perProjection'),
  countsInParticle: doc(num(0, 1e9), 'counts mode only: mean expected EDX counts per pixel inside the particle, per element channel, summed over frames').default(0.45),
  pixelSizeAngstrom: doc(num(1e-3, 1e4), 'detector pixel = voxel edge in A').default(2),
  solidAngleSr: doc(num(0, 4 * Math.PI), 'EDX detector solid angle in sr (0.7 classic, 4.5 large)').default(0.7),
  yields: doc(
    z.record(z.string(), num(0, 1), { error: 'must be an object of element symbol -> yield' }),
    `per-element EDX yield overrides, element symbol -> X-rays per electron per A of pure element; elements left out use the calibrated ${DEFAULT_EDX_YIELD.toExponential().replace('e+', 'e')}`,
    { range: 'each in [0, 1]' },
  ).default(() => ({})),
  haadfGamma: doc(num(1, 2.5), 'exponent gamma of the HAADF Z^gamma contrast').default(1.7),
  haadfModel: doc(choice(HAADF_MODELS), "HAADF signal model: 'scattered-fraction' = electrons scattered into the detector, D a^2 (1 - exp(-sum_e mu_e t_e)), at most the D a^2 incident per pixel; 'linear-legacy' = the unbounded model of datasets made before it (chosen automatically for a config with haadfEfficiency)").default('scattered-fraction'),
  haadfMuAu: doc(
    num(0, 0.1),
    `scattered-fraction model: fraction of the beam scattered into the HAADF detector per A of pure Au (thin limit), mu_e = haadfMuAu (Z_e/79)^gamma for other elements; the densest path through the largest allowed particle may scatter at most ${100 * MAX_HAADF_FRACTION} %`,
    { defaultText: `${DEFAULT_HAADF_MU_AU.toExponential().replace('e+', 'e')}: Rutherford cross-section of Au into 60-200 mrad at 300 kV x the atom density of gold, generators/signal/haadf.ts` },
  ).default(DEFAULT_HAADF_MU_AU),
  haadfEfficiency: doc(num(0, 1e3), 'linear-legacy model only (datasets made before the scattered-fraction model): HAADF counts per electron per A of pure element per Z^gamma', { defaultText: 'when absent: none; the legacy files carry 0.001' }).optional(),
  frames: doc(num(1, 1000, { integer: true }), 'frames per tilt, each at dose / frames, noisy = their sum; store.frames needs more than 1').default(1),
  background: doc(num(0, 1), "uniform background added to every pixel, as a fraction of each channel's mean expected signal inside the particle (0-0.05 typical)").default(0),
  readNoise: doc(num(0, 1e6), 'optional HAADF Gaussian read noise, sigma in counts per frame', { defaultText: 'when absent: 0 = none' }).optional(),
  jitter: doc(num(0, 4, { integer: true }), "optional alignment jitter: largest per-tilt integer shift in pixels of rows and cols; shifts recorded in each sample's params.jitter", { defaultText: 'when absent: 0 = off; 1 = +-1 px' }).optional(),
});

export type AcquisitionConfig = z.output<typeof acquisitionSchema>;

/** Keys of the defaults, in order (the stored order; optional keys follow in the order given). */
const DEFAULT_KEYS = ['mode', 'dose', 'doseKind', 'countsInParticle', 'pixelSizeAngstrom', 'solidAngleSr', 'yields', 'haadfGamma', 'haadfModel', 'haadfMuAu', 'frames', 'background'];

export function defaultAcquisitionConfig(): AcquisitionConfig {
  return acquisitionSchema.parse({});
}

/**
 * The rules that tie acquisition fields together, after the schema: haadfEfficiency belongs to the
 * legacy model (and that model needs it). Also puts the optional keys in the order `raw` gave them,
 * after the defaults' (the stored config's order before the schema).
 */
export function checkAcquisitionConfig(c: AcquisitionConfig, raw: unknown, field = 'acquisition'): AcquisitionConfig {
  if (c.haadfModel === 'linear-legacy') {
    if (c.haadfEfficiency === undefined) throw new ConfigError(`${field}.haadfEfficiency`, 'must be a number in [0, 1000], got undefined');
  } else if (c.haadfEfficiency !== undefined) {
    throw new ConfigError(`${field}.haadfEfficiency`, `belongs to haadfModel 'linear-legacy' (files made before the physical HAADF); the 'scattered-fraction' model uses haadfMuAu (fraction scattered per A of Au, default ${DEFAULT_HAADF_MU_AU.toPrecision(3)})`);
  }
  const out: Record<string, unknown> = {};
  for (const k of DEFAULT_KEYS) out[k] = (c as Record<string, unknown>)[k];
  for (const k of Object.keys((raw ?? {}) as object)) if (!(k in out) && (c as Record<string, unknown>)[k] !== undefined) out[k] = (c as Record<string, unknown>)[k];
  return out as AcquisitionConfig;
}

/** Merges `raw` (possibly partial) over the defaults; ConfigError naming the field and range otherwise. */
export function validateAcquisitionConfig(raw: unknown, field = 'acquisition'): AcquisitionConfig {
  return checkAcquisitionConfig(parseConfig(acquisitionSchema, legacyModel(raw), field), raw, field);
}

/** A config that carries haadfEfficiency was written before the physical HAADF model: it keeps its model. */
export function legacyModel(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const r = raw as Record<string, unknown>;
  return r.haadfEfficiency !== undefined && r.haadfModel === undefined ? { ...r, haadfModel: 'linear-legacy' } : r;
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
  if (projected.length !== elements.length) throw new InternalError(`expectedCounts: ${projected.length} projected maps for ${elements.length} elements`);
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

