/**
 * HAADF signal on a physical scale: counts of electrons scattered into the annular detector, never more
 * than the beam brings.
 *
 *   N0      = D a^2                                incident electrons per pixel (D in e/A^2 per projection, a in A)
 *   mu_e    = mu_Au (Z_e / 79)^gamma                fraction scattered into the detector per A of pure element e
 *   HAADF   = N0 (1 - exp(-sum_e mu_e t_e))         t_e = projected amount of pure element e along the ray, in A
 *
 * The exponential is the exact single-scattering form (each electron is scattered out of the unscattered
 * beam at most once, with probability mu per A): it is linear in t in the thin limit (N0 sum mu_e t_e) and
 * bounded by N0 for any thickness. Z^gamma with gamma 1.6-1.8 is the measured single-atom ADF contrast
 * (Krivanek et al., Nature 464, 571 (2010), doi:10.1038/nature08879: exponent 1.64); the default 1.7 is
 * science.md's.
 *
 * Calibration of mu_Au (computed here, not typed in): mu_Au = n_Au sigma_Au, with n_Au = 4 / 4.0782^3 atoms
 * per A^3 (fcc gold, a = 4.0782 A) and sigma_Au the relativistically corrected Rutherford cross-section for
 * scattering between the detector's inner and outer angles (screening is negligible above a few tens of
 * mrad; Reimer & Kohl, Transmission Electron Microscopy, 5th ed., Springer 2008, section 5.1,
 * doi:10.1007/978-0-387-40093-8):
 *
 *   d sigma / d Omega = 4 Z^2 (1 + E/m c^2)^2 / (a_0^2 k^4 theta^4),   k = 2 pi / lambda,
 *   sigma(theta_1, theta_2) = 4 pi Z^2 (1 + E/m c^2)^2 / (a_0^2 k^4) (1/theta_1^2 - 1/theta_2^2).
 *
 * At 300 kV and a 60-200 mrad detector this gives sigma_Au = 0.0172 A^2 and mu_Au = 1.01e-3 per A, inside
 * the 1e-3 to 2e-3 per A that measured HAADF cross-sections of Au imply (science.md section 4): 10 nm of
 * Au scatter 9.6 % of the beam, so at 300 e/A^2 and 2 A pixels (1,200 electrons) a 10 nm thick pixel holds
 * about 116 electrons, 9 % shot noise: a hundred times the EDX counts, but not noise-free.
 *
 * Assumptions: incoherent single scattering (no channelling, no multiple scattering into or out of the
 * annulus), detector efficiency 1, amorphous-like projected density; elements at full density scale by
 * (Z/79)^gamma at the same atom density (a judgement: the atom densities of Ag, Pt, Pd are within 10 % of
 * Au's). Configs whose densest path could scatter more than MAX_HAADF_FRACTION of the beam are refused:
 * there the single-scattering model no longer describes a HAADF detector.
 */
import { ConfigError } from '../../core/validate.ts';

/** Atomic number the HAADF coefficient is given for (gold). */
export const HAADF_REFERENCE_Z = 79;
/** Largest scattered fraction a config may reach on its densest path (single-scattering validity). */
export const MAX_HAADF_FRACTION = 0.9;

const A0 = 0.529177210903; // Bohr radius, A
const MC2_KEV = 510.99895; // electron rest energy, keV
const HC_KEV_A = 12.398419843; // h c, keV A

/** Relativistic electron wavelength in A at `kV` kilovolts. */
export function electronWavelength(kV: number): number {
  return HC_KEV_A / Math.sqrt(kV * (2 * MC2_KEV + kV));
}

/**
 * Relativistically corrected (unscreened) Rutherford cross-section in A^2 for elastic scattering of `kV`
 * electrons by one atom of number Z into polar angles [theta1, theta2] (radians); formula in the module comment.
 */
export function rutherfordAnnularCrossSection(Z: number, kV: number, theta1: number, theta2: number): number {
  if (!(theta1 > 0 && theta2 > theta1)) throw new RangeError(`rutherfordAnnularCrossSection: need 0 < theta1 < theta2, got ${theta1}, ${theta2}`);
  const k = (2 * Math.PI) / electronWavelength(kV);
  const g = 1 + kV / MC2_KEV;
  return ((4 * Math.PI * Z * Z * g * g) / (A0 * A0 * k ** 4)) * (1 / theta1 ** 2 - 1 / theta2 ** 2);
}

/** Atom density of fcc gold, atoms per A^3. */
export const GOLD_ATOM_DENSITY = 4 / 4.0782 ** 3;

/** Default mu_Au: fraction per A of Au scattered into a 60-200 mrad detector at 300 kV (module comment). */
export const DEFAULT_HAADF_MU_AU = GOLD_ATOM_DENSITY * rutherfordAnnularCrossSection(79, 300, 0.06, 0.2);

/** Incident electrons per pixel, N0 = D a^2 (D in e/A^2 per projection, a in A). */
export function incidentElectronsPerPixel(dosePerProjection: number, pixelSizeAngstrom: number): number {
  return dosePerProjection * pixelSizeAngstrom * pixelSizeAngstrom;
}

/** What the HAADF coefficients need from the acquisition config. */
export interface HaadfParams {
  haadfGamma: number;
  haadfMuAu: number;
}

/** mu_e = mu_Au (Z_e / 79)^gamma, fraction scattered per A of pure element e, one per element. */
export function haadfCoefficients(elements: readonly { Z: number }[], cfg: HaadfParams): Float64Array {
  return Float64Array.from(elements, (e) => cfg.haadfMuAu * Math.pow(e.Z / HAADF_REFERENCE_Z, cfg.haadfGamma));
}

/** Scattered fraction 1 - exp(-sum_e mu_e t_e) for thicknesses t_e in A. */
export function haadfScatteredFraction(mu: ArrayLike<number>, thicknessAngstrom: ArrayLike<number>): number {
  let s = 0;
  for (let e = 0; e < mu.length; e++) s += mu[e] * thicknessAngstrom[e];
  return -Math.expm1(-s);
}

/**
 * Linearised HAADF: -ln(1 - counts / N0) = sum_e mu_e t_e per pixel (the projected linear signal), so a
 * linearised tilt series divided by the pixel size is P (sum_e mu_e x_e) for element fractions x_e and
 * the projector P in voxel lengths. Counts at or above N0 (possible with noise) are clipped to N0 (1 - 1/(2 N0))
 * so the logarithm stays finite.
 */
export function haadfLinearise(counts: ArrayLike<number>, incident: number, out = new Float32Array(counts.length)): Float32Array {
  if (!(incident > 0) || !Number.isFinite(incident)) throw new RangeError(`haadfLinearise: incident electrons per pixel must be finite and > 0, got ${incident}`);
  const cap = 1 - 0.5 / incident;
  for (let i = 0; i < counts.length; i++) {
    const f = Math.min(Math.max(counts[i] / incident, 0), cap);
    out[i] = -Math.log1p(-f);
  }
  return out;
}

/**
 * Refuses user HAADF counts that hold more scattered electrons than the beam brings: more than 0.1 % of
 * the pixels above N0 (a Poisson draw may pass N0 in an odd pixel at very low dose; a wrong --dose or
 * pixel size moves many). `hint` says what the user can change; the error names the field 'dose'.
 */
export function checkHaadfBelowIncident(counts: ArrayLike<number>, incident: number, hint: string): void {
  let over = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i] > incident) over++;
  if (over > 0.001 * counts.length) throw new ConfigError('dose', `${over} HAADF pixels hold more than the ${incident.toPrecision(4)} electrons the beam brings at this dose and pixel size (no detector records more scattered electrons than arrive): ${hint}`);
}

/**
 * Refuses a config whose densest path (the largest allowed particle dimension, `pathAngstrom`, through
 * pure material of the highest-Z element at full density) would scatter more than MAX_HAADF_FRACTION.
 */
export function checkHaadfRange(field: string, elements: readonly { symbol: string; Z: number }[], cfg: HaadfParams, pathAngstrom: number): void {
  const mu = haadfCoefficients(elements, cfg);
  let worst = 0, el = elements[0];
  mu.forEach((m, i) => { if (m > worst) { worst = m; el = elements[i]; } });
  const f = -Math.expm1(-worst * pathAngstrom);
  if (f > MAX_HAADF_FRACTION) {
    const muMax = -Math.log1p(-MAX_HAADF_FRACTION) / (pathAngstrom * Math.pow(el.Z / HAADF_REFERENCE_Z, cfg.haadfGamma));
    throw new ConfigError(field, `the densest path (${pathAngstrom.toFixed(0)} A of ${el.symbol}, the largest allowed particle) would scatter ${(100 * f).toFixed(1)} % of the beam into the HAADF detector, beyond the single-scattering model's ${100 * MAX_HAADF_FRACTION} %; use haadfMuAu <= ${muMax < 1e-3 ? muMax.toExponential(2) : muMax.toPrecision(3)} per A, or a smaller phantom.size, pixelSizeAngstrom or sizeFraction`);
  }
}
