/**
 * A sample source whose config check breaks an invariant of eval/ (for the CLI's exit-code test): the
 * FFT is handed a length that is not a power of two, which no caller inside nanodose does, so
 * eval/recon/fft.ts throws an InternalError and the CLI must read it as a bug (exit 1), not as the user's mistake.
 */
import { fft } from '../../eval/recon/fft.ts';
import { InternalError } from '../../core/validate.ts';

export function validateConfig(): never {
  fft(new Float64Array(3), new Float64Array(3));
  throw new InternalError('unreachable: fft accepted a length of 3');
}

export const defaultConfig = validateConfig;
