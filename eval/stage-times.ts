/**
 * Where the evaluation's time goes: a wall-clock accumulator per stage (denoising, reconstruction,
 * metrics, slices, report), printed as one line at the end of `nanodose eval`.
 *
 *   const t = new StageTimes();
 *   const y = await t.time('denoising', () => denoise(x));   // or t.start('metrics') ... t.stop('metrics')
 *   console.log(t.format(totalSeconds));  // "eval time: denoising 41.2 s (48%), reconstruction ..."
 *
 * Stages may be entered several times (summed) and overlap (concurrent blocks: each interval counts
 * in full, so the stages can add up to more than the wall time; `format` then says so). Time comes
 * from performance.now(); the clock is injectable for tests.
 */
import { InternalError } from '../core/validate.ts';

/** The evaluate stage's parts, in the order they are printed. Other names are allowed and printed after these. */
export const EVAL_STAGES = ['start-up', 'tuning', 'data', 'denoising', 'reconstruction', 'metrics', 'slices', 'summary', 'plots', 'report'] as const;

export class StageTimes {
  private readonly total = new Map<string, number>();
  private readonly open = new Map<string, number[]>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Starts an interval of `stage` (intervals of one stage may nest or overlap; each is stopped once). */
  start(stage: string): void {
    const s = this.open.get(stage) ?? [];
    s.push(this.now());
    this.open.set(stage, s);
  }

  /** Stops the most recent open interval of `stage` and adds it to the stage's total (ms). */
  stop(stage: string): void {
    const s = this.open.get(stage);
    const t0 = s?.pop();
    if (t0 === undefined) throw new InternalError(`StageTimes.stop('${stage}'): no interval of that stage is running`);
    this.add(stage, this.now() - t0);
  }

  /** Adds `ms` milliseconds to a stage (for times measured elsewhere, e.g. in a worker). */
  add(stage: string, ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new InternalError(`StageTimes.add('${stage}'): time must be a finite number >= 0 of milliseconds, got ${ms}`);
    this.total.set(stage, (this.total.get(stage) ?? 0) + ms);
  }

  /** Runs `f` inside an interval of `stage` (stopped also when f throws). */
  async time<T>(stage: string, f: () => T | Promise<T>): Promise<T> {
    this.start(stage);
    try {
      return await f();
    } finally {
      this.stop(stage);
    }
  }

  /** Seconds per stage, known stages first, then others in first-seen order. */
  seconds(): [string, number][] {
    const names = [...EVAL_STAGES.filter((s) => this.total.has(s)), ...[...this.total.keys()].filter((s) => !(EVAL_STAGES as readonly string[]).includes(s))];
    return names.map((s) => [s, this.total.get(s)! / 1000]);
  }

  /** Merges another accumulator's totals into this one (e.g. per-block accumulators). */
  merge(other: StageTimes): void {
    for (const [s, sec] of other.seconds()) this.add(s, sec * 1000);
  }

  /**
   * One line: "eval time: denoising 41.2 s (48%), reconstruction 30.1 s (35%), ..., other 2.0 s (2%) of 85.3 s".
   * With `wallSeconds` the shares are of the wall time and the unaccounted rest is "other"; without,
   * of the stages' sum.
   */
  format(wallSeconds?: number, label = 'eval time'): string {
    const parts = this.seconds();
    const sum = parts.reduce((a, [, s]) => a + s, 0);
    const whole = wallSeconds ?? sum;
    const pct = (s: number) => (whole > 0 ? `${Math.round((100 * s) / whole)}%` : '-');
    const fmt = (s: number) => (s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2));
    const items = parts.map(([n, s]) => `${n} ${fmt(s)} s (${pct(s)})`);
    if (wallSeconds !== undefined) {
      if (sum <= wallSeconds) items.push(`other ${fmt(wallSeconds - sum)} s (${pct(wallSeconds - sum)})`);
      else items.push(`stages overlap: ${fmt(sum)} s of stage time`);
    }
    return `${label}: ${items.length ? items.join(', ') : 'nothing timed'} of ${fmt(whole)} s`;
  }
}
