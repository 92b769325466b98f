/**
 * A checkpoint criterion for self-supervised training that tracks denoising quality without clean
 * data: the Poisson deviance of the prediction against an independent held-out thinned half.
 *
 * Counts y ~ Poisson(lambda) are split by binomial thinning, y_a ~ Binomial(y, 1/2), y_b = y - y_a:
 * y_a and y_b are INDEPENDENT Poisson(lambda / 2) (Poisson thinning theorem). The model sees y_a
 * (its noise level is half the dose) and predicts mu_hat = f(y_a), an estimate of lambda / 2; the
 * score is the mean Poisson deviance over every validation pixel, in counts (not on the normalised
 * scale, so nearly empty maps do not dominate):
 *
 *   D = (2 / n) sum_i [ y_b,i log(y_b,i / mu_hat_i) - (y_b,i - mu_hat_i) ]
 *
 * Because y_b is independent of y_a (hence of mu_hat), E[D | mu_hat] = sum_i d(lambda_i / 2, mu_hat_i)
 * + a constant that does not depend on the model (the expected deviance of the truth): D is, up to
 * that constant and the held-out noise, the Kullback-Leibler divergence of the prediction from the
 * truth (a proper scoring rule; Gneiting & Raftery 2007, doi:10.1198/016214506000001437), and it
 * improves exactly when the prediction gets closer to the expected counts. Its noise shrinks as
 * 1/sqrt(pixels): over a few tens of whole projections it resolves the differences between epochs
 * that the scheme's own normalised loss (noisy targets, dominated by the emptiest maps) could not.
 * Data-splitting validation of Poisson denoisers: Noise2Noise's held-out half (Lehtinen et al.
 * 2018) scored with the Poisson likelihood; Poisson thinning for validation as in data thinning
 * (Neufeld, Dharamshi, Gao & Witten 2024, JMLR, arXiv:2301.07276).
 *
 * The validation splits are drawn once per run (fixed seeded streams), so every epoch is scored on
 * the same y_a / y_b: differences between epochs are not blurred by re-drawing.
 */
import { binomialThin } from '../generators/signal/noise.ts';
import type { RandomStream } from '../core/random.ts';
import { poissonDeviance } from '../eval/metrics/index.ts';

/** Splits integer counts into two independent halves by binomial thinning with p = 1/2. */
export function heldoutSplit(counts: ArrayLike<number>, rng: RandomStream): { input: Float32Array; heldout: Float32Array } {
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i];
    if (!(v >= 0) || !Number.isInteger(v)) throw new RangeError(`heldoutSplit: binomial thinning needs integer counts >= 0, got ${v} at pixel ${i}`);
  }
  const [a, b] = binomialThin(counts, 0.5, rng);
  return { input: Float32Array.from(a), heldout: Float32Array.from(b) };
}

/** Mean Poisson deviance of the held-out half against the prediction mu_hat of its expected counts (see the module comment). */
export function heldoutDeviance(heldout: ArrayLike<number>, predicted: ArrayLike<number>): number {
  return poissonDeviance(heldout, predicted);
}

/** True when every value is an integer >= 0 (the criterion needs counts it can thin). */
export function isCounts(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!(a[i] >= 0) || !Number.isInteger(a[i])) return false;
  return true;
}
