/**
 * A checkpoint criterion for self-supervised training that tracks denoising quality without clean
 * data: the Poisson deviance of the prediction against independent held-out thinned counts,
 * averaged over several independent splits of every validation map.
 *
 * Counts y ~ Poisson(lambda) are split by binomial thinning with input fraction p,
 * y_a ~ Binomial(y, p), y_b = y - y_a: y_a ~ Poisson(p lambda) and y_b ~ Poisson((1 - p) lambda)
 * are INDEPENDENT (Poisson thinning theorem). The model sees y_a and returns an estimate f(y_a) of
 * its expected counts p lambda; rescaled to the held-out part, mu_hat = f(y_a) (1 - p) / p. The score
 * of split j is the mean Poisson deviance over the n validation pixels, in counts (not on the
 * normalised scale, so nearly empty maps do not dominate), and the criterion averages K splits:
 *
 *   D_j = (2 / n) sum_i [ y_b,i log(y_b,i / mu_hat_i) - (y_b,i - mu_hat_i) ],   D = (1 / K) sum_j D_j
 *
 * Because y_b is independent of y_a (hence of mu_hat), E[D_j] = E[(2 / n) sum_i d(lambda_i (1 - p),
 * mu_hat_i)] + a constant that does not depend on the model (the expected deviance of the truth): D
 * is, up to that constant and the held-out noise, the Kullback-Leibler divergence of the prediction
 * from the truth (a proper scoring rule; Gneiting & Raftery 2007, doi:10.1198/016214506000001437).
 * Data-splitting validation of Poisson denoisers: Noise2Noise's held-out half (Lehtinen et al. 2018)
 * scored with the Poisson likelihood; thinning with a chosen fraction as in data thinning (Neufeld,
 * Dharamshi, Gao & Witten 2024, JMLR, arXiv:2301.07276).
 *
 * What it estimates is the risk of the model at p times the validation dose, while the model is
 * applied (and the clean PSNR measured) at the full dose. Why p = 0.8 and K = 2 over 32 maps
 * (HELDOUT_FRACTION, HELDOUT_SPLITS, SELF_SUPERVISED_VAL_PROJECTIONS), measured on the demo's n2n
 * U-Nets at the full demo budget, every epoch's weights scored offline with each variant (with these
 * settings training/criterion-demo.test.ts picks the best clean-PSNR epoch of the demo's unet-n2n):
 * - bias: with p = 1/2 (the previous criterion) the model is scored at half the dose, where the
 *   ranking of late epochs differs from the full-dose one: on the demo's single-channel n2n U-Net
 *   the p = 1/2 deviance picked epoch 12 (0.47 dB below the best clean-PSNR epoch) in every split
 *   and even averaged over 8 splits (so not noise), while at p >= 0.7 it picked within 0.06 dB.
 *   As p -> 1 the averaged estimate tends to the leave-one-count-out risk of the full-dose model
 *   (the Poisson unbiased risk estimate of Hudson 1978, doi:10.1214/aos/1176344136, E[lambda_i g(y)]
 *   = E[y_i g(y - e_i)], which needs one network evaluation per counted pixel).
 * - variance: the held-out part holds (1 - p) of the counts, so the score's signal shrinks as
 *   (1 - p) and its noise as sqrt(1 - p); K independent splits of the same maps average the thinning
 *   noise, and more maps both the held-out noise and that of the clean PSNR it is judged by: on 8
 *   validation maps the guided n2n U-Net's per-epoch clean PSNR itself jumped by 0.5-0.8 dB between
 *   neighbouring epochs (19.05-19.90 dB) where on 32 maps it moved by 0.01-0.2 dB.
 * The split streams are drawn once per run, so every epoch is scored on the same y_a / y_b.
 */
import { binomialThin } from '../generators/signal/noise.ts';
import type { RandomStream } from '../core/random.ts';
import { poissonDeviance } from '../eval/metrics/index.ts';

/** Input fraction p of the held-out split (the model sees p of the counts; see the module comment). */
export const HELDOUT_FRACTION = 0.8;
/** Independent splits K per validation map whose deviances are averaged. */
export const HELDOUT_SPLITS = 2;
/** Validation projections of a self-supervised run when the caller does not choose (supervised runs keep TRAIN_DEFAULTS'). */
export const SELF_SUPERVISED_VAL_PROJECTIONS = 32;

/** Splits integer counts into two independent parts by binomial thinning: `input` keeps each count with probability p. */
export function heldoutSplit(counts: ArrayLike<number>, rng: RandomStream, p = 0.5): { input: Float32Array; heldout: Float32Array } {
  if (!(p > 0 && p < 1)) throw new RangeError(`heldoutSplit: the input fraction must be in (0, 1), got ${p}`);
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i];
    if (!(v >= 0) || !Number.isInteger(v)) throw new RangeError(`heldoutSplit: binomial thinning needs integer counts >= 0, got ${v} at pixel ${i}`);
  }
  const [a, b] = binomialThin(counts, p, rng);
  return { input: Float32Array.from(a), heldout: Float32Array.from(b) };
}

/** Mean Poisson deviance of the held-out part against the prediction mu_hat of its expected counts (see the module comment). */
export function heldoutDeviance(heldout: ArrayLike<number>, predicted: ArrayLike<number>): number {
  return poissonDeviance(heldout, predicted);
}

/** True when every value is an integer >= 0 (the criterion needs counts it can thin). */
export function isCounts(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!(a[i] >= 0) || !Number.isInteger(a[i])) return false;
  return true;
}
