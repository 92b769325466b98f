/**
 * Scores of an estimate of expected counts against independent held-out COUNTS (no clean truth:
 * the real-data case). With y ~ Poisson(mu_true) held out, the mean Poisson deviance
 *
 *   D(y, mu) = (2 / n) sum_i [ y_i log(y_i / mu_i) - (y_i - mu_i) ],   y log(y / mu) := 0 for y = 0,
 *
 * is a proper score: its expectation over y is smallest at mu = mu_true (McCullagh & Nelder,
 * Generalized Linear Models, 2nd ed., section 2.3), so ranking denoisers by it needs no clean map.
 * The same holds for the MSE against held-out counts, E (y - mu)^2 = (mu - mu_true)^2 + mu_true.
 * `mu` is floored at `eps` so an estimate of exactly 0 where a count was seen stays finite.
 */
import { ConfigError } from '../../core/validate.ts';
export function poissonDeviance(y: ArrayLike<number>, mu: ArrayLike<number>, eps = 1e-6): number {
  if (y.length !== mu.length || y.length === 0) throw new ConfigError('poissonDeviance', `lengths ${y.length} and ${mu.length} must match and be > 0`);
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const m = Math.max(mu[i], eps), c = y[i];
    s += (c > 0 ? c * Math.log(c / m) : 0) - (c - m);
  }
  return (2 * s) / y.length;
}
