/**
 * Progress for long work: a cli-progress bar on a terminal, plain log lines otherwise (CI logs,
 * pipes), at most one line per `logEverySeconds` (default 10, or $NANODOSE_LOG_EVERY).
 *
 * Three pieces:
 * - `progress(label, total)`: one bar (one epoch, one dataset, one evaluation) with its rate and ETA.
 * - `startOverall(label, stages)`: the ETA of a whole job made of several bars (every epoch of a
 *   `train`, every stage of `run`). Each bar created while a stage is running advances that stage;
 *   the bar shows the job's ETA after its own. A stage's share of the job is its `weight` (seconds of a
 *   reference run: only their ratios matter); stages to come are scaled by how fast the stages so far
 *   ran against their weights: eta = rest of the current stage at its own rate + sum of the weights
 *   to come x (seconds spent / weight done).
 * - `status(text)`: a live line (elapsed seconds, redrawn every second on a terminal; printed once
 *   otherwise) for start-up work that has no bar (loading TensorFlow.js, the validation set, the
 *   untrained network's validation pass).
 */
import cliProgress from 'cli-progress';
import { InternalError } from './validate.ts';

export interface Progress {
  /** Advances by `n` and updates the extra fields shown after the bar (e.g. loss). */
  increment(n?: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Unit shown in the rate, e.g. 'samples' gives 'samples/s'. */
  unit?: string;
  /** Seconds between plain log lines when not on a terminal. */
  logEverySeconds?: number;
  /** Force plain lines (true) or a bar (false); default: bar only on a TTY. */
  plain?: boolean;
  /** Silence everything (library use, tests). */
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
}

/** `83` -> '1m23s', `3725` -> '1h02m', `7` -> '7s'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatFields(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : Number(v.toPrecision(4))) : v}`)
    .join('  ');
}

// ---- overall ETA -------------------------------------------------------------------------------

export interface OverallStage {
  name: string;
  /** Expected seconds (any scale: only ratios between stages are used); leave out when unknown. */
  weight?: number;
}

interface StageState extends OverallStage {
  state: 'waiting' | 'running' | 'done' | 'skipped';
  begun: number;
  /** When the stage's bar work began (expectWork or its first bar): the rate of the rest runs from here. */
  workFrom?: number;
  ended?: number;
  units?: number;
  done: number;
}

export interface Overall {
  label: string;
  /** Starts stage `name` (ends the running one). */
  begin(name: string): void;
  /** Stage `name` needs no work (reused): it leaves the estimate. */
  skip(name: string): void;
  /** Ends the running stage. */
  endStage(): void;
  /** Seconds left for the whole job, or undefined while there is nothing to estimate from. */
  eta(now?: number): number | undefined;
  /** Ends the job: later bars no longer show its ETA. */
  end(): void;
}

let active: (Overall & { stages: StageState[]; clock: () => number; advance(n: number): void; barStarted(total: number): void }) | null = null;

/** Starts a job of several stages (see the module comment); it becomes the one bars report to. */
export function startOverall(label: string, stages: OverallStage[], clock: () => number = () => performance.now()): Overall {
  const st: StageState[] = stages.map((s) => ({ ...s, state: 'waiting', begun: 0, done: 0 }));
  const find = (name: string) => {
    const s = st.find((x) => x.name === name);
    if (!s) throw new InternalError(`progress: no stage '${name}' in ${label} (stages ${st.map((x) => x.name).join(', ')})`);
    return s;
  };
  const running = () => st.find((s) => s.state === 'running');
  const o = {
    label,
    stages: st,
    clock,
    begin(name: string) {
      o.endStage();
      const s = find(name);
      s.state = 'running';
      s.begun = clock();
    },
    skip(name: string) {
      find(name).state = 'skipped';
    },
    endStage() {
      const r = running();
      if (r) {
        r.state = 'done';
        r.ended = clock();
      }
    },
    advance(n: number) {
      const r = running();
      if (r) r.done += n;
    },
    barStarted(total: number) {
      const r = running();
      if (r && r.units === undefined) {
        r.units = total;
        r.workFrom = clock();
      }
    },
    eta(now = clock()): number | undefined {
      const r = running();
      let left = 0;
      let spent = 0, weightDone = 0;
      for (const s of st) if (s.state === 'done' && s.weight !== undefined) { spent += s.ended! - s.begun; weightDone += s.weight; }
      if (r) {
        const f = r.units ? Math.min(1, r.done / r.units) : 0;
        if (f <= 0) return undefined;
        const since = now - (r.workFrom ?? r.begun);
        left += (since * (1 - f)) / f;
        if (r.weight !== undefined) { spent += now - r.begun; weightDone += r.weight * f; }
      }
      const toCome = st.filter((s) => s.state === 'waiting');
      if (toCome.length) {
        if (toCome.some((s) => s.weight === undefined) || !(weightDone > 0)) return undefined;
        left += (spent / weightDone) * toCome.reduce((a, s) => a + s.weight!, 0);
      }
      return left / 1000;
    },
    end() {
      o.endStage();
      if (active === o) active = null;
    },
  };
  active = o;
  return o;
}

/**
 * The running stage of the active job will do `units` units of bar work from now on (e.g. the
 * images of every epoch left), so its share done is the bars' count over this, not over one bar.
 */
export function expectWork(units: number): void {
  const r = active?.stages.find((s) => s.state === 'running');
  if (r) {
    r.units = units;
    r.done = 0;
    r.workFrom = active!.clock();
  }
}

/** ' | run eta 4m12s'; empty when the bar (of `barTotal` units) is all the job has left: its own ETA says it. */
function overallText(barTotal?: number): string {
  if (!active) return '';
  const r = active.stages.find((s) => s.state === 'running');
  if (barTotal !== undefined && r?.units === barTotal && !active.stages.some((s) => s.state === 'waiting')) return '';
  const e = active.eta();
  return e === undefined ? '' : ` | ${active.label} eta ${formatDuration(e)}`;
}

// ---- live status line --------------------------------------------------------------------------

export interface Status {
  /** Replaces the text (the elapsed time restarts). */
  update(text: string): void;
  stop(): void;
}

let activeStatus: Status | null = null;

/** A live line for work without a bar (see the module comment). A bar that starts stops it. */
export function status(text: string, opts: { quiet?: boolean; stream?: NodeJS.WriteStream; plain?: boolean } = {}): Status {
  activeStatus?.stop();
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { update() {}, stop() {} };
  const plain = opts.plain ?? !stream.isTTY;
  let t0 = performance.now();
  let current = text;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => stream.write(`\r\x1b[K${current} ... ${formatDuration((performance.now() - t0) / 1000)}${overallText()}`);
  const s: Status = {
    update(t: string) {
      if (activeStatus !== s) activeStatus?.stop();
      activeStatus = s;
      current = t;
      t0 = performance.now();
      if (plain) stream.write(`${t} ...\n`);
      else {
        draw();
        timer ??= setInterval(draw, 1000);
        timer.unref();
      }
    },
    stop() {
      if (timer) {
        clearInterval(timer);
        timer = undefined;
        stream.write('\r\x1b[K');
      }
      if (activeStatus === s) activeStatus = null;
    },
  };
  if (plain) stream.write(`${text} ...\n`);
  else {
    draw();
    timer = setInterval(draw, 1000);
    timer.unref();
  }
  activeStatus = s;
  return s;
}

// ---- one bar -----------------------------------------------------------------------------------

export function progress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'items';
  const t0 = performance.now();
  let done = 0;
  let fields: Record<string, string | number> = {};
  const job = active;
  job?.barStarted(total);
  const shown = (v: number) => Number(v.toPrecision(6));
  const advance = (n: number) => { if (job && active === job) job.advance(n); };
  if (opts.quiet) return { increment: (n = 1) => { done += n; advance(n); }, stop: () => {} };
  activeStatus?.stop();
  const elapsed = () => Math.max(1e-9, (performance.now() - t0) / 1000);
  const rate = () => done / elapsed();
  const plain = opts.plain ?? !stream.isTTY;
  if (!plain) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {value}/{total} {percentage}% | {rate} ${unit}/s | eta {eta_formatted}{overall} {extra}`,
        hideCursor: true,
        etaBuffer: 20,
        // fractional steps (a reconstruction's per-element share of an iteration) add up to 19.999...; show 6 digits
        formatValue: (v: number, _o: unknown, type: string) => (type === 'value' || type === 'total' ? String(shown(v)) : String(v)),
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '-', extra: '', overall: overallText(total) });
    return {
      increment(n = 1, f) {
        done += n;
        advance(n);
        if (f) fields = { ...fields, ...f };
        bar.increment(n, { rate: rate().toPrecision(3), extra: formatFields(fields), overall: overallText(total) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  // NANODOSE_LOG_EVERY (seconds, 0 = a line per step) overrides the default: CI logs, and the fault
  // tests, which kill a run on its k-th line (scripts/faults.test.ts)
  const envEvery = Number(process.env.NANODOSE_LOG_EVERY);
  const every = (opts.logEverySeconds ?? (process.env.NANODOSE_LOG_EVERY && envEvery >= 0 ? envEvery : 10)) * 1000;
  let last = t0;
  const line = () => {
    const left = done > 0 && done < total ? `, eta ${formatDuration(((total - done) * elapsed()) / done)}` : '';
    const all = overallText(total).replace(' | ', ', ');
    stream.write(`${label}: ${shown(done)}/${total} (${((100 * done) / Math.max(1, total)).toFixed(0)}%), ${rate().toPrecision(3)} ${unit}/s${left}${all}${Object.keys(fields).length ? `, ${formatFields(fields)}` : ''}\n`);
  };
  return {
    increment(n = 1, f) {
      done += n;
      advance(n);
      if (f) fields = { ...fields, ...f };
      const now = performance.now();
      if (now - last >= every || done === total) {
        last = now;
        line();
      }
    },
    stop() {
      if (done !== total) line();
    },
  };
}

// ---- phases of a command -----------------------------------------------------------------------

export interface Phases {
  /** Ends the phase running since the last lap (or the start) and names it. */
  lap(name: string): void;
  /** Seconds since the start. */
  total(): number;
  /** 'start-up 7.1 s, denoising 1.6 s': the laps, for a command's closing line. */
  text(): string;
}

/**
 * Wall time of a command's phases, so that its closing figure shows where the time went. `start`:
 * the clock reading the first phase began at; 0 is the process start (performance.now() counts from
 * it), so a command's start-up includes Node, tsx and the CLI loading, as the user waits for them.
 */
export function phases(opts: { clock?: () => number; start?: number } = {}): Phases {
  const clock = opts.clock ?? (() => performance.now());
  const t0 = opts.start ?? clock();
  let last = t0;
  const parts: [string, number][] = [];
  return {
    lap(name) {
      const now = clock();
      parts.push([name, (now - last) / 1000]);
      last = now;
    },
    total: () => (clock() - t0) / 1000,
    text: () => parts.map(([n, s]) => `${n} ${s.toFixed(1)} s`).join(', '),
  };
}
