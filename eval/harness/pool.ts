/**
 * A task queue over worker_threads: `count` workers take tasks one at a time, in order, the next
 * one as soon as the last is done; every message a worker sends comes to `onMessage` in the main
 * thread. Written in the shape of the project's pools (datasets/generate.ts: init -> ready, a task,
 * progress messages, done, error) so it can become the shared helper (core/pool.ts, being written by
 * another engineer) by a change of import.
 *
 * Protocol (both sides plain structured-clone messages):
 *   main -> worker  {type: 'init', init}                 once, after start
 *   worker -> main  {type: 'ready'}                      then tasks may come
 *   main -> worker  {type: 'task', id, task}             one at a time per worker (task: prepare(tasks[id]))
 *   worker -> main  {type: 'progress', id, ...}          any number (passed to onMessage)
 *   worker -> main  {type: 'done', id, result}           the task's result (passed to onMessage)
 *   worker -> main  {type: 'error', message, stack?}     the pool stops, run() rejects with it
 * The first failure stops the queue; every worker is terminated before run() settles.
 */
import { Worker } from 'node:worker_threads';

export interface PoolMessage { type: string; id?: number; [k: string]: unknown }

export interface TaskPoolOptions<T> {
  /** The worker's bootstrap module (an .mjs that registers tsx and imports the TypeScript worker). */
  url: URL;
  /** Number of workers (at most the number of tasks are started). */
  count: number;
  /** Posted once to every worker before its first task. */
  init: unknown;
  tasks: T[];
  /** What is posted for a task (default the task itself): e.g. its data read just before it runs, not all at once. */
  prepare?: (task: T) => unknown | Promise<unknown>;
  /** Every 'progress' and 'done' message, with the task's index. May return a promise (awaited in order per worker). */
  onMessage: (index: number, msg: PoolMessage) => void | Promise<void>;
  /** What the pool is called in errors ("block worker 2: ..."). */
  name: string;
}

/** Runs every task; resolves when all are done, rejects with the first failure. */
export async function runTaskPool<T>(o: TaskPoolOptions<T>): Promise<void> {
  const n = Math.max(0, Math.min(o.count, o.tasks.length));
  if (n === 0) return;
  let next = 0;
  let failure: Error | null = null;
  let stopping = false;
  const pool: Worker[] = [];
  const one = (w: Worker, k: number) =>
    new Promise<void>((resolve) => {
      let current = -1;
      let chain: Promise<void> = Promise.resolve();
      const fail = (e: Error) => { if (!stopping) failure ??= e; resolve(); };
      const take = () => {
        if (failure || next >= o.tasks.length) { resolve(); return; }
        current = next++;
        const id = current;
        Promise.resolve(o.prepare ? o.prepare(o.tasks[id]) : o.tasks[id]).then((task) => w.postMessage({ type: 'task', id, task }), fail);
      };
      w.on('message', (m: PoolMessage) => {
        if (m.type === 'ready') take();
        else if (m.type === 'progress' || m.type === 'done') {
          const idx = current;
          // messages are handled in the order sent; the next task is posted after the done one is handled
          chain = chain.then(() => o.onMessage(idx, m)).then(() => { if (m.type === 'done') take(); }, fail);
        } else if (m.type === 'error') fail(Object.assign(new Error(`${o.name} ${k}: ${String(m.message)}`), { stack: String(m.stack ?? m.message) }));
      });
      w.on('error', (e) => fail(e));
      w.on('exit', (code) => fail(new Error(`${o.name} ${k} exited with code ${code} before its tasks were done`)));
      w.postMessage({ type: 'init', init: o.init });
    });
  try {
    const runs: Promise<void>[] = [];
    for (let k = 0; k < n; k++) {
      const w = new Worker(o.url);
      pool.push(w);
      runs.push(one(w, k));
    }
    await Promise.all(runs);
  } finally {
    stopping = true;
    await Promise.all(pool.map((w) => w.terminate()));
  }
  if (failure) throw failure;
}
