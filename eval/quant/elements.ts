/**
 * The element pair of quantitative HAADF tomography and how well the HAADF alone can tell it apart.
 *
 * Per voxel at full density the reconstructed HAADF is v = k (c_A Z_A^gamma + c_B Z_B^gamma) with
 * c_A + c_B = 1 (Skorikov et al., ACS Nano 13, 13421 (2019), doi:10.1021/acsnano.9b05593), so
 *   c_A = (v / k - Z_B^gamma) / (Z_A^gamma - Z_B^gamma)      (A the heavier element).
 * An error dv in the reconstruction moves c_A by dv / (k (Z_A^gamma - Z_B^gamma)); relative to the
 * pure-A level k Z_A^gamma that is
 *   dc_A = (dv / (k Z_A^gamma)) * F,   F = Z_A^gamma / (Z_A^gamma - Z_B^gamma) = 1 / (1 - (Z_B/Z_A)^gamma),
 * the noise amplification factor: a 1 % HAADF error is an F % concentration error. Au/Ag (gamma 1.7):
 * F = 1.71; Au/Pt: F = 46.7, where a 2 % error in the reconstruction already spans the whole [0, 1]
 * range, so the HAADF alone gives no answer there (that is where EDX is indispensable).
 */
import { ConfigError } from '../../core/validate.ts';
import { ELEMENTS } from '../../generators/phantoms/index.ts';

export interface QuantElement { symbol: string; Z: number }

/** Above this noise amplification the answer is reported as ill-conditioned (Z^gamma contrast below 10 %). */
export const MAX_AMPLIFICATION = 10;

export interface Conditioning {
  /** Z of the lighter over Z of the heavier element. */
  zRatio: number;
  /** 1 - (Z_B/Z_A)^gamma: the HAADF contrast between the pure elements. */
  contrast: number;
  /** F = 1 / contrast: a relative HAADF error of e is a concentration error of F e. */
  amplification: number;
  illConditioned: boolean;
  /** Set when ill-conditioned: one line naming the pair, the Z ratio and F. */
  warning?: string;
}

/**
 * Exactly two elements of different Z (symbols of generators/phantoms' ELEMENTS, or {symbol, Z}),
 * else a ConfigError naming `field`, what was found and what is allowed.
 */
export function checkQuantElements(elements: readonly (string | QuantElement)[], field = 'elements'): [QuantElement, QuantElement] {
  const els = elements.map((e, i): QuantElement => {
    if (typeof e === 'string') {
      const Z = ELEMENTS[e];
      if (Z === undefined) throw new ConfigError(`${field}[${i}]`, `unknown element '${e}'; known: ${Object.keys(ELEMENTS).join(', ')}`);
      return { symbol: e, Z };
    }
    if (!(Number.isInteger(e.Z) && e.Z >= 1 && e.Z <= 118)) throw new ConfigError(`${field}[${i}]`, `atomic number of ${e.symbol} must be an integer in [1, 118], got ${e.Z}`);
    return { symbol: e.symbol, Z: e.Z };
  });
  const list = els.map((e) => e.symbol).join(', ') || 'none';
  if (els.length !== 2) throw new ConfigError(field, `quantitative HAADF solves for exactly two elements per voxel (c_A + c_B = 1, one HAADF value); got ${els.length} (${list})${els.length > 2 ? ': three or more need EDX' : ''}`);
  if (els[0].Z === els[1].Z) throw new ConfigError(field, `${els[0].symbol} and ${els[1].symbol} have the same Z = ${els[0].Z}: their HAADF is identical, no concentration can be read from it; give two elements of different Z`);
  return [els[0], els[1]];
}

/** Conditioning of the pair at exponent gamma (module comment). */
export function conditioning(a: QuantElement, b: QuantElement, gamma: number, maxAmplification = MAX_AMPLIFICATION): Conditioning {
  const [hi, lo] = a.Z >= b.Z ? [a, b] : [b, a];
  const zRatio = lo.Z / hi.Z;
  const contrast = 1 - Math.pow(zRatio, gamma);
  const amplification = 1 / contrast;
  const illConditioned = amplification > maxAmplification;
  const c: Conditioning = { zRatio, contrast, amplification, illConditioned };
  if (illConditioned) {
    c.warning = `${hi.symbol}/${lo.symbol} is ill-conditioned for HAADF quantification: Z ratio ${lo.Z}/${hi.Z} = ${zRatio.toFixed(3)}, Z^gamma contrast ${(100 * contrast).toFixed(1)} % (gamma ${gamma}), noise amplification x${amplification.toFixed(1)} (a 1 % error in the reconstructed HAADF moves the ${hi.symbol} fraction by ${amplification.toFixed(1)} %); these concentrations are not determined by the HAADF alone: use EDX`;
  }
  return c;
}
