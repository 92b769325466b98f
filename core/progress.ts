/**
 * Progress for long work: a cli-progress bar on a terminal, plain log lines otherwise (CI logs,
 * pipes), at most one line per `logEverySeconds`.
 */
import cliProgress from 'cli-progress';

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

function formatFields(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : Number(v.toPrecision(4))) : v}`)
    .join('  ');
}

export function progress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'items';
  const t0 = performance.now();
  let done = 0;
  let fields: Record<string, string | number> = {};
  if (opts.quiet) return { increment: (n = 1) => void (done += n), stop: () => {} };
  const rate = () => done / Math.max(1e-9, (performance.now() - t0) / 1000);
  const plain = opts.plain ?? !stream.isTTY;
  if (!plain) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {value}/{total} {percentage}% | {rate} ${unit}/s | eta {eta_formatted} {extra}`,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '-', extra: '' });
    return {
      increment(n = 1, f) {
        done += n;
        if (f) fields = { ...fields, ...f };
        bar.increment(n, { rate: rate().toPrecision(3), extra: formatFields(fields) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  const every = (opts.logEverySeconds ?? 10) * 1000;
  let last = t0;
  const line = () =>
    stream.write(`${label}: ${done}/${total} (${((100 * done) / Math.max(1, total)).toFixed(0)}%), ${rate().toPrecision(3)} ${unit}/s${Object.keys(fields).length ? `, ${formatFields(fields)}` : ''}\n`);
  return {
    increment(n = 1, f) {
      done += n;
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
