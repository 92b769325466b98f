/**
 * Tilt angles in any convention a user meets (-180..180, 0..180, 0..360, radians), normalised to the
 * projector's [-90, 90) degrees. For a parallel beam the projection at theta + 180 degrees is the
 * projection at theta mirrored on the detector: P_{theta+180}(t) = P_theta(-t) (Natterer, The
 * Mathematics of Computerized Tomography, 1986, ch. II.1, doi:10.1137/1.9780898719284), so an angle
 * outside [-90, 90) is moved by a multiple of 180 degrees and, for an odd multiple, its projection's
 * columns are flipped about the detector centre. (A tilt-axis offset o then becomes -o for the flipped
 * projections: estimate the offset on the normalised series.)
 */
import { ConfigError } from '../../core/validate.ts';

export interface NormalisedAngles {
  /** Angles in [-90, 90) degrees. */
  angles: Float64Array;
  /** mirror[a]: projection a must have its columns flipped. */
  mirror: Uint8Array;
}

/** Maps each angle (degrees, or radians with `radians`) into [-90, 90) and says which projections flip. */
export function normaliseTiltAngles(raw: ArrayLike<number>, o: { radians?: boolean; field?: string } = {}): NormalisedAngles {
  const field = o.field ?? 'angles';
  const n = raw.length, angles = new Float64Array(n), mirror = new Uint8Array(n);
  for (let a = 0; a < n; a++) {
    const v = raw[a];
    if (!Number.isFinite(v)) throw new ConfigError(`${field}[${a}]`, `must be a finite angle, got ${String(v)}`);
    let d = o.radians ? (v * 180) / Math.PI : v;
    if (Math.abs(d) > 720) throw new ConfigError(`${field}[${a}]`, `${v}${o.radians ? ' rad' : ' degrees'} is outside [-720, 720] degrees${o.radians ? '' : ' (radians? pass --radians)'}`);
    const k = Math.floor((d + 90) / 180);
    d -= 180 * k;
    angles[a] = +d.toFixed(10);
    mirror[a] = k % 2 !== 0 ? 1 : 0;
  }
  return { angles, mirror };
}

/** Flips the columns of the projections `mirror` marks, in place, in a tilt series [angle, row, col]. */
export function mirrorProjections(ts: Float32Array, nRows: number, nCols: number, mirror: Uint8Array): Float32Array {
  for (let a = 0; a < mirror.length; a++) {
    if (!mirror[a]) continue;
    for (let r = 0; r < nRows; r++) {
      const o = (a * nRows + r) * nCols;
      ts.subarray(o, o + nCols).reverse();
    }
  }
  return ts;
}
