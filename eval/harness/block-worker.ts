/**
 * Block worker of the concurrent evaluation (eval/harness/run.ts): evaluates whole (phantom, dose)
 * groups with its own GroupEvaluator (its own operator, SIRT threads and denoisers; a model method
 * loads its own single-threaded wasm TensorFlow.js) and posts each block's rows, slices and warnings
 * back. It writes no file: the main thread is the only writer. Started through block-worker.mjs
 * by eval/harness/pool.ts (the protocol is described there).
 */
import { parentPort } from 'node:worker_threads';
import { GroupEvaluator, type GroupContext, type GroupSample } from './group.ts';
import { InternalError } from '../../core/validate.ts';

if (!parentPort) throw new InternalError('eval/harness/block-worker.ts must run in a worker thread');
const port = parentPort;

export interface GroupTask { phantom: number; dose: number; methods: string[]; sample: GroupSample }

let ev: GroupEvaluator | undefined;

port.on('message', async (msg: { type: 'init'; init: GroupContext } | { type: 'task'; id: number; task: GroupTask }) => {
  try {
    if (msg.type === 'init') {
      ev = new GroupEvaluator(msg.init);
      port.postMessage({ type: 'ready' });
      return;
    }
    const t = msg.task;
    const before = new Map(ev!.times.seconds());
    const beforeM = new Map(ev!.perMethod.seconds());
    const blocks = await ev!.evaluate(t.phantom, t.dose, t.sample, t.methods);
    // this task's share of the stage times, as milliseconds per stage
    const delta = (now: [string, number][], was: Map<string, number>) => now.map(([k, s]) => [k, (s - (was.get(k) ?? 0)) * 1000] as [string, number]);
    port.postMessage(
      { type: 'done', id: msg.id, result: { blocks, times: delta(ev!.times.seconds(), before), perMethod: delta(ev!.perMethod.seconds(), beforeM) } },
      blocks.flatMap((b) => b.slices.map((s) => s.data.buffer as ArrayBuffer)),
    );
  } catch (e) {
    const err = e as Error;
    port.postMessage({ type: 'error', message: err.message ?? String(e), stack: err.stack });
  }
});
