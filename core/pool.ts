/**
 * Worker code, one way (DEVELOPERS.md, "Worker code"). Two kinds of parallel work, two tools:
 *
 *  - A shared-memory pool: a fixed set of threads splitting one computation (z-slices of a volume,
 *    shards of a batch) over SharedArrayBuffers, every thread answering each request: `SharedPool`.
 *    Hand-written here because a task queue (piscina) hands a task to whichever thread is free,
 *    while these pools must address a given thread (its slice range, its copy of a model) and ask
 *    all of them at once.
 *  - A plain task queue of independent tasks (whole shard files): piscina, with `taskQueue` below
 *    for the worker options.
 *
 * A worker's code comes from one of two places:
 *  - `kernelSource(...)`: hot kernels written as plain functions (typed arrays in, typed arrays out,
 *    no imports, no closures over module scope) and inlined by Function.prototype.toString into an
 *    eval'd worker. It starts in milliseconds (no tsx in the thread, which costs about a second).
 *  - a TypeScript module started by core/ts-worker.mjs, which imports the `preload` modules first
 *    (h5wasm is 4 MB: under tsx's transform it costs seconds per thread), registers tsx, then
 *    imports the module. The parent's `--import tsx` is dropped from the worker's Node flags
 *    (`workerExecArgv`) so that order holds.
 *
 * The request protocol: the parent posts { id, ...message }; the worker answers { id, ...reply },
 * or { id, error: { name, message, stack, field? } } (a ConfigError keeps its field), and may send
 * { tick: n } progress messages in between. `serve(handler)` in a TypeScript worker and the
 * `onMessage` body of kernelSource implement the worker side.
 */
import { Worker, parentPort, type TransferListItem } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { ConfigError, INTERNAL_ERROR_NAMES, InternalError } from './validate.ts';

/** A worker's error, as it travels back to the parent (structured clone keeps no Error subclass). */
export interface WorkerErrorReply {
  name: string;
  message: string;
  stack?: string;
  field?: string;
}

/**
 * Rebuilds a worker's error in the parent: a ConfigError stays one (exit 2), an InternalError or a
 * built-in error class (TypeError, RangeError, ...) becomes an InternalError (exit 1), anything else is an Error.
 */
export function workerError(e: WorkerErrorReply, who: string): Error {
  if (e.name === 'ConfigError' && e.field) return new ConfigError(e.field, e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message);
  const err = INTERNAL_ERROR_NAMES.has(e.name) ? new InternalError(`${who}: ${e.name === 'InternalError' ? '' : `${e.name}: `}${e.message}`) : new Error(`${who}: ${e.message}`);
  if (e.stack) err.stack = `${err.message}\n(worker) ${e.stack}`;
  return err;
}

/** An error as a structured-cloneable reply. */
export function errorReply(e: unknown): WorkerErrorReply {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, stack: err.stack, field: (err as { field?: string }).field };
}

/**
 * Source of an eval'd kernel worker: `functions` inlined by name (their transpiled JavaScript),
 * `setup` run once with `workerData` in scope, `onMessage` the body run per request with `m` the
 * message; it may call `tick(n)` for progress. The reply { id } is posted when the body returns.
 * `__name` is the helper tsx's esbuild (keepNames) wraps inner named functions with: defined as
 * the identity so the inlined code runs outside tsx.
 */
export function kernelSource(functions: Record<string, (...args: never[]) => unknown>, setup: string, onMessage: string): string {
  const fns = Object.entries(functions).map(([name, f]) => `const ${name} = ${f.toString()};`).join('\n');
  return `const { parentPort, workerData } = require('node:worker_threads');
const __name = (f) => f;
const tick = (n) => parentPort.postMessage({ tick: n });
${fns}
${setup}
parentPort.on('message', (m) => {
  try {
    ${onMessage}
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { name: e.name, message: e.message, stack: e.stack } });
  }
});`;
}

/** The TypeScript-worker bootstrap (core/ts-worker.mjs). */
export const TS_WORKER = new URL('./ts-worker.mjs', import.meta.url);

/** The parent's Node flags without `--import tsx` (core/ts-worker.mjs registers tsx itself, after its preloads). */
export function workerExecArgv(): string[] {
  const a = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    if ((a[i] === '--import' || a[i] === '--require' || a[i] === '--loader') && /(^|[/\\])tsx([/\\]|$)|^tsx/.test(a[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|loader|require)=.*tsx/.test(a[i])) continue;
    out.push(a[i]);
  }
  return out;
}

/** workerData for core/ts-worker.mjs: the module to run and what to import before tsx. */
export function tsWorkerData(module: URL, preload: string[] = [], data?: unknown): { tsWorker: { module: string; preload: string[] }; data?: unknown } {
  return { tsWorker: { module: module.href, preload }, ...(data === undefined ? {} : { data }) };
}

/**
 * Options for a piscina task queue running the TypeScript module `module` (its default export handles a
 * task); `data` is what every worker reads with poolWorkerData() (posted once, not with each task).
 */
export function taskQueue(module: URL, threads: number, preload: string[] = [], data?: unknown): { filename: string; minThreads: number; maxThreads: number; execArgv: string[]; workerData: unknown; idleTimeout: number } {
  return { filename: TS_WORKER.href, minThreads: threads, maxThreads: threads, execArgv: workerExecArgv(), workerData: tsWorkerData(module, preload, data), idleTimeout: Infinity };
}

/** What a queued task's handler returns on failure (its error as the parent rebuilds it with workerError). */
export type TaskFailure = { error: WorkerErrorReply };

/**
 * Runs `tasks` on a piscina queue (`taskQueue` options, `threads` workers), a free worker taking the
 * next task. `prepare(task)` makes a task's message just before it starts (so at most `threads` are
 * held at once); `onResult(index, result)` gets each result as it arrives. The task handler returns
 * its result or `{ error: errorReply(e) }` (a rejection of piscina's own is taken as well). After the
 * first failure no task starts, those under way finish, the workers end and the failure is thrown:
 * a ConfigError keeps its field (exit 2), a bug stays an InternalError (exit 1).
 */
export async function runTaskQueue<T, R extends object>(
  options: ReturnType<typeof taskQueue>,
  tasks: readonly T[],
  o: { name: string; prepare?: (task: T) => unknown | Promise<unknown>; onResult: (index: number, result: R) => void | Promise<void> },
): Promise<void> {
  const pool = new Piscina(options);
  let next = 0;
  let failure: Error | null = null;
  const lane = async () => {
    while (!failure && next < tasks.length) {
      const i = next++;
      try {
        const r = (await pool.run(o.prepare ? await o.prepare(tasks[i]) : tasks[i])) as R | TaskFailure;
        if ('error' in r) failure ??= workerError(r.error, o.name);
        else await o.onResult(i, r);
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.maxThreads, tasks.length) }, lane));
  } finally {
    await pool.destroy();
  }
  if (failure) throw failure;
}

export type PoolSource = { kernel: string } | { module: URL; preload?: string[] };

interface Pending {
  resolve: (reply: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  onTick?: (n: number) => void;
}

/**
 * A fixed set of worker threads that each answer every request sent to them (see the header).
 * Idle workers are unref'd, so an open pool never keeps the process alive; `close()` ends them.
 */
export class SharedPool {
  private readonly workers: Worker[];
  private readonly pending: Map<number, Pending>[];
  private nextId = 1;
  private dead: Error | null = null;
  private closing = false;

  /**
   * Starts `n` workers; `workerData(k)` is worker k's data (SharedArrayBuffers are shared, not
   * copied). `name` says whose workers they are in errors.
   */
  constructor(n: number, source: PoolSource, workerData: (k: number) => unknown, readonly name: string) {
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(name, `worker count must be an integer >= 1, got ${n}`);
    this.workers = [];
    this.pending = [];
    for (let k = 0; k < n; k++) {
      const w =
        'kernel' in source
          ? new Worker(source.kernel, { eval: true, workerData: workerData(k) })
          : new Worker(TS_WORKER, { execArgv: workerExecArgv(), workerData: tsWorkerData(source.module, source.preload ?? [], workerData(k)) });
      const pend = new Map<number, Pending>();
      w.on('message', (m: { id?: number; tick?: number; error?: WorkerErrorReply }) => {
        if (m.tick !== undefined && m.id === undefined) {
          for (const p of pend.values()) p.onTick?.(m.tick);
          return;
        }
        const p = m.id === undefined ? undefined : pend.get(m.id);
        if (!p) return;
        pend.delete(m.id!);
        if (!pend.size && !this.closing) w.unref();
        if (m.error) p.reject(workerError(m.error, `${name} worker ${k}`));
        else p.resolve(m as Record<string, unknown>);
      });
      const fail = (e: Error) => {
        this.dead ??= e;
        for (const p of pend.values()) p.reject(e);
        pend.clear();
      };
      w.on('error', (e) => fail(e));
      w.on('exit', (code) => fail(new Error(`${name} worker ${k} exited with code ${code}`)));
      w.unref();
      this.workers.push(w);
      this.pending.push(pend);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends `message` to worker k; resolves with its reply. Progress ticks go to `onTick`. */
  request<R = Record<string, unknown>>(k: number, message: object, opts: { transfer?: TransferListItem[]; onTick?: (n: number) => void } = {}): Promise<R> {
    if (this.dead) return Promise.reject(this.dead);
    const w = this.workers[k];
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending[k].set(id, { resolve: resolve as (r: Record<string, unknown>) => void, reject, onTick: opts.onTick });
      w.ref();
      w.postMessage({ ...message, id }, opts.transfer);
    });
  }

  /** Sends `message(k)` to every worker; resolves with the replies in worker order. */
  all<R = Record<string, unknown>>(message: (k: number) => object, opts: { onTick?: (n: number) => void } = {}): Promise<R[]> {
    return Promise.all(this.workers.map((_, k) => this.request<R>(k, message(k), opts)));
  }

  /**
   * Ends the workers (pending requests are rejected). Each is ref'd first and stays ref'd until it
   * has exited: an unref'd worker's exit does not hold the event loop, so the process could end
   * while terminate() is pending and the caller's await would never return (uvu's "Exiting early").
   * That happened when a reply already queued at close() arrived during it and unref'd its worker.
   */
  async close(): Promise<void> {
    this.dead ??= new Error(`${this.name}: the pool is closed`);
    this.closing = true;
    await Promise.all(this.workers.map((w) => (w.ref(), w.terminate())));
  }
}

/**
 * The worker side of a SharedPool running a TypeScript module: `handler(message, tick)` answers each
 * request (its result, an object, is the reply; `transfer(result)` lists buffers to move rather than
 * copy); a throw becomes an error reply. Requests are handled one at a time, in order.
 */
export function serve<M extends object, R extends object | void>(
  handler: (message: M, tick: (n: number) => void) => R | Promise<R>,
  transfer?: (result: R) => TransferListItem[],
): void {
  if (!parentPort) throw new InternalError('core/pool.ts serve(): not in a worker thread');
  const port = parentPort;
  const tick = (n: number) => port.postMessage({ tick: n });
  let queue = Promise.resolve();
  port.on('message', (m: M & { id: number }) => {
    queue = queue.then(async () => {
      try {
        const r = await handler(m, tick);
        port.postMessage({ ...(r ?? {}), id: m.id }, r && transfer ? transfer(r) : undefined);
      } catch (e) {
        port.postMessage({ id: m.id, error: errorReply(e) });
      }
    });
  });
}

/** The data a SharedPool (`workerData(k)` in the parent) or a taskQueue (`data`) gave a TypeScript worker. */
export async function poolWorkerData<T>(): Promise<T> {
  const { workerData } = await import('node:worker_threads');
  return (workerData as { data?: T }).data as T;
}
